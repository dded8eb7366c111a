"""A wheel built once per session from the working tree (`pip wheel --no-deps`), for the install and image tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gennaker's wheel, built as the Dockerfile builds it: from the files its build stage copies, and nothing else
    (so a file the build needs and the Dockerfile forgets fails here), with `pip wheel --no-deps`.

    The build backend comes from pip's configured indexes (build isolation, as `docker build` does it); the
    project's own dependencies are not fetched (--no-deps). Building from a copy also keeps the checkout's build/
    out of it."""
    source = tmp_path_factory.mktemp("context")
    for name in dockerfile_build_copies():
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (found,) = out.glob("gennaker-*.whl")
    return found


def dockerfile_build_copies() -> list[str]:
    """The sources of the Dockerfile's COPY lines in its build stage (relative paths, no trailing slash)."""
    names: list[str] = []
    stage = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            stage = words[-1]
        elif words[:1] == ["COPY"] and stage == "build" and not any(w.startswith("--from") for w in words):
            names += [w.rstrip("/") for w in words[1:-1] if not w.startswith("--")]
    return names


def wheel_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def console_scripts(path: Path) -> dict[str, str]:
    """The wheel's [console_scripts] entry points: name -> 'module:function'."""
    with zipfile.ZipFile(path) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(name).decode()
    scripts: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif "=" in line and section == "[console_scripts]":
            key, value = (part.strip() for part in line.split("=", 1))
            scripts[key] = value
    return scripts

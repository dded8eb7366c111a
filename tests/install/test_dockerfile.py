"""The Dockerfile, read as docker reads it (no engine here to build it): stages, what it copies, who runs it.

Instructions are parsed with their line continuations; COPY sources must exist and pass .dockerignore (an
allow-list), the commands the image runs must be console scripts of the wheel, and no secret is baked in.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.install.conftest import ROOT, console_scripts

SECRETISH = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|DATABASE_URL|PRIVATE", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: str


def parse(text: str) -> list[Instruction]:
    """Docker's logical lines: comments and blank lines dropped, backslash continuations joined."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    out: list[Instruction] = []
    stage = ""
    for line in logical:
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stage = args.split(" AS ")[-1].strip() if " AS " in args else args
        out.append(Instruction(keyword.upper(), args.strip(), stage))
    return out


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse((ROOT / "Dockerfile").read_text())


def dockerignore_allows(path: str) -> bool:
    """Whether .dockerignore lets `path` (relative, no trailing slash) into the context: the last match wins."""
    allowed = True
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes):
            allowed = negate
    return allowed


def copy_sources(instruction: Instruction) -> list[str]:
    words = [w for w in shlex.split(instruction.args) if not w.startswith("--")]
    return words[:-1]


def test_two_named_stages_from_a_slim_python_311(instructions: list[Instruction]) -> None:
    froms = [i for i in instructions if i.keyword == "FROM"]
    assert [f.stage for f in froms] == ["build", "runtime"]
    args = {
        i.args.split("=", 1)[0]: i.args.split("=", 1)[1] for i in instructions if i.keyword == "ARG" and "=" in i.args
    }
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", args["PYTHON_IMAGE"])
    assert all(f.args.startswith("${PYTHON_IMAGE} AS ") for f in froms)


def test_every_copy_source_exists_and_passes_dockerignore(instructions: list[Instruction]) -> None:
    copies = [i for i in instructions if i.keyword in {"COPY", "ADD"}]
    assert all(i.keyword == "COPY" for i in copies), "ADD fetches URLs and unpacks archives: use COPY"
    sources = [s.rstrip("/") for i in copies if "--from=" not in i.args for s in copy_sources(i)]
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such path"
        assert dockerignore_allows(source), f"COPY {source}: excluded by .dockerignore"
    assert not dockerignore_allows(".venv") and not dockerignore_allows("gennaker.yml")
    assert not dockerignore_allows(".git") and not dockerignore_allows("tests")


def test_the_build_stage_copies_every_package_the_wheel_ships(instructions: list[Instruction]) -> None:
    """A package added to pyproject.toml's package list and forgotten here would be missing from the image."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    modules = {f"{m}.py" for m in pyproject["tool"]["setuptools"]["py-modules"]}
    copied = {
        s.rstrip("/") for i in instructions if i.keyword == "COPY" and i.stage == "build" for s in copy_sources(i)
    }
    assert packages | modules | {"pyproject.toml", "setup.py", "README.md"} <= copied


def test_the_runtime_stage_runs_unprivileged_and_only_takes_wheels_from_the_build(
    instructions: list[Instruction],
) -> None:
    runtime = [i for i in instructions if i.stage == "runtime"]
    users = [i for i in runtime if i.keyword == "USER"]
    assert len(users) == 1 and users[0].args.split(":")[0] not in {"0", "root"}
    assert runtime.index(users[0]) > max(runtime.index(i) for i in runtime if i.keyword == "RUN")
    assert not [i for i in runtime if i.keyword == "COPY"]  # the wheels are bind-mounted, not left in a layer
    install = " ".join(i.args for i in runtime if i.keyword == "RUN")
    assert "from=build,source=/wheels" in install and "--no-index" in install


def test_entry_points_are_console_scripts_of_the_wheel(instructions: list[Instruction], wheel: Path) -> None:
    """CMD is the API; the worker and `gennaker up` are the same image with another command (its header says how)."""
    scripts = console_scripts(wheel)
    (cmd,) = [i for i in instructions if i.keyword == "CMD"]
    assert json.loads(cmd.args) == ["gennaker-api"]
    assert not [i for i in instructions if i.keyword == "ENTRYPOINT"]  # so `docker run IMAGE gennaker-worker` works
    header = (ROOT / "Dockerfile").read_text().split("\nARG", 1)[0]
    commands = set(re.findall(r" gennaker (gennaker(?:-\w+)?)\b", header))
    assert commands == {"gennaker-worker", "gennaker"} and commands <= set(scripts)
    assert {"gennaker-api", "gennaker-worker", "gennaker"} <= set(scripts)


def test_a_healthcheck_and_no_secret_baked_in(instructions: list[Instruction]) -> None:
    (health,) = [i for i in instructions if i.keyword == "HEALTHCHECK"]
    assert "GENNAKER_HEALTHCHECK_URL" in health.args
    env = " ".join(i.args for i in instructions if i.keyword in {"ENV", "ARG", "LABEL"})
    assert "/health" in env
    assert not SECRETISH.search(env), env

"""``make demo`` end to end: a real bake (packer against moto's server) and a red/black deployment of the
baked image, exit 0 only on SUCCEEDED; without packer it says how to install it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.temporal, pytest.mark.slow]


def test_the_demo_deploys_and_succeeds() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gennaker.demo"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "first deploy: SUCCEEDED" in lines
    assert any(line.startswith("execution ") and line.endswith(": SUCCEEDED") for line in lines)
    stages = [line.split(maxsplit=1) for line in lines if line.startswith("  ")]
    assert [name for _, name in stages] == [
        "Find image",
        "Bake",
        "Bake in us-east-1",
        "Deploy (red/black)",
        "disableCluster demo-web in us-east-1",
        "Resize",
        "Disable old",
        "Destroy old",
    ]
    assert all(status == "SUCCEEDED" for status, _ in stages)
    assert "/namespaces/default/workflows/" in done.stdout
    # the red/black deploy took the image packer baked from moto's Ubuntu image, not the one found
    (baked,) = re.findall(
        r"^baked (ami-\w+) \(demo-all-\d{14}-xenial\) from ami-785db401 in us-east-1$", done.stdout, re.M
    )
    assert re.findall(r"^deployed demo-web-v001 with (ami-\w+)$", done.stdout, re.M) == [baked]
    assert "POST / HTTP" not in done.stderr  # moto's access log stays quiet


def test_without_packer_the_demo_says_how_to_install_it(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on PATH, so no packer
    done = subprocess.run(
        [sys.executable, "-m", "gennaker.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "packer, which is not installed" in done.stderr and "apt-get install packer" in done.stderr
    assert "execution " not in done.stdout  # nothing was started

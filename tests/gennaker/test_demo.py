"""``make demo`` end to end: a real red/black deployment to moto's server, exit 0 only on SUCCEEDED."""

from __future__ import annotations

import subprocess
import sys

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
        "Deploy (red/black)",
        "disableCluster demo-web in us-east-1",
        "Resize",
        "Disable old",
        "Destroy old",
    ]
    assert all(status == "SUCCEEDED" for status, _ in stages)
    assert "/namespaces/default/workflows/" in done.stdout
    assert "POST / HTTP" not in done.stderr  # moto's access log stays quiet

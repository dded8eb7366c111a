"""``gennaker apply`` as a subprocess against the real API (the ``gate`` fixture): plans, diffs, exit codes,
confirmation, pruning, bad input, a refused write; and the same plan from ``POST /apply/plan``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.temporal
ROOT = Path(__file__).resolve().parents[2]

YAML = """application: applyapp
name: from-yaml
stages:
- refId: "1"
  requisiteStageRefIds: []
  type: wait
  name: Wait
  waitTime: 10
"""
PY = """from gennaker.pipelines import Pipeline, Wait

deploy = Pipeline(name="from-python", application="applyapp", stages=[Wait(name="w", wait_time=5)])
"""


def _apply(gate: Any, cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", "from gennaker.cli import main; main()", "apply", "--gate", gate.url, *args],
        cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=100,
    )  # fmt: skip


def _names(gate: Any, app: str = "applyapp") -> dict[str, Any]:
    return {p["name"]: p for p in httpx.get(f"{gate.url}/applications/{app}/pipelineConfigs", timeout=10).json()}


def test_plan_apply_update_prune_and_exit_codes(gate: Any, tmp_path: Path) -> None:
    files = tmp_path / "pipelines"
    files.mkdir()
    (files / "a.json").write_text(json.dumps({"application": "applyapp", "name": "from-json", "stages": []}))
    (files / "b.yaml").write_text(YAML)
    (files / "c.py").write_text(PY)

    planned = _apply(gate, tmp_path, "-f", str(files), "--dry-run")
    assert planned.returncode == 2, planned.stderr
    assert "+ create applyapp/from-json" in planned.stdout and "+ create applyapp/from-python" in planned.stdout
    assert "Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged." in planned.stdout
    assert _names(gate) == {}

    # without --yes, anything but "yes" cancels (exit 1, nothing written)
    cancelled = _apply(gate, tmp_path, "-f", str(files), stdin="no\n")
    assert cancelled.returncode == 1 and "cancelled" in cancelled.stderr and _names(gate) == {}
    done = _apply(gate, tmp_path, "-f", str(files), stdin="yes\n")
    assert done.returncode == 0, done.stderr
    assert set(_names(gate)) == {"from-json", "from-yaml", "from-python"}
    assert _names(gate)["from-python"]["stages"][0]["waitTime"] == 5

    clean = _apply(gate, tmp_path, "-f", str(files), "--dry-run")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 to create, 0 to update, 0 to delete, 3 unchanged" in clean.stdout

    # a field changes: an update with a field-level diff
    (files / "b.yaml").write_text(YAML.replace("waitTime: 10", "waitTime: 20"))
    changed = _apply(gate, tmp_path, "-f", str(files), "--dry-run")
    assert changed.returncode == 2
    assert "~ update applyapp/from-yaml" in changed.stdout and "stages[0].waitTime: 10 -> 20" in changed.stdout
    assert _apply(gate, tmp_path, "-f", str(files), "--yes").returncode == 0
    assert _names(gate)["from-yaml"]["stages"][0]["waitTime"] == 20

    # --prune deletes the application's pipelines the files do not have
    assert (
        httpx.post(f"{gate.url}/pipelines", json={"application": "applyapp", "name": "stray"}, timeout=10).status_code
        == 200
    )
    assert "stray" in _names(gate)
    kept = _apply(gate, tmp_path, "-f", str(files), "--dry-run")
    assert kept.returncode == 0  # without --prune a stray pipeline is not a change
    pruning = _apply(gate, tmp_path, "-f", str(files), "--dry-run", "--prune")
    assert pruning.returncode == 2 and "- delete applyapp/stray" in pruning.stdout
    assert _apply(gate, tmp_path, "-f", str(files), "--prune", "--yes").returncode == 0
    assert set(_names(gate)) == {"from-json", "from-yaml", "from-python"}

    # the plan endpoint says the same for CI
    body = {"pipelines": [json.loads((files / "a.json").read_text()), {"application": "applyapp", "name": "new"}]}
    plan = httpx.post(f"{gate.url}/apply/plan", json=body, params={"prune": "true"}, timeout=10).json()
    assert plan["changed"] is True and plan["counts"] == {"create": 1, "update": 0, "delete": 2}
    bad = httpx.post(f"{gate.url}/apply/plan", json={"pipelines": [{"name": "x"}]}, timeout=10)
    assert bad.status_code == 400 and "application" in bad.json()["message"]


def test_bad_input_names_the_file_and_a_refused_write_exits_1(gate: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"application": "applyapp", "name": ')
    result = _apply(gate, tmp_path, "-f", str(broken), "--dry-run")
    assert result.returncode == 2 and str(broken) in result.stderr and "invalid JSON" in result.stderr
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text("application: applyapp\nstages: []\n")
    result = _apply(gate, tmp_path, "-f", str(nameless), "--yes")
    assert result.returncode == 2 and str(nameless) in result.stderr and "name: required" in result.stderr
    failing = tmp_path / "failing.py"
    failing.write_text("raise RuntimeError('boom')\n")
    result = _apply(gate, tmp_path, "-f", str(failing), "--yes")
    assert result.returncode == 2 and str(failing) in result.stderr and "boom" in result.stderr

    # a pipeline locked (by Dinghy) is refused by the API unless the save unlocks it: the apply fails with 1
    locked = {"application": "applyapp", "name": "managed", "stages": [], "locked": {"ui": True, "allowUnlockUi": True}}
    gate.store.pipelines.save(locked, "dinghy")
    edit = tmp_path / "managed.json"
    edit.write_text(json.dumps({**locked, "description": "changed by hand"}))
    result = _apply(gate, tmp_path, "-f", str(edit), "--yes")
    assert result.returncode == 1 and "locked" in result.stderr, result.stdout + result.stderr
    assert "description" not in _names(gate)["managed"]

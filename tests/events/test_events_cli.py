"""``gennaker events tail`` against a served Gate: the events after a cursor, as lines or JSON; refused input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import Gate

pytestmark = pytest.mark.temporal


def tail(gate: Gate, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gennaker.cli", "events", "tail", "--once", "--gate", gate.url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"GENNAKER_STATE_DIR": str(gate.settings.state_dir), "PATH": "/usr/bin:/bin"},
    )


def test_tail_prints_the_events_after_the_cursor(gate: Gate) -> None:
    gate.store.executions.save({"id": "T1", "application": "tailed", "status": "RUNNING", "stages": []})
    gate.store.executions.save({"id": "T1", "application": "tailed", "status": "SUCCEEDED", "stages": []})
    first = gate.store.events.recent(since=0)[0]["seq"]
    text = tail(gate, "--application", "tailed")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert [ln.split()[2] for ln in lines] == ["orca:pipeline:starting", "orca:pipeline:complete"]
    assert lines[0].split()[0] == str(first) and "T1" in lines[0]
    answer = tail(gate, "--since", str(first), "-o", "json")
    assert [json.loads(ln)["details"]["type"] for ln in answer.stdout.splitlines()] == ["orca:pipeline:complete"]
    refused = tail(gate, "--limit", "0")
    assert refused.returncode == 2 and "--limit" in refused.stderr

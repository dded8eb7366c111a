"""`gennaker run`, `watch` and the listings, in-process against a served Gate and Temporal: a line per stage
transition with durations when piped (no colour), the Rich live view on a terminal, Deck's and Temporal's links,
and an exit code that says how the execution ended."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gennaker import cli
from gennaker.client import Client
from tests.conftest import Gate

pytestmark = pytest.mark.temporal
ESC = "\x1b["


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("GENNAKER_") or name in ("NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GENNAKER_UI__BASE_URL", "https://deck.example.com")
    monkeypatch.chdir(tmp_path)


def pipeline_file(tmp_path: Path, name: str, *stages: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"application": "cliview", "name": name, "stages": list(stages)}))
    return str(path)


GREETING = {"refId": "1", "type": "evaluateVariables", "name": "Greeting", "variables": [{"key": "g", "value": "hi"}]}
PAUSE = {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "name": "Pause", "waitTime": 1}


def test_run_piped_prints_transitions_durations_links_and_succeeds(
    gate: Gate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.run(["run", pipeline_file(tmp_path, "hello", GREETING, PAUSE), "--gate", gate.url, "--interval", "0.2"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    execution_id = lines[0].split()[1]
    assert lines[0] == f"execution {execution_id}"
    assert lines[1].strip().endswith(f"/workflows/{execution_id}")  # Temporal's Web UI
    assert lines[2].strip() == f"https://deck.example.com/#/applications/cliview/executions/details/{execution_id}"
    transitions = [line.split() for line in lines[3:-1]]
    assert ["RUNNING", "Pause"] in transitions
    done = {t[1]: t for t in transitions if t[0] == "SUCCEEDED"}
    assert set(done) == {"Greeting", "Pause"}
    assert done["Pause"][2].endswith("s") and float(done["Pause"][2].rstrip("s")) >= 1.0  # the wait took a second
    assert lines[-1] == "SUCCEEDED"
    assert ESC not in "\n".join(lines)


def test_run_on_a_terminal_draws_the_live_view(
    gate: Gate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    code = cli.run(["run", pipeline_file(tmp_path, "live", GREETING), "--gate", gate.url, "--interval", "0.2"])
    out = capsys.readouterr().out
    assert code == 0
    assert ESC in out and "STAGE" in out and "DURATION" in out and "Greeting" in out
    assert "cliview / live" in out and "#/applications/cliview/executions/details/" in out
    assert out.rstrip().endswith("SUCCEEDED")


def test_a_terminal_execution_exits_1(gate: Gate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    failing = {"refId": "1", "type": "checkPreconditions", "name": "Sane?",
               "preconditions": [{"type": "expression", "context": {"expression": "1 == 2"}}]}  # fmt: skip
    code = cli.run(["run", pipeline_file(tmp_path, "bad", failing), "--gate", gate.url, "--interval", "0.2"])
    lines = capsys.readouterr().out.splitlines()
    assert (code, lines[-1]) == (1, "TERMINAL")
    assert any(line.split()[:2] == ["TERMINAL", "Sane?"] for line in lines)


def test_watch_a_canceled_execution_exits_4(gate: Gate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long_wait = {"refId": "1", "type": "wait", "name": "Long", "waitTime": 120}
    assert cli.run(["run", pipeline_file(tmp_path, "long", long_wait), "--no-wait", "--gate", gate.url]) == 0
    execution_id = capsys.readouterr().out.split()[1]

    def cancel_when_running() -> None:
        with Client(gate.url) as client:
            deadline = time.monotonic() + 30
            while client.execution(execution_id).get("status") != "RUNNING" and time.monotonic() < deadline:
                time.sleep(0.1)
            client.cancel(execution_id, reason="test")

    canceller = threading.Thread(target=cancel_when_running)
    canceller.start()
    code = cli.run(["watch", execution_id, "--gate", gate.url, "--interval", "0.2"])
    canceller.join(30)
    lines = capsys.readouterr().out.splitlines()
    assert (code, lines[-1]) == (4, "CANCELED")


def test_listings_are_aligned_columns_when_piped(gate: Gate, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a", "much-longer-name"):
        assert cli.run(["application", "save", name, "--email", f"{name}@x.io", "--gate", gate.url]) == 0
    capsys.readouterr()
    assert cli.run(["application", "list", "--gate", gate.url]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.split()[0] in ("a", "much-longer-name")]
    assert len(lines) == 2
    assert lines[0].index("a@x.io") == lines[1].index("much-longer-name@x.io")  # the email column lines up
    assert ESC not in "\n".join(lines) and "NAME" not in lines[0]

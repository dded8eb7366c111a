"""``gennaker pipeline-template save|get|list|plan|delete|use`` against the real API (the ``gate`` fixture)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from gennaker import cli
from tests.conftest import Gate

pytestmark = pytest.mark.temporal


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The commands see no GENNAKER_* variables and no gennaker.yml from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("GENNAKER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def pt(capsys: pytest.CaptureFixture[str], gate: Gate, *args: str) -> tuple[int, Any, str]:
    code = cli.run(["pipeline-template", *args, "--gate", gate.url, "-o", "json"])
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out.strip() else None, out.err


def test_the_verbs(gate: Gate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tid = f"cli-{uuid.uuid4().hex[:8]}"
    doc = {
        "schema": "v2",
        "id": tid,
        "metadata": {"name": "CLI template", "description": "first", "scopes": ["cli-scope"]},
        "variables": [{"name": "seconds", "type": "int"}],
        "pipeline": {"stages": [{"refId": "w", "type": "wait", "waitTime": "${templateVariables.seconds}"}]},
    }
    tfile = tmp_path / "template.json"
    tfile.write_text(json.dumps(doc))
    code, body, _ = pt(capsys, gate, "save", "--file", str(tfile))
    assert code == 0 and body["id"] == tid and len(body["digest"]) == 64
    first = body["digest"]
    tfile.write_text(json.dumps({**doc, "metadata": {**doc["metadata"], "description": "second"}}))
    code, body, _ = pt(capsys, gate, "save", "--file", str(tfile))  # exists now: spin's save updates (no 409)
    assert code == 0 and body["digest"] != first
    assert cli.run(["pt", "save", "--file", str(tfile), "--gate", gate.url]) == 0
    assert capsys.readouterr().out.strip() == f"updated pipeline template {tid}"

    code, body, _ = pt(capsys, gate, "get", "--id", tid)
    assert code == 0 and body["metadata"]["description"] == "second"
    code, body, _ = pt(capsys, gate, "list", "--scopes", "cli-scope")
    assert code == 0 and {d["id"] for d in body} == {tid}

    # use prints a config (no call to Gate); plan renders it; a missing variable is refused naming it
    vfile = tmp_path / "values.yml"
    vfile.write_text("seconds: 4\n")
    code = cli.run(["pt", "use", "--id", tid, "-a", "x", "-n", "y", "-t", "stable", "--set", "a=1,b=two"])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0 and printed["variables"] == {"a": "1", "b": "two"}  # spin's --set: strings, comma-separated
    assert printed["template"]["reference"] == f"spinnaker://{tid}:stable"
    code = cli.run(["pt", "use", "--id", tid, "-a", "cliapp", "-n", "from-cli", "--values", str(vfile)])
    config = json.loads(capsys.readouterr().out)
    assert (
        code == 0 and config["template"]["reference"] == f"spinnaker://{tid}" and config["variables"] == {"seconds": 4}
    )
    cfile = tmp_path / "config.json"
    cfile.write_text(json.dumps(config))
    code, body, _ = pt(capsys, gate, "plan", "--file", str(cfile))
    assert code == 0 and body["stages"][0]["waitTime"] == 4
    cfile.write_text(json.dumps({**config, "variables": {}}))
    code, _, err = pt(capsys, gate, "plan", "--file", str(cfile))
    assert code == 2 and "Missing variable values for: seconds" in err

    # delete is refused while a pipeline uses the template, then goes through
    saved = httpx.post(f"{gate.url}/pipelines", json=config).json()
    code, _, err = pt(capsys, gate, "delete", tid)
    assert code == 2 and f"depend on this template: {saved['id']}" in err
    httpx.delete(f"{gate.url}/pipelines/cliapp/from-cli").raise_for_status()
    code, body, _ = pt(capsys, gate, "delete", tid)
    assert code == 0 and body["message"] == f"deleted pipeline template {tid}"
    code, _, err = pt(capsys, gate, "get", "--id", tid)
    assert code == 2 and "not found" in err.lower()


def test_bad_input_names_the_file(gate: Gate, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "v2"}))
    code, _, err = pt(capsys, gate, "save", "--file", str(bad))
    assert code == 2 and f"{bad}: a pipeline template needs 'id'" in err
    code = cli.run(["pipeline-template", "get", "--id", "x", "--gate", "http://127.0.0.1:9"])
    assert code == 3

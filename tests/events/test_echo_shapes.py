"""Each event type's JSON against Echo's, field by field: tests/events/fixtures/echo_orca_events.json is written
from Orca's EchoNotifying*Listener and Echo's Event/Metadata (NON_NULL), not from our output. The one deliberate
difference: the ``execution`` inside stage and task events has no ``stages`` (docs/operations.md, "Events")."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from core.store import Store
from core.store.events import _phases

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "echo_orca_events.json").read_text())
SCENARIOS = FIXTURE["scenarios"]


def run(store: Store, scenario: dict[str, Any]) -> list[dict[str, Any]]:
    execution = scenario["execution"]
    header = dict(execution)
    stages: dict[str, dict[str, Any]] = {}
    for version, write in enumerate(scenario["writes"], start=1):
        if write.get("execution") is not None:
            header.update(write["execution"])
        for stage in write.get("stages") or []:
            stages.setdefault(stage["id"], stage)
            stages[stage["id"]] = stage
        store.executions.apply_update(
            {
                "id": execution["id"],
                "version": version,
                "application": execution["application"],
                "execution": dict(header) if write.get("execution") is not None else None,
                "stages": [{"seq": list(stages).index(s["id"]), "stage": s} for s in write.get("stages") or []],
            }
        )
    return store.events.recent(execution_id=execution["id"], since=0, limit=1000)


def check_execution(ours: Any, event_type: str, execution_id: str, all_stage_ids: list[str]) -> None:
    """``<execution>``: the execution as it is at the event (its stages in order, all of them once it ended); for
    stage and task events without its stages."""
    kind, word = event_type.split(":")[1:]
    assert isinstance(ours, dict) and ours["id"] == execution_id
    if kind in ("pipeline", "orchestration"):
        ids = [s["id"] for s in ours["stages"]]
        assert ids == (all_stage_ids if word != "starting" else [i for i in all_stage_ids if i in ids])
    else:
        assert "stages" not in ours  # ours on purpose: the header only (size), see the module


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_events_match_echo_s_json_field_by_field(store: Store, scenario: dict[str, Any]) -> None:
    ours = run(store, scenario)
    expected = scenario["events"]
    assert [e["details"]["type"] for e in ours] == [e["details"]["type"] for e in expected]
    stage_ids = [s["id"] for w in scenario["writes"] for s in w.get("stages") or []]
    stage_ids = list(dict.fromkeys(stage_ids))
    for got, want in zip(ours, expected, strict=True):
        kind = want["details"]["type"].split(":")[1]
        assert set(got) - {"seq"} == set(want), want["details"]["type"]
        uuid.UUID(got["eventId"])
        assert re.fullmatch(r"\d{13}", got["details"]["created"])
        assert got["details"] == {**want["details"], "created": got["details"]["created"]}
        assert list(got["details"]) == list(want["details"])  # Echo's Metadata order
        content = dict(got["content"])
        execution = content.pop("execution")
        check_execution(execution, want["details"]["type"], scenario["execution"]["id"], stage_ids)
        want_content = {k: v for k, v in want["content"].items() if k != "execution"}
        assert content == want_content, want["details"]["type"]
        assert list(got["content"]) == list(want["content"])  # Orca's order, ``execution`` last for stages
        if kind in ("stage", "task"):
            assert content["canceled"] is bool(execution.get("canceled"))  # the execution's flag, as Orca reads it


@pytest.mark.parametrize("kind", ["execution", "stage", "task"])
def test_the_after_word_is_orca_s(kind: str) -> None:
    table = FIXTURE["after_words"][kind]
    for status, word in table.items():
        assert _phases("RUNNING", status, kind=kind) == [word], (kind, status)
    assert _phases("RUNNING", "RUNNING", kind=kind) == []  # Orca: no "after" while still RUNNING
    # a stage skipped before it ran ends only; a task or an execution never started sends nothing
    assert _phases("NOT_STARTED", "SKIPPED", kind=kind) == (["skipped"] if kind == "stage" else [])

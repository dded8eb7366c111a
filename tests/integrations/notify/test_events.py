"""Echo's rule for which notifications an event asks for (integrations/notify/events.py), on events the outbox derives
from real transitions (core/store/events.derive): a notification and the event a REST listener receives never
disagree about an end."""

from __future__ import annotations

from typing import Any

import pytest

from core.status import ExecutionStatus as S
from core.store.events import derive
from integrations.notify.events import may_notify, wanted

APP = [{"type": "slack", "address": "app", "when": ["pipeline.starting", "pipeline.complete", "pipeline.failed"]}]


def header(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": "E1", "application": "told", "type": "PIPELINE", "status": status, **extra}


def stage(status: str, **context: Any) -> dict[str, Any]:
    return {"id": "s1", "refId": "1", "type": "wait", "name": "w", "status": status, "context": context}


def event_of(before: dict[str, Any], after: dict[str, Any], type_: str) -> dict[str, Any]:
    [event] = [e for e in derive(before, after) if e["details"]["type"] == type_]
    return event


@pytest.mark.parametrize(
    ("status", "pipeline", "stage_when"),
    [
        (S.SUCCEEDED, "pipeline.complete", "stage.complete"),
        (S.STOPPED, "pipeline.complete", "stage.failed"),  # a successful end for an execution, a failure for a stage
        (S.FAILED_CONTINUE, "pipeline.failed", "stage.failed"),
        (S.TERMINAL, "pipeline.failed", "stage.failed"),
        (S.CANCELED, "pipeline.failed", "stage.failed"),
    ],
)
def test_an_end_notifies_with_the_word_of_its_event(status: S, pipeline: str, stage_when: str) -> None:
    own = [{"type": "webhook", "address": "own", "when": [pipeline, stage_when]}]
    running = {"header": header("RUNNING", notifications=own), "stages": {"s1": stage("RUNNING")}}
    ended_stage = stage(status.value, sendNotifications=True, notifications=own)
    ended = {"header": header(status.value, notifications=own), "stages": {"s1": ended_stage}}
    events = derive(running, ended)
    kinds = [e["details"]["type"].split(":")[1] for e in events]
    assert kinds == ["stage", "pipeline"]  # the stage's end, then the execution's
    stage_event, pipeline_event = events
    assert [w for w, _ in wanted(stage_event, application_entries=[], stage_type="wait")] == [stage_when]
    assert [(w, e["address"]) for w, e in wanted(pipeline_event, application_entries=APP)] == [
        (pipeline, "own"),
        (pipeline, "app"),  # the execution's entries, then the application's
    ]


def test_a_skipped_stage_sends_stage_skipped() -> None:
    told = [{"type": "webhook", "address": "x", "when": ["stage.skipped"]}]
    before = {"header": header("RUNNING"), "stages": {}}
    after = {
        "header": header("RUNNING"),
        "stages": {"s1": stage("SKIPPED", sendNotifications=True, notifications=told)},
    }
    event = event_of(before, after, "orca:stage:skipped")
    assert [w for w, _ in wanted(event, application_entries=[], stage_type="wait")] == ["stage.skipped"]


def test_stage_events_notify_only_a_stage_that_asks() -> None:
    told = [{"type": "webhook", "address": "x", "when": ["stage.starting"]}]
    before = {"header": header("RUNNING"), "stages": {"s1": stage("NOT_STARTED")}}
    quiet = {"header": header("RUNNING"), "stages": {"s1": stage("RUNNING", notifications=told)}}
    asks = {"header": header("RUNNING"), "stages": {"s1": stage("RUNNING", notifications=told, sendNotifications=True)}}
    assert wanted(event_of(before, quiet, "orca:stage:starting"), application_entries=[], stage_type="wait") == []
    assert not may_notify(event_of(before, quiet, "orca:stage:starting"), [])  # nothing to look up in the store
    assert may_notify(event_of(before, asks, "orca:stage:starting"), [])
    assert [w for w, _ in wanted(event_of(before, asks, "orca:stage:starting"), application_entries=[])] == [
        "stage.starting"
    ]


def test_a_judgment_notifies_at_its_start_and_with_its_judgment() -> None:
    told = [{"type": "slack", "address": "x", "when": ["manualJudgment", "manualJudgmentStop"]}]
    old_scheme = [{"type": "slack", "address": "y"}]  # no when: the awaiting-judgment message only (Orca's default)
    entries = told + old_scheme
    before = {"header": header("RUNNING"), "stages": {"s1": stage("NOT_STARTED")}}
    waiting = {"header": header("RUNNING"), "stages": {"s1": stage("RUNNING", notifications=entries)}}
    start = event_of(before, waiting, "orca:stage:starting")
    assert [(w, e["address"]) for w, e in wanted(start, application_entries=[], stage_type="manualJudgment")] == [
        ("manualJudgment", "x"),
        ("manualJudgment", "y"),
    ]
    assert wanted(start, application_entries=[], stage_type="wait") == []  # only a judgment stage's start
    assert may_notify(start, [])  # the stage's type is looked up: a judgment entry may apply
    stopped = {
        "header": header("RUNNING"),
        "stages": {"s1": stage("TERMINAL", notifications=entries, judgmentStatus="stop")},
    }
    end = event_of(waiting, stopped, "orca:stage:failed")
    assert [(w, e["address"]) for w, e in wanted(end, application_entries=[], stage_type="manualJudgment")] == [
        ("manualJudgmentStop", "x")
    ]


def test_task_and_trigger_events_notify_nobody_and_cost_no_lookup() -> None:
    before = {
        "header": header("RUNNING"),
        "stages": {"s1": {**stage("RUNNING"), "tasks": [{"id": "1", "name": "wait", "status": "RUNNING"}]}},
    }
    after = {
        "header": header("RUNNING"),
        "stages": {"s1": {**stage("RUNNING"), "tasks": [{"id": "1", "name": "wait", "status": "SUCCEEDED"}]}},
    }
    task = event_of(before, after, "orca:task:complete")
    assert wanted(task, application_entries=APP) == [] and not may_notify(task, APP)
    trigger = {"details": {"type": "webhook", "source": "ci"}, "content": {"executionId": "E1"}}
    assert wanted(trigger, application_entries=APP) == [] and not may_notify(trigger, APP)
    started = event_of(
        {"header": header("NOT_STARTED"), "stages": {}},
        {"header": header("RUNNING"), "stages": {}},
        "orca:pipeline:starting",
    )
    assert not may_notify(started, []) and may_notify(started, APP)  # neither the execution nor its application asks


def test_an_orchestration_notifies_as_a_pipeline() -> None:
    before = {"header": header("NOT_STARTED", type="ORCHESTRATION"), "stages": {}}
    after = {"header": header("RUNNING", type="ORCHESTRATION"), "stages": {}}
    event = event_of(before, after, "orca:orchestration:starting")
    assert [w for w, _ in wanted(event, application_entries=APP)] == ["pipeline.starting"]

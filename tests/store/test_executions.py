"""The execution projection: upsert, filters, ordering, Orca's per-config limit."""

from __future__ import annotations

import copy

import pytest

from core.store import ExecutionDeletedError, NotFoundError, Store, ValidationError

from .conftest import load_fixture


def execution(eid: str, config: str | None, build: int, status: str = "SUCCEEDED", **extra: object) -> dict:
    doc = {
        "id": eid,
        "application": "app",
        "type": "PIPELINE",
        "status": status,
        "buildTime": build,
        "startTime": build + 1,
        "name": f"pipeline {config}",
        "trigger": {"type": "manual"},
        **extra,
    }
    if config is not None:
        doc["pipelineConfigId"] = config
    return doc


def test_real_executions_round_trip_and_upsert(store: Store) -> None:
    running = load_fixture("deck/core_manual_execution_pipelines.running.json")[0]
    done = load_fixture("deck/core_manual_execution_pipelines.succeeded.json")[0]
    store.executions.save(copy.deepcopy(running))
    assert store.executions.get(running["id"]) == running
    store.executions.save({**copy.deepcopy(done), "id": running["id"]})
    assert store.executions.get(running["id"]) == {**done, "id": running["id"]}
    assert len(store.executions.query(application=done["application"])) == 1
    assert store.executions.query(statuses=["RUNNING"]) == []
    for name in ("google_pipelines_list_pipelines.json", "appengine_pipelines_list_pipelines.json"):
        for doc in load_fixture(f"deck/{name}"):
            store.executions.save(doc)
            assert store.executions.get(doc["id"]) == doc


def test_ordering_filters_and_limits(store: Store) -> None:
    docs = [
        execution("E1", "c1", 100),
        execution("E2", "c1", 300, "RUNNING"),
        execution("E3", "c1", 200, "TERMINAL"),
        execution("E4", "c2", 250),
        execution("E5", "c2", 50, trigger={"type": "cron", "id": "t"}),
        execution("E6", None, 400, type="ORCHESTRATION"),
        {**execution("E7", "c9", 500), "application": "OTHER"},
    ]
    for doc in docs:
        store.executions.save(doc)

    def ids(**kw: object) -> list[str]:
        return [e["id"] for e in store.executions.query(**kw)]  # type: ignore[arg-type]

    assert ids(application="app") == ["E2", "E4", "E3", "E1", "E5"]
    assert ids(application="app", type=None) == ["E6", "E2", "E4", "E3", "E1", "E5"]
    assert ids(application="app", type="orchestration") == ["E6"]
    assert ids(application="other") == ["E7"]
    assert ids() == ["E7", "E2", "E4", "E3", "E1", "E5"]
    assert ids(application="app", limit=2) == ["E2", "E4"]
    assert ids(application="app", limit_per_config=1) == ["E2", "E4"]
    assert ids(application="app", limit_per_config=2) == ["E2", "E4", "E3", "E5"]
    assert ids(application="app", limit_per_config=2, limit=3) == ["E2", "E4", "E3"]
    assert ids(application="app", statuses=["succeeded", "TERMINAL"]) == ["E4", "E3", "E1", "E5"]
    assert ids(application="app", statuses=["SUCCEEDED"], limit_per_config=1) == ["E4", "E1"]
    assert ids(pipeline_config_ids=["c2", "c9"]) == ["E7", "E4", "E5"]
    assert ids(pipeline_config_ids=["c1"], limit_per_config=2) == ["E2", "E3"]
    assert ids(execution_ids=["E5", "E1", "nope"]) == ["E1", "E5"]
    assert ids(trigger_types=["cron"]) == ["E5"]
    assert ids(application="app", start_after_ms=100, start_before_ms=250) == ["E4", "E3", "E1"]
    assert ids(pipeline_config_ids=[]) == []
    assert ids(statuses=[]) == []


def test_ties_on_build_time_break_by_id(store: Store) -> None:
    for eid in ("01A", "01C", "01B"):
        store.executions.save(execution(eid, "c", 100))
    assert [e["id"] for e in store.executions.query(application="app")] == ["01C", "01B", "01A"]


def test_delete_and_missing(store: Store) -> None:
    store.executions.save(execution("E1", "c", 1))
    store.executions.delete("E1")
    with pytest.raises(ExecutionDeletedError, match="E1 was deleted"):
        store.executions.get("E1")
    with pytest.raises(NotFoundError, match="E1"):
        store.executions.delete("E1")
    with pytest.raises(NotFoundError, match="E2 not found") as missing:
        store.executions.get("E2")
    assert not isinstance(missing.value, ExecutionDeletedError)
    store.executions.save(execution("E1", "c", 1))  # a late write does not resurrect it
    assert store.executions.query(application="app") == []


def test_trigger_events_are_claimed_once_per_pipeline(store: Store) -> None:
    assert store.trigger_events.claim("github:delivery-1", "p1", "E1") == ("E1", True)
    assert store.trigger_events.claim("github:delivery-1", "p1", "E2") == ("E1", False)  # redelivered
    assert store.trigger_events.claim("github:delivery-1", "p2", "E3") == ("E3", True)  # another pipeline
    long_key = "k" * 400  # keys are cut to the column's length, consistently
    assert store.trigger_events.claim(long_key, "p1", "E4") == ("E4", True)
    assert store.trigger_events.claim(long_key, "p1", "E5") == ("E4", False)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"application": "app"}, "id"),
        ({"id": "E1"}, "application"),
        ({"id": "E1", "application": "app", "buildTime": "soon"}, "buildTime"),
    ],
)
def test_invalid_executions_name_the_field(store: Store, doc: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        store.executions.save(doc)
    assert err.value.field == field
    assert store.executions.query(type=None) == []


@pytest.mark.parametrize("kw", [{"limit": 0}, {"limit_per_config": 0}])
def test_invalid_limits(store: Store, kw: dict) -> None:
    with pytest.raises(ValidationError) as err:
        store.executions.query(**kw)
    assert err.value.field == "limit"


def test_large_execution_body(store: Store) -> None:
    big = execution("BIG", "c", 1, stages=[{"id": str(i), "context": {"blob": "x" * 1000}} for i in range(200)])
    store.executions.save(big)
    assert store.executions.get("BIG") == big


def test_listing_without_expand_reads_the_stored_summary(store):
    execution = {
        "id": "01SUMMARY00000000000000000",
        "application": "sumapp",
        "type": "PIPELINE",
        "status": "SUCCEEDED",
        "buildTime": 5,
        "pipelineConfigId": "cfg",
        "stages": [
            {
                "id": "s",
                "name": "x",
                "context": {"group": "g", "big": "x" * 1000},
                "outputs": {"o": 1},
                "tasks": [{"id": "1"}],
            }
        ],
    }
    store.executions.save(execution)
    [lean] = store.executions.query(application="sumapp", expand=False)
    assert lean["stages"][0]["context"] == {"group": "g"} and lean["stages"][0]["tasks"] == []
    assert lean["stages"][0]["outputs"] == {} and lean["status"] == "SUCCEEDED"
    [full] = store.executions.query(application="sumapp")
    assert full == execution
    assert store.executions.get(execution["id"]) == execution


def test_a_system_notification_is_added_kept_through_engine_writes_and_not_doubled(store: Store) -> None:
    own = {"createdAt": 1, "group": "validation", "message": "the engine's own", "closed": False}
    failed = {"createdAt": 2, "group": "notification", "message": "slack notification failed", "closed": False}
    base = {"id": "N1", "application": "told", "stages": []}
    store.executions.apply_update({**base, "version": 5, "execution": {"status": "RUNNING", "systemNotifications": []}})
    assert store.executions.add_system_notification("N1", failed)
    assert store.executions.add_system_notification("N1", failed)  # a retried call adds nothing
    assert store.executions.get("N1")["systemNotifications"] == [failed]
    # the version is the engine's: its next write is not refused, and it keeps the reader's entry beside its own
    ended = {"status": "SUCCEEDED", "endTime": 9, "systemNotifications": [own]}
    assert store.executions.apply_update({**base, "version": 6, "execution": ended})["applied"]
    shown = store.executions.get("N1")
    assert shown["status"] == "SUCCEEDED" and shown["systemNotifications"] == [own, failed]
    late = {**failed, "createdAt": 3, "message": "email notification failed"}
    assert store.executions.add_system_notification("N1", late)  # after the end: the listing's text has it too
    [listed] = store.executions.query(execution_ids=["N1"], type=None, expand=False)
    assert listed["systemNotifications"] == [own, failed, late]
    assert not store.executions.add_system_notification("missing", failed)
    with pytest.raises(ValidationError) as err:
        store.executions.add_system_notification("N1", "text")  # type: ignore[arg-type]
    assert err.value.field == "notification"


def test_one_stage_is_read_alone(store: Store) -> None:
    stage = {"id": "s2", "refId": "2", "type": "manualJudgment", "name": "judge", "status": "RUNNING", "context": {}}
    update = {"id": "S1", "application": "told", "version": 1, "execution": {"status": "RUNNING"}}
    store.executions.apply_update({**update, "stages": [{"seq": 0, "stage": stage}]})
    assert store.executions.stage("S1", "s2") == stage
    assert store.executions.stage("S1", "nope") is None and store.executions.stage("nope", "s2") is None

"""The execution projection in the store: conditional row writes, assembled reads, listings, finish claims."""

from __future__ import annotations

import copy
import random
import threading
from typing import Any

import pytest

from core.store import ExecutionDeletedError, NotFoundError, Store, ValidationError
from workflows.execution import strip_execution


def stage(sid: str, status: str = "NOT_STARTED", **extra: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "refId": sid,
        "type": "wait",
        "name": f"stage {sid}",
        "status": status,
        "context": {"waitTime": 1, "group": "g"},
        "outputs": {"o": sid},
        "tasks": [{"id": "1", "name": "wait", "status": status}],
        **extra,
    }


def header(status: str = "RUNNING", **extra: Any) -> dict[str, Any]:
    return {
        "type": "PIPELINE",
        "name": "p",
        "pipelineConfigId": "cfg",
        "status": status,
        "buildTime": 1000,
        "startTime": 1001,
        "trigger": {"type": "manual", "user": "bob"},
        **extra,
    }


def start(store: Store, eid: str = "E1", n: int = 3, version: int = 1) -> None:
    store.executions.apply_update(
        {
            "id": eid,
            "application": "app",
            "version": version,
            "execution": header(),
            "stages": [{"seq": i, "stage": stage(f"s{i}")} for i in range(n)],
        }
    )


def test_first_write_then_reads_assemble_header_and_stages_in_order(store: Store) -> None:
    result = store.executions.apply_update(
        {
            "id": "E1",
            "application": "app",
            "version": 5,
            "execution": header(),
            "stages": [
                {"seq": 2, "stage": stage("b")},
                {"seq": 1, "stage": stage("z")},
                {"seq": 2, "stage": stage("a")},  # a tie in seq: by stage id
            ],
            "engine": {"config": {"stages": []}, "timeZone": "UTC"},
        }
    )
    assert result == {"applied": True, "finishedFirst": False}
    got = store.executions.get("E1")
    assert [s["id"] for s in got["stages"]] == ["z", "a", "b"]
    assert got["stages"][0] == stage("z")
    assert {k: v for k, v in got.items() if k != "stages"} == {"id": "E1", "application": "app", **header()}
    assert "engine" not in got and "timeZone" not in got
    assert store.executions.get_engine("E1") == {"config": {"stages": []}, "timeZone": "UTC"}
    application, status, text = store.executions.get_text("E1")
    assert (application, status) == ("app", "RUNNING")
    import json

    assert json.loads(text) == got
    assert store.executions.get_engine("nope") is None


def test_lower_versions_lose_per_row_and_equal_versions_apply(store: Store) -> None:
    start(store, version=10)
    # a stage written by its stage workflow at 30 ...
    store.executions.apply_update({"id": "E1", "version": 30, "stages": [{"seq": 0, "stage": stage("s0", "RUNNING")}]})
    # ... does not block the pipeline's header write at 20, which is newer than the header's 10
    r = store.executions.apply_update({"id": "E1", "version": 20, "execution": {"status": "RUNNING", "paused": None}})
    assert r["applied"] is True
    # an older write of the stage loses; one of another stage at the same version applies
    r = store.executions.apply_update(
        {
            "id": "E1",
            "version": 25,
            "stages": [{"seq": 0, "stage": stage("s0", "NOT_STARTED")}, {"seq": 1, "stage": stage("s1", "RUNNING")}],
        }
    )
    assert r["applied"] is True
    got = store.executions.get("E1")
    assert [s["status"] for s in got["stages"]] == ["RUNNING", "RUNNING", "NOT_STARTED"]
    # an older header write loses entirely
    r = store.executions.apply_update({"id": "E1", "version": 15, "execution": {"status": "TERMINAL"}})
    assert r == {"applied": False, "finishedFirst": False}
    assert store.executions.get("E1")["status"] == "RUNNING"
    # the same version applies again (a retried write)
    succeeded = [{"seq": 0, "stage": stage("s0", "SUCCEEDED")}]
    store.executions.apply_update({"id": "E1", "version": 30, "stages": succeeded})
    assert store.executions.get("E1")["stages"][0]["status"] == "SUCCEEDED"


def test_header_keys_replace_and_null_removes(store: Store) -> None:
    start(store)
    store.executions.apply_update(
        {"id": "E1", "version": 2, "execution": {"paused": {"pauseTime": 5}, "canceled": False}}
    )
    assert store.executions.get("E1")["paused"] == {"pauseTime": 5}
    store.executions.apply_update({"id": "E1", "version": 3, "execution": {"paused": None}})
    got = store.executions.get("E1")
    assert "paused" not in got and got["canceled"] is False and got["trigger"]["user"] == "bob"
    store.executions.apply_update({"id": "E1", "version": 4, "engine": {"timeZone": "UTC"}})
    store.executions.apply_update({"id": "E1", "version": 5, "engine": {"queues": {"a": "q"}}})
    assert store.executions.get_engine("E1") == {"timeZone": "UTC", "queues": {"a": "q"}}
    store.executions.apply_update({"id": "E1", "version": 4, "engine": {"timeZone": "Europe/Paris"}})  # older
    assert store.executions.get_engine("E1") == {"timeZone": "UTC", "queues": {"a": "q"}}


def test_removed_stages_stay_removed_against_older_writes(store: Store) -> None:
    start(store, n=3, version=1)
    store.executions.apply_update({"id": "E1", "version": 10, "removeStageIds": ["s1", "never-written"]})
    assert [s["id"] for s in store.executions.get("E1")["stages"]] == ["s0", "s2"]
    store.executions.apply_update(
        {
            "id": "E1",
            "version": 5,
            "stages": [{"seq": 1, "stage": stage("s1")}, {"seq": 9, "stage": stage("never-written")}],
        }
    )
    assert [s["id"] for s in store.executions.get("E1")["stages"]] == ["s0", "s2"]
    store.executions.apply_update({"id": "E1", "version": 11, "stages": [{"seq": 1, "stage": stage("s1", "RUNNING")}]})
    assert [s["id"] for s in store.executions.get("E1")["stages"]] == ["s0", "s1", "s2"]


def test_finish_is_reported_once_and_listings_keep_their_shapes(store: Store) -> None:
    start(store, "E1", n=4)
    start(store, "E2", n=2)
    running = store.executions.query(application="app", expand=False)
    assert running == [strip_execution(store.executions.get(e["id"])) for e in running]
    assert store.executions.query(application="app") == [store.executions.get("E2"), store.executions.get("E1")]
    assert store.executions.unhandled_finish("E1") is None
    done = {"id": "E1", "version": 9, "execution": {"status": "SUCCEEDED", "endTime": 2000}}
    assert store.executions.apply_update(done) == {"applied": True, "finishedFirst": True}
    assert store.executions.apply_update(done) == {"applied": True, "finishedFirst": False}
    version, execution = store.executions.unhandled_finish("E1")  # type: ignore[misc]
    assert version == 9 and execution == store.executions.get("E1")
    store.executions.mark_finish_handled("E1", 9)
    assert store.executions.unhandled_finish("E1") is None
    # a stage written after the finish still shows in the stored summary of the finished execution
    succeeded = [{"seq": 0, "stage": stage("s0", "SUCCEEDED")}]
    store.executions.apply_update({"id": "E1", "version": 10, "stages": succeeded})
    for expand in (False, True):
        listed = store.executions.query(application="app", expand=expand)
        full = [store.executions.get(e["id"]) for e in listed]
        assert listed == (full if expand else [strip_execution(e) for e in full])
        raw = store.executions.query(application="app", expand=expand, raw=True)
        assert [status for status, _ in raw] == ["RUNNING", "SUCCEEDED"]
    assert store.executions.query(statuses=["SUCCEEDED"], expand=False)[0]["stages"][0]["status"] == "SUCCEEDED"
    assert [e["id"] for e in store.executions.unfinished(built_before_ms=10**13)] == ["E2"]
    assert store.executions.unfinished(built_before_ms=10**13, after=(1000, "E2")) == []
    assert store.executions.header("E1")["version"] == 9  # type: ignore[index]
    assert store.executions.unfinished(built_before_ms=1000) == []
    # a restart makes it run again; finishing again is a new finish
    store.executions.apply_update({"id": "E1", "version": 11, "execution": {"status": "RUNNING", "endTime": None}})
    assert store.executions.unhandled_finish("E1") is None
    assert store.executions.query(execution_ids=["E1"], expand=False) == [strip_execution(store.executions.get("E1"))]
    assert store.executions.apply_update({"id": "E1", "version": 12, "execution": {"status": "TERMINAL"}})[
        "finishedFirst"
    ]
    assert store.executions.unhandled_finish("E1")[0] == 12  # type: ignore[index]


def test_deleted_executions_stay_deleted(store: Store) -> None:
    start(store)
    store.executions.delete("E1")
    r = store.executions.apply_update(
        {"id": "E1", "application": "app", "version": 99, "execution": header("SUCCEEDED"), "stages": []}
    )
    assert r == {"applied": False, "finishedFirst": False}
    with pytest.raises(ExecutionDeletedError):
        store.executions.get("E1")
    assert store.executions.query(application="app") == []
    with pytest.raises(NotFoundError):
        store.executions.get_text("never")


def test_a_row_carrying_its_own_version_is_written_and_compared_with_it(store: Store) -> None:
    """The pipeline writes the RUNNING rows of stages it started, each at the version it took as it started that
    stage: lower than whatever the stage workflow writes, however late the pipeline's write lands."""
    start(store, version=10)
    store.executions.apply_update(
        {"id": "E1", "version": 40, "stages": [{"seq": 0, "stage": stage("s0", "SUCCEEDED")}]}
    )
    late = {
        "id": "E1",
        "version": 31,
        "stages": [
            {"seq": 0, "stage": stage("s0", "RUNNING"), "version": 30},  # older than the stage's own 40: loses
            {"seq": 1, "stage": stage("s1", "RUNNING"), "version": 31},
        ],
    }
    assert store.executions.apply_update(late)["applied"] is True
    assert [s["status"] for s in store.executions.get("E1")["stages"]] == ["SUCCEEDED", "RUNNING", "NOT_STARTED"]
    # the row keeps its own version: the stage's later write at 32 applies over 31, one at 30 does not
    store.executions.apply_update({"id": "E1", "version": 30, "stages": [{"seq": 1, "stage": stage("s1", "CANCELED")}]})
    assert store.executions.get("E1")["stages"][1]["status"] == "RUNNING"
    store.executions.apply_update(
        {"id": "E1", "version": 32, "stages": [{"seq": 1, "stage": stage("s1", "SUCCEEDED")}]}
    )
    assert store.executions.get("E1")["stages"][1]["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ([], "update"),
        ({"version": 1}, "id"),
        ({"id": "E9", "version": "1"}, "version"),
        ({"id": "E9", "version": -1}, "version"),
        ({"id": "E9", "version": 1, "execution": {"status": "RUNNING"}}, "application"),
        ({"id": "E1", "version": 1, "execution": []}, "execution"),
        ({"id": "E1", "version": 1, "execution": {"stages": []}}, "execution.stages"),
        ({"id": "E1", "version": 1, "stages": {}}, "stages"),
        ({"id": "E1", "version": 1, "stages": [{"seq": 0, "stage": {"name": "x"}}]}, "stages[0].stage.id"),
        ({"id": "E1", "version": 1, "stages": [{"seq": "0", "stage": {"id": "x"}}]}, "stages[0].seq"),
        ({"id": "E1", "version": 1, "stages": [{"seq": 0, "stage": {"id": "x"}, "version": "2"}]}, "stages[0].version"),
        ({"id": "E1", "version": 1, "removeStageIds": [1]}, "removeStageIds"),
        ({"id": "E1", "version": 1, "execution": {"buildTime": "soon"}}, "buildTime"),
    ],
)
def test_bad_updates_name_the_field_and_write_nothing(store: Store, update: Any, field: str) -> None:
    start(store)
    before = store.executions.get("E1")
    with pytest.raises(ValidationError) as err:
        store.executions.apply_update(update)
    assert err.value.field == field
    assert store.executions.get("E1") == before
    with pytest.raises(NotFoundError):
        store.executions.get("E9")


def test_two_processes_writing_at_once_never_let_an_older_version_win(store: Store) -> None:
    """Two stores (two connection pools, as two workers have) write the same rows concurrently, versions
    interleaved at random: every row ends at the highest version written to it."""
    other = Store(str(store.engine.url.render_as_string(hide_password=False)))
    try:
        rng = random.Random(7)
        versions = list(range(1, 121))
        rng.shuffle(versions)
        errors: list[BaseException] = []

        def writer(s: Store, mine: list[int]) -> None:
            try:
                for v in mine:
                    s.executions.apply_update(
                        {
                            "id": "EC",
                            "application": "app",
                            "version": v,
                            "execution": {**header(), "tag": v},
                            "stages": [{"seq": i, "stage": stage(f"s{i}", tag=v)} for i in range(v % 3 + 1)],
                        }
                    )
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=writer, args=(store, versions[0::2])),
            threading.Thread(target=writer, args=(other, versions[1::2])),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        got = store.executions.get("EC")
        assert got["tag"] == 120
        # stage s0 is in every write, s1 in those with v % 3 >= 1, s2 in v % 3 == 2
        assert [s["tag"] for s in got["stages"]] == [120, 119, 119]
    finally:
        other.close()


def test_save_execution_still_replaces_the_whole_execution(store: Store) -> None:
    start(store, n=3)
    doc = copy.deepcopy(store.executions.get("E1"))
    doc["stages"] = doc["stages"][:1] + [{"name": "legacy stage without an id"}]
    doc["status"] = "SUCCEEDED"
    store.executions.save(doc)
    assert store.executions.get("E1") == doc
    assert store.executions.query(application="app", expand=False) == [strip_execution(doc)]


def test_a_stage_written_before_its_header_does_not_outrank_the_header(store: Store) -> None:
    store.executions.apply_update(
        {"id": "E5", "application": "app", "version": 50, "stages": [{"seq": 0, "stage": stage("s0", "RUNNING")}]}
    )
    store.executions.apply_update({"id": "E5", "version": 10, "execution": header()})
    got = store.executions.get("E5")
    assert got["status"] == "RUNNING" and got["name"] == "p" and got["stages"][0]["status"] == "RUNNING"

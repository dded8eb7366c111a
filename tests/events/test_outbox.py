"""The outbox: the projection's writes put Echo's events of each transition in the same transaction, once."""

from __future__ import annotations

import json
from typing import Any

from core.store import Store
from core.store.events import derive


def header(status: str, **extra: Any) -> dict[str, Any]:
    return {"application": "app", "type": "PIPELINE", "name": "deploy", "status": status, **extra}


def stage(sid: str, status: str, tasks: list[tuple[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "refId": sid,
        "type": "wait",
        "name": f"stage {sid}",
        "status": status,
        "context": {"waitTime": 1},
        "tasks": [{"id": tid, "name": "wait", "status": st} for tid, st in tasks or []],
        **extra,
    }


def write(store: Store, version: int, execution: dict[str, Any] | None = None, stages: list[Any] = ()) -> None:
    store.executions.apply_update(
        {
            "id": "E1",
            "version": version,
            "application": "app",
            "execution": execution,
            "stages": [{"seq": i, "stage": st} for i, st in enumerate(stages)],
        }
    )


def types(store: Store) -> list[str]:
    return [e["details"]["type"] for e in store.events.recent(since=0, limit=1000)]


def test_a_pipeline_run_records_echo_events_in_order(store: Store) -> None:
    write(store, 1, header("RUNNING", startTime=1), [stage("s1", "NOT_STARTED")])
    write(store, 2, None, [stage("s1", "RUNNING", [("1", "RUNNING")], startTime=2)])
    write(store, 3, None, [stage("s1", "SUCCEEDED", [("1", "SUCCEEDED")], startTime=2, endTime=3)])
    write(store, 4, header("SUCCEEDED", endTime=4))
    assert types(store) == [
        "orca:pipeline:starting",
        "orca:stage:starting",
        "orca:task:starting",
        "orca:task:complete",
        "orca:stage:complete",
        "orca:pipeline:complete",
    ]
    events = store.events.recent(since=0)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    first, task, last = events[0], events[2], events[-1]
    assert first["details"] == {
        "source": "orca",
        "type": "orca:pipeline:starting",
        "created": first["details"]["created"],
        "application": "app",
        "requestHeaders": {},
    }
    assert first["content"]["executionId"] == "E1" and first["content"]["execution"]["status"] == "RUNNING"
    assert task["content"]["taskName"] == "wait.wait" and task["content"]["stageId"] == "s1"
    assert task["content"]["context"] == {"waitTime": 1} and task["content"]["isSynthetic"] is False
    assert last["content"]["execution"]["stages"][0]["status"] == "SUCCEEDED"
    assert len({e["eventId"] for e in events}) == len(events)


def test_a_repeated_or_older_write_records_nothing_again(store: Store) -> None:
    write(store, 1, header("RUNNING"), [stage("s1", "RUNNING")])
    write(store, 1, header("RUNNING"), [stage("s1", "RUNNING")])  # a retry of a write that landed
    write(store, 5, None, [stage("s1", "TERMINAL")])
    write(store, 3, None, [stage("s1", "RUNNING")])  # older: loses, no event
    assert types(store) == ["orca:pipeline:starting", "orca:stage:starting", "orca:stage:failed"]


def test_a_short_stage_written_once_still_starts_then_ends(store: Store) -> None:
    write(store, 1, header("RUNNING", type="ORCHESTRATION"))
    write(store, 2, None, [stage("s1", "SUCCEEDED", [("1", "SUCCEEDED")]), stage("s2", "SKIPPED")])
    write(store, 3, header("TERMINAL", type="ORCHESTRATION"))
    assert types(store) == [
        "orca:orchestration:starting",
        "orca:stage:starting",
        "orca:task:starting",
        "orca:task:complete",
        "orca:stage:complete",
        "orca:stage:skipped",
        "orca:orchestration:failed",
    ]


def test_a_whole_execution_save_records_its_transitions(store: Store) -> None:
    doc = {"id": "E2", **header("RUNNING"), "stages": [stage("a", "RUNNING")]}
    store.executions.save(doc)
    store.executions.save({**doc, "status": "CANCELED", "stages": [stage("a", "CANCELED")]})
    assert types(store) == [
        "orca:pipeline:starting",
        "orca:stage:starting",
        "orca:stage:failed",
        "orca:pipeline:failed",
    ]


def test_reads_filter_and_page(store: Store) -> None:
    write(store, 1, header("RUNNING"), [stage("s1", "RUNNING")])
    store.events.append(
        [{"details": {"type": "git", "source": "github", "application": "other"}, "content": {}, "eventId": "g1"}]
    )
    head = store.events.head()
    assert [e["eventId"] for e in store.events.recent(types=["git"])] == ["g1"]
    assert store.events.recent(applications=[]) == []
    assert len(store.events.recent(applications=["APP"])) == 2
    assert store.events.after(head) == []
    newest = store.events.recent(limit=1)
    assert [e["seq"] for e in newest] == [head]
    assert [e["seq"] for e in store.events.recent(since=head - 1)] == [head]


def test_derive_restarted_stage_starts_again() -> None:
    before = {"header": header("RUNNING", id="E"), "stages": {"s": stage("s", "TERMINAL")}}
    after = {"header": header("RUNNING", id="E"), "stages": {"s": stage("s", "RUNNING")}}
    assert [e["details"]["type"] for e in derive(before, after)] == ["orca:stage:starting"]


def test_a_reader_waits_at_a_young_gap_and_passes_an_old_one(store: Store) -> None:
    from sqlalchemy import insert

    from core.store.events import OUTBOX, now_ms

    base = store.events.head() + 100
    with store.engine.begin() as conn:
        for seq, age in ((base + 1, 0), (base + 3, 0)):
            body = json.dumps({"details": {"type": "t"}, "content": {}, "eventId": f"e{seq}"})
            conn.execute(
                insert(OUTBOX).values(seq=seq, event_id=f"e{seq}", type="t", created_at=now_ms() - age, body=body)
            )
    assert [e["seq"] for e in store.events.after(base)] == [base + 1]  # base+2 may still commit
    assert [e["seq"] for e in store.events.after(base, grace_ms=0)] == [base + 1, base + 3]


def test_an_endpoint_s_cursor_only_moves_forward(store: Store) -> None:
    assert store.events.cursor("hec") is None
    store.events.save_cursor("hec", 5)
    store.events.save_cursor("hec", 3)
    assert store.events.cursor("hec") == 5
    store.events.save_cursor("hec", 9)
    assert store.events.cursor("hec") == 9 and store.events.cursor("other") is None


def test_purge_drops_only_events_older_than_the_bound(store: Store) -> None:
    from core.store.events import OUTBOX, now_ms

    base = store.events.head() + 10
    with store.engine.begin() as conn:
        for i, age in enumerate([90_000, 60_000, 0]):
            conn.execute(
                OUTBOX.insert().values(
                    seq=base + i,
                    event_id=f"p{i}",
                    type="t",
                    application="app",
                    execution_id="E",
                    created_at=now_ms() - age,
                    body=json.dumps({"details": {"type": "t"}, "eventId": f"p{i}"}),
                )  # fmt: skip
            )
    assert store.events.purge(older_than_ms=now_ms() - 30_000) == 2
    assert [e["eventId"] for e in store.events.recent(since=0)] == ["p2"]
    assert store.events.purge(older_than_ms=now_ms() - 30_000) == 0

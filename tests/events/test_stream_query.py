"""The live stream's read of one application (``EventOutbox.for_application``): filtered in SQL through the
``(application, seq)`` index, one empty probe for a quiet application, the gap rule kept (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, insert, text

from core.store import Store
from core.store.events import OUTBOX, now_ms


def put(store: Store, seq: int, application: str | None, *, age_ms: int = 0, execution_id: str = "E") -> None:
    body = {"details": {"type": "t", "application": application}, "content": {"executionId": execution_id}}
    with store.engine.begin() as conn:
        conn.execute(
            insert(OUTBOX).values(
                seq=seq,
                event_id=f"e{seq}",
                type="t",
                application=application,
                execution_id=execution_id,
                created_at=now_ms() - age_ms,
                body=json.dumps({**body, "eventId": f"e{seq}"}),
            )
        )


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [int(e["seq"]) for e in events]


def test_one_applications_events_in_order_by_execution_too(store: Store) -> None:
    base = store.events.head() + 10
    for i, (app, eid) in enumerate([("shop", "A"), ("other", "B"), ("shop", "C"), ("other", "B"), ("shop", "A")]):
        put(store, base + 1 + i, app, execution_id=eid)
    assert seqs(store.events.for_application("SHOP", base)) == [base + 1, base + 3, base + 5]
    assert seqs(store.events.for_application("shop", base + 1)) == [base + 3, base + 5]
    assert seqs(store.events.for_application("shop", base, execution_id="A")) == [base + 1, base + 5]
    assert seqs(store.events.for_application("shop", base, limit=2)) == [base + 1, base + 3]
    assert store.events.for_application("quiet", base) == []


def test_a_quiet_application_costs_one_indexed_probe(store: Store) -> None:
    base = store.events.head() + 10
    for i in range(50):
        put(store, base + 1 + i, "busy")
    with statements(store) as seen:
        assert store.events.for_application("quiet", base) == []
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            plan = " ".join(
                str(row[-1])
                for row in conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT * FROM echo_events WHERE application = 'quiet' AND seq > 0 "
                        "ORDER BY seq LIMIT 500"
                    )
                )
            )
        assert "ix_echo_events_application" in plan, plan


def test_the_read_stops_before_a_young_hole_and_passes_an_old_one(store: Store) -> None:
    base = store.events.head() + 10
    put(store, base + 1, "shop")
    put(store, base + 3, "shop")  # base+2 is missing: a transaction may still be writing it (shop's, perhaps)
    assert seqs(store.events.for_application("shop", base)) == [base + 1]
    assert seqs(store.events.for_application("shop", base, grace_ms=0)) == [base + 1, base + 3]
    # an old hole is a rolled-back transaction's number: passed
    put(store, base + 11, "shop", age_ms=60_000)
    put(store, base + 13, "shop", age_ms=60_000)
    assert seqs(store.events.for_application("shop", base + 10)) == [base + 11, base + 13]
    # holes among other applications' events count too
    put(store, base + 21, "other")
    put(store, base + 23, "shop")
    assert store.events.for_application("shop", base + 20) == []


def test_settled_stops_below_the_first_young_event(store: Store) -> None:
    base = store.events.head() + 10
    put(store, base + 1, "shop", age_ms=60_000)
    put(store, base + 2, "other", age_ms=60_000)
    put(store, base + 4, "shop")  # young: base+3 may still commit
    put(store, base + 5, "other", age_ms=60_000)  # an old stamp above it does not move past the young one
    assert store.events.settled() == base + 2  # not past the hole at base+3, which may still fill
    assert store.events.settled(grace_ms=0) == base + 5

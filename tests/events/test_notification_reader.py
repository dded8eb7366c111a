"""The notifications' reader activity on a real store: what it answers for the outbox's events, and what it leaves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities import notification_events
from activities.notification_events import NotificationReader, ReadNotificationsResult
from core.messages.notifications import DeliverNotificationsInput, cursor_name
from core.settings.events import EventSettings
from core.store import Store

TOLD = [{"type": "webhook", "address": "http://127.0.0.1:9/n", "when": ["pipeline.starting", "pipeline.complete"]}]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    s.migrate()
    yield s
    s.close()


def run(store: Store, eid: str, *, marked: bool = True, **header: Any) -> None:
    """An execution's start and end as the engine records them (``marked``: by this build's engine)."""
    base = {"id": eid, "application": "told", "stages": []}
    engine = {"engine": {"notify": "events"}} if marked else {"engine": {"pipelineConfig": {}}}
    first = {"status": "RUNNING", "name": eid, "notifications": TOLD, "startTime": 1, **header}
    store.executions.apply_update({**base, "version": 1, "execution": first, **engine})
    store.executions.apply_update({**base, "version": 2, "execution": {"status": "SUCCEEDED", "endTime": 2}})


async def read(store: Store, cursor: int, **settings: Any) -> ReadNotificationsResult:
    reader = NotificationReader(store, EventSettings(poll_window_s=1, poll_interval_s=0.05, **settings))
    req = DeliverNotificationsInput(task_queue="q", cursor=cursor)
    return await ActivityEnvironment().run(reader.read_notifications, req)  # type: ignore[no-any-return]


async def test_the_events_of_this_builds_executions_are_answered_with_stable_ids(store: Store) -> None:
    run(store, "old", marked=False)  # an older build's workflow sends its own
    run(store, "new")
    result = await read(store, 0)
    assert [(s.when, s.execution.execution_id) for s in result.sends] == [
        ("pipeline.starting", "new"),
        ("pipeline.complete", "new"),
    ]
    assert result.cursor == store.events.head()
    again = await read(store, 0)  # a read retried after a worker's death answers the same sends
    assert [s.event_id for s in again.sends] == [s.event_id for s in result.sends]
    assert store.events.cursor(cursor_name("q")) == 0  # the cursor the workflow had started every send up to
    assert (await read(store, result.cursor)).sends == []  # nothing new: the poll window ends with nothing


async def test_too_old_events_are_counted_not_sent(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    run(store, "late")
    real = notification_events.time.time
    monkeypatch.setattr(notification_events.time, "time", lambda: real() + 120)  # the reader runs 2 min later
    result = await read(store, 0, max_age_s=60)
    assert result.sends == [] and result.too_old == 2 and result.cursor == store.events.head()


async def test_a_read_answers_at_most_max_sends_and_resumes_after_them(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notification_events, "MAX_SENDS", 3)
    for i in range(3):
        run(store, f"e{i}")  # two events each
    first = await read(store, 0)
    assert len(first.sends) == 3 and first.cursor < store.events.head()
    second = await read(store, first.cursor)
    assert [s.execution.execution_id for s in first.sends + second.sends] == ["e0", "e0", "e1", "e1", "e2", "e2"]


async def test_a_failure_is_recorded_once_on_its_execution(store: Store) -> None:
    from core.messages.notifications import NotificationFailure

    run(store, "f")
    reader = NotificationReader(store, EventSettings())
    failure = NotificationFailure(execution_id="f", message="webhook notification for x failed: 404", created_at=5)
    for _ in range(2):  # retried
        assert await ActivityEnvironment().run(reader.record_notification_failure, failure)
    [entry] = store.executions.get("f")["systemNotifications"]
    assert entry == {"createdAt": 5, "group": "notification", "message": failure.message, "closed": False}

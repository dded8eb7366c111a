"""Change counters (core/store/changes.py): every write of a scope moves its number in the write's transaction, on
every backend; other scopes stay as they were."""

from __future__ import annotations

import contextlib
import threading
import uuid

from core.store import Store
from core.store.changes import configs_scope, executions_scope
from core.store.models import PipelineConfig


def test_each_write_moves_its_scope_and_no_other(store: Store) -> None:
    app, other = f"chg{uuid.uuid4().hex[:8]}", f"oth{uuid.uuid4().hex[:8]}"
    runs, configs, quiet = executions_scope(app), configs_scope(app), executions_scope(other)
    assert store.changes.seq(runs) == 0 and store.changes.seq(quiet) == 0

    def moved(scope: str, write: object) -> bool:
        before = store.changes.seq(scope)
        assert callable(write)
        write()
        return store.changes.seq(scope) > before

    eid = str(uuid.uuid4())
    stage = {"id": "s", "refId": "1", "type": "wait", "name": "w", "status": "RUNNING"}
    doc = {"id": eid, "application": app.upper(), "status": "RUNNING", "buildTime": 1, "stages": [stage]}
    assert moved(runs, lambda: store.executions.save(doc))
    assert moved(
        runs, lambda: store.executions.apply_update({"id": eid, "version": 2, "stages": [{"seq": 0, "stage": stage}]})
    )
    assert moved(
        runs, lambda: store.executions.apply_update({"id": eid, "version": 5, "execution": {"status": "RUNNING"}})
    )
    stale = {"id": eid, "version": 1, "execution": {"status": "TERMINAL"}}
    assert not moved(runs, lambda: store.executions.apply_update(stale))  # not applied: nothing changed
    assert moved(runs, lambda: store.executions.delete(eid))
    saved = store.pipelines.save({"application": app, "name": "p", "stages": []}, "u")
    assert moved(configs, lambda: store.pipelines.save({**saved, "description": "d"}, "u"))
    assert moved(configs, lambda: store.pipelines.reorder(app, {saved["id"]: 3}))
    assert moved(configs, lambda: store.pipelines.delete(app, "p"))
    assert not moved(
        configs_scope(app, "strategy"), lambda: store.pipelines.save({"application": app, "name": "q"}, "u")
    )
    assert store.changes.seq(quiet) == 0


def test_transactions_writing_two_applications_in_opposite_orders_both_commit(store: Store) -> None:
    """Two transactions flush configs of applications a and b in opposite orders (as two Dinghy renders of several
    applications do). The counters are bumped at commit, in one order, so neither waits on a counter the other holds
    mid-transaction: both commit and each counter moves twice. (Bumped at each flush, PostgreSQL chose one as a
    deadlock victim.) SQLite's writer lock runs them one after the other; the barrier then just times out."""
    apps = [f"dla{uuid.uuid4().hex[:8]}", f"dlb{uuid.uuid4().hex[:8]}"]
    before = [store.changes.seq(configs_scope(app)) for app in apps]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def config(app: str, tag: str) -> PipelineConfig:
        pid = f"{app}-{tag}"
        return PipelineConfig(
            kind="pipeline", id=pid, id_key=pid, application=app, name=tag, created_at=1, last_modified=1, body="{}"
        )

    def write(order: list[str], tag: str) -> None:
        try:
            with store.db.session(write=True) as s:
                for step, app in enumerate(order):
                    s.add(config(app, tag))
                    s.flush()
                    if step == 0:
                        with contextlib.suppress(threading.BrokenBarrierError):
                            barrier.wait(timeout=3)  # each holds its first application's rows
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(apps, "one")),
        threading.Thread(target=write, args=(apps[::-1], "two")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert [store.changes.seq(configs_scope(app)) for app in apps] == [n + 2 for n in before]

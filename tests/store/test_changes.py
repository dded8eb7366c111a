"""Change counters (core/store/changes.py): every write of a scope moves its number in the write's transaction, on
every backend; other scopes stay as they were."""

from __future__ import annotations

import uuid

from core.store import Store
from core.store.changes import configs_scope, executions_scope


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

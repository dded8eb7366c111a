"""Dinghy's store on SQLite, PostgreSQL and MariaDB (migration 0015_dinghy): one-transaction writes of a push,
ownership for stale deletion, deleted dinghyfiles, the module graph, syncs, and the lock check."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store import Store, ValidationError
from core.store.dinghy import planned_id, refuse_locked_edit
from tests.store.conftest import migrated, mysql_url, postgresql_url  # noqa: F401 - fixtures

BACKENDS = ["sqlite", "postgresql", "mysql"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (
        f"sqlite:///{tmp_path / 'g.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue(f"{request.param}_url")
    )
    s = Store(url)
    s.migrate()
    yield s
    s.close()


def _file(path: str, app: str, names: list[str], **kw: object) -> dict[str, object]:
    return {"path": path, "application": app, "spec": {"email": "a@b.c"}, "saveApp": False,
            "pipelines": [{"application": app, "name": n, "stages": []} for n in names], **kw}  # fmt: skip


def test_push_writes_owns_deletes_own_stale_and_removed(store: Store) -> None:
    src, app = f"s-{uuid.uuid4().hex[:8]}", f"app-{uuid.uuid4().hex[:8]}"
    d = store.dinghy
    summary = d.apply_push(
        src, "c1", [_file("dinghyfile", app, ["a", "b"], modules=["m1"], rawData={"x": 1})], "dinghy"
    )
    assert sorted(summary["created"]) == [f"{app}/a", f"{app}/b"] and summary["applications"] == [f"created {app}"]
    assert store.pipelines.get_by_name(app, "a")["id"] == planned_id(src, app, "a")
    assert store.pipelines.get_by_name(app, "a")["locked"]["ui"] is True
    assert d.dependents(src, "module", ["m1"]) == ["dinghyfile"] and d.raw_data(src, "dinghyfile") == {"x": 1}
    store.pipelines.save({"application": app, "name": "ui-made"}, "someone")

    # unchanged pipelines are not rewritten; stale deletion takes only this source's pipelines
    summary = d.apply_push(src, "c2", [_file("dinghyfile", app, ["a"], deleteStale=True)], "dinghy")
    assert summary["unchanged"] == [f"{app}/a"] and summary["deleted"] == [f"{app}/b"]
    assert {p["name"] for p in store.pipelines.all(app)} == {"a", "ui-made"}

    # all or nothing: a bad second file leaves the first one's changes unwritten
    with pytest.raises(KeyError):
        d.apply_push(src, "c3", [_file("dinghyfile", app, ["c"]), {"path": "x/dinghyfile", "pipelines": []}], "dinghy")
    assert {p["name"] for p in store.pipelines.all(app)} == {"a", "ui-made"}

    # a deleted dinghyfile takes its pipelines and graph with it
    summary = d.apply_push(src, "c4", [{"path": "dinghyfile", "removed": True}], "dinghy")
    assert summary["deleted"] == [f"{app}/a"] and d.dependents(src, "module", ["m1"]) == []
    assert {p["name"] for p in store.pipelines.all(app)} == {"ui-made"}


def test_syncs_and_the_lock(store: Store) -> None:
    d = store.dinghy
    src = f"s-{uuid.uuid4().hex[:8]}"
    d.record_sync({"id": f"dinghy-{src}-1", "source": src, "commit": "1", "state": "running", "startedAt": 1})
    d.record_sync({"id": f"dinghy-{src}-1", "source": src, "commit": "1", "state": "succeeded", "startedAt": 1})
    d.record_sync({"id": f"dinghy-{src}-2", "source": src, "commit": "2", "state": "failed", "startedAt": 2})
    assert [(s["id"][-1], s["state"]) for s in d.list_syncs(src)] == [("2", "failed"), ("1", "succeeded")]

    app = f"app-{uuid.uuid4().hex[:8]}"
    saved = store.pipelines.save({"application": app, "name": "p", "locked": {"ui": True}}, "dinghy")
    with pytest.raises(ValidationError, match="locked") as err:
        refuse_locked_edit(store, {**saved, "description": "x"})
    assert err.value.field == "locked"
    refuse_locked_edit(store, {k: v for k, v in saved.items() if k != "locked"})  # unlocking passes
    refuse_locked_edit(store, {"application": app, "name": "p", "locked": {"ui": False}})
    refuse_locked_edit(store, {"application": app, "name": "new", "locked": {"ui": True}})  # nothing stored yet

"""The bakes table (Rosco's bake store, shared by every bakery worker) on SQLite, PostgreSQL and MariaDB:
the cache is the newest reusable successful bake of a key, rebakes retire, concurrent writers agree."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bakery.store import CANCELED, COMPLETED, FAILURE, RUNNING, SUCCESS, BakeRecord, BakeStore
from core.store import NotFoundError, Store, ValidationError


def record(bake_id: str, key: str = "k", created: int = 1, **fields: Any) -> BakeRecord:
    return BakeRecord(
        id=bake_id,
        key=key,
        workflow_id=f"bake-{key}",
        region="us-east-1",
        cloud_provider="aws",
        created_ms=created,
        **fields,
    )


def test_the_cache_is_the_newest_reusable_success(store: Store) -> None:
    bakes = BakeStore(store)
    assert bakes.create(record("a", created=1, package="myapp_1.0_all", base_os="xenial", base_ami="ami-0"))
    assert not bakes.create(record("a", created=5))  # ids are unique; the first one stays
    first = bakes.get("a")
    assert first is not None and first.created_ms == 1 and first.state == RUNNING and first.reusable
    assert (first.package, first.base_os, first.base_ami) == ("myapp_1.0_all", "xenial", "ami-0")  # the request
    assert bakes.cached("k") is None  # still running
    log_ref = {"host": "h1", "path": "/state/bakery/logs/a.log", "url": "/bakery/logs/us-east-1/a"}
    bakes.update("a", state=COMPLETED, result=SUCCESS, ami="ami-1", images={"us-east-1": "ami-1"}, log_ref=log_ref)
    bakes.create(record("b", created=2))
    bakes.update("b", state=COMPLETED, result=FAILURE, error="boom")
    bakes.create(record("c", created=3, state=CANCELED))
    cached = bakes.cached("k")
    assert cached is not None and cached.id == "a"  # failures and cancels are not reused
    assert (cached.ami, cached.images, cached.log_ref) == ("ami-1", {"us-east-1": "ami-1"}, log_ref)
    assert [r.id for r in bakes.for_key("k")] == ["c", "b", "a"]
    bakes.add_requester("a", "ex/1")
    bakes.add_requester("a", "ex/1")
    bakes.add_requester("a", "ex/2")
    bakes.add_requester("missing", "ex/3")  # nothing to join: ignored
    assert bakes.get("a").requested_by == ["ex/1", "ex/2"]  # type: ignore[union-attr]
    bakes.create(record("e", created=4))  # running: a rebake joins it, so it stays reusable
    assert bakes.retire("k") == 3
    assert bakes.retire("k") == 0
    assert bakes.cached("k") is None and bakes.get("a").ami == "ami-1"  # type: ignore[union-attr]  # details kept
    bakes.update("e", state=COMPLETED, result=SUCCESS)
    assert bakes.cached("k").id == "e"  # type: ignore[union-attr]
    bakes.create(record("d", key="other"))
    assert bakes.cached("other") is None and bakes.get("missing") is None and bakes.for_key("none") == []


def test_updates_name_what_they_cannot_change(store: Store) -> None:
    bakes = BakeStore(store)
    bakes.create(record("a"))
    with pytest.raises(ValueError, match="cannot update bake fields"):
        bakes.update("a", id="x")
    with pytest.raises(ValidationError, match="cannot update bake fields") as err:
        store.bakes.update("a", {"key": "other"})
    assert err.value.field == "key"
    with pytest.raises(NotFoundError, match="no bake 'nope'"):
        bakes.update("nope", state=COMPLETED)
    with pytest.raises(ValidationError, match="'region'") as err:
        store.bakes.create({"id": "x", "key": "k", "workflowId": "w", "cloudProvider": "aws"})
    assert err.value.field == "region"


def test_a_second_store_on_the_same_database_sees_the_same_bakes(store: Store) -> None:
    """What several workers on several machines share."""
    BakeStore(store).create(record("a", state=COMPLETED, result=SUCCESS, ami="ami-1"))
    other = Store(store.engine.url.render_as_string(hide_password=False))
    try:
        seen = BakeStore(other).cached("k")
        assert seen is not None and seen.ami == "ami-1"
        assert not BakeStore(other).create(record("a"))
    finally:
        other.close()


def test_concurrent_writers(store: Store) -> None:
    bakes = BakeStore(store)
    bakes.create(record("shared"))
    barrier = threading.Barrier(8)

    def join(n: int) -> bool:
        barrier.wait()
        created = bakes.create(record("same", created=n))  # createBake and run_packer storing one bake at once
        bakes.add_requester("shared", f"ex/{n}")
        bakes.create(record(f"id-{n}"))
        bakes.update(f"id-{n}", state=COMPLETED, result=SUCCESS)
        return created

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(join, range(8)))
    assert created.count(True) == 1
    assert len(bakes.for_key("k")) == 10
    assert sorted(bakes.get("shared").requested_by) == sorted(f"ex/{n}" for n in range(8))  # type: ignore[union-attr]

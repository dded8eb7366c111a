"""The answer cache of the hot listings (api/cache.py, core/store/changes.py): every kind of write moves the
scope's counter in its transaction, so two API instances on one store (two processes) never answer a stale
listing; 304 for a matching If-None-Match; Fiat still decides per caller before a cached answer is sent."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import tokens
from api.main import create_app
from core.settings import Settings
from core.store import Store
from tests.api.auth_support import auth_api, bearer

ASYNC = pytest.mark.asyncio(loop_scope="session")


@contextlib.asynccontextmanager
async def two_instances(tmp_path: Path) -> AsyncIterator[tuple[Store, httpx.AsyncClient, httpx.AsyncClient]]:
    """Two API apps (as two processes: each its own cache and store connections) on one SQLite file."""
    settings = Settings(state_dir=tmp_path)
    writer, other = Store(settings.store_url), Store(settings.store_url)
    writer.migrate()
    a = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, temporal=object(), store=writer)),
                          base_url="http://a")  # fmt: skip
    b = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, temporal=object(), store=other)),
                          base_url="http://b")  # fmt: skip
    async with a, b:
        yield writer, a, b
    writer.close()
    other.close()


def _execution(app: str, status: str = "SUCCEEDED", eid: str | None = None) -> dict[str, Any]:
    stage = {"id": "s1", "refId": "1", "type": "wait", "name": "w", "status": status, "context": {}, "tasks": []}
    return {"id": eid or str(uuid.uuid4()), "type": "PIPELINE", "application": app, "name": "p",
            "pipelineConfigId": "cfg", "status": status, "buildTime": 1, "stages": [stage]}  # fmt: skip


async def _listed(http: httpx.AsyncClient, app: str = "shop") -> list[dict[str, Any]]:
    answer = await http.get(f"/applications/{app}/pipelines", params={"limit": 25, "expand": "false"})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


@ASYNC
async def test_every_execution_write_is_seen_by_both_instances(tmp_path: Path) -> None:
    async with two_instances(tmp_path) as (store, a, b):
        first = _execution("shop", "RUNNING")
        store.executions.save(first)
        for http in (a, b):  # both cache it now
            assert [(e["id"], e["status"]) for e in await _listed(http)] == [(first["id"], "RUNNING")]
        # the engine's write (header and a stage), another application's write, a save, a delete
        done = {**first["stages"][0], "status": "SUCCEEDED"}
        store.executions.apply_update(
            {
                "id": first["id"],
                "version": 5,
                "execution": {"status": "SUCCEEDED"},
                "stages": [{"seq": 0, "stage": done}],
            }
        )
        for http in (a, b):
            listed = await _listed(http)
            assert listed[0]["status"] == "SUCCEEDED" and listed[0]["stages"][0]["status"] == "SUCCEEDED"
        store.executions.save(_execution("elsewhere"))
        assert len(await _listed(a)) == 1
        second = _execution("shop")
        store.executions.save(second)
        for http in (a, b):
            assert {e["id"] for e in await _listed(http)} == {first["id"], second["id"]}
        store.executions.delete(first["id"])
        for http in (a, b):
            assert [e["id"] for e in await _listed(http)] == [second["id"]]
        # a stage-only engine write (no header change) is seen too
        renamed = {**second["stages"][0], "name": "renamed"}
        store.executions.apply_update({"id": second["id"], "version": 9, "stages": [{"seq": 0, "stage": renamed}]})
        for http in (a, b):
            assert (await _listed(http))[0]["stages"][0]["name"] == "renamed"
        # the query is part of the key
        assert await a.get("/applications/shop/pipelines", params={"statuses": "RUNNING"}) is not None
        assert (await a.get("/applications/shop/pipelines", params={"statuses": "RUNNING"})).json() == []


@ASYNC
async def test_one_execution_is_read_fresh_by_both_instances(tmp_path: Path) -> None:
    async with two_instances(tmp_path) as (store, a, b):
        running = _execution("shop", "RUNNING")
        store.executions.save(running)
        for _ in range(3):  # the first read learns its application, the second caches it, the third is a hit
            for http in (a, b):
                assert (await http.get(f"/pipelines/{running['id']}")).json()["status"] == "RUNNING"
        done = {**running["stages"][0], "status": "SUCCEEDED"}
        update = {"id": running["id"], "version": 3, "execution": {"status": "SUCCEEDED"}}
        store.executions.apply_update({**update, "stages": [{"seq": 0, "stage": done}]})
        for http in (a, b):
            got = (await http.get(f"/pipelines/{running['id']}")).json()
            assert got["status"] == "SUCCEEDED" and got["stages"][0]["status"] == "SUCCEEDED"
        store.executions.delete(running["id"])
        for http in (a, b):
            assert (await http.get(f"/pipelines/{running['id']}")).status_code == 404


def _config(name: str, app: str = "shop") -> dict[str, Any]:
    return {"application": app, "name": name, "stages": [], "triggers": []}


async def _names(http: httpx.AsyncClient, app: str = "shop", kind: str = "pipelineConfigs") -> list[str]:
    answer = await http.get(f"/applications/{app}/{kind}")
    assert answer.status_code == 200, answer.text
    return [c["name"] for c in answer.json()]


@ASYNC
async def test_every_config_write_is_seen_by_both_instances(tmp_path: Path) -> None:
    async with two_instances(tmp_path) as (store, a, b):
        one = store.pipelines.save(_config("one"), "u")
        for http in (a, b):
            assert await _names(http) == ["one"]
        two = store.pipelines.save(_config("two"), "u")
        for http in (a, b):
            assert await _names(http) == ["one", "two"]
        store.pipelines.save({**two, "description": "changed"}, "u")  # an update in place
        assert [c.get("description") for c in (await b.get("/applications/shop/pipelineConfigs")).json()] == [
            None,
            "changed",
        ]
        store.pipelines.reorder("shop", {two["id"]: 0, one["id"]: 1})
        for http in (a, b):
            assert await _names(http) == ["two", "one"]
        store.pipelines.save({**one, "application": "other"}, "u")  # moved: both applications change
        for http in (a, b):
            assert await _names(http) == ["two"] and await _names(http, "other") == ["one"]
        store.pipelines.delete("shop", "two")
        for http in (a, b):
            assert await _names(http) == []
        assert (await a.get("/applications/other/pipelineConfigs", params={"pipelineNameFilter": "zzz"})).json() == []
        store.applications.save({"name": "other", "email": "x@example.org"}, "u")
        store.applications.delete("other", "u")  # deletes its configs in bulk
        for http in (a, b):
            assert await _names(http, "other") == []


@ASYNC
async def test_an_etag_answers_304_until_the_listing_changes(tmp_path: Path) -> None:
    async with two_instances(tmp_path) as (store, a, b):
        store.pipelines.save(_config("one"), "u")
        first = await a.get("/applications/shop/pipelineConfigs")
        etag = first.headers["etag"]
        again = await b.get("/applications/shop/pipelineConfigs", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""  # the other process agrees on the tag
        store.pipelines.save(_config("two"), "u")
        changed = await a.get("/applications/shop/pipelineConfigs", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag and len(changed.json()) == 2


@ASYNC
async def test_a_cached_listing_is_still_refused_to_a_caller_without_read(tmp_path: Path) -> None:
    async with auth_api(tmp_path, admin_roles=["admins"]) as api:
        api.store.applications.save(
            {"name": "secret", "email": "x@example.org", "permissions": {"READ": ["ops"], "WRITE": ["ops"]}}, "u"
        )
        api.store.pipelines.save(_config("hidden", "secret"), "u")
        api.store.executions.save(_execution("secret"))
        ops, _ = tokens.issue(api.store, "olive", ["ops"], expires=None, by="cli")
        dev, _ = tokens.issue(api.store, "dan", ["dev"], expires=None, by="cli")
        execution = _execution("secret")
        api.store.executions.save(execution)
        paths = (
            "/applications/secret/pipelineConfigs",
            "/applications/secret/pipelines",
            f"/pipelines/{execution['id']}",
        )
        for path in paths:
            for _ in range(3):
                assert (await api.http.get(path, headers=bearer(ops))).status_code == 200  # cached now
            assert (await api.http.get(path, headers=bearer(dev))).status_code == 403
            assert (await api.http.get(path)).status_code in (401, 403)


class _Counters:
    def __init__(self) -> None:
        self.seq, self.reads = 7, 0

    def seq_of(self, scope: str) -> int:
        self.reads += 1
        return self.seq


def _request() -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace()), headers={})


@ASYNC
async def test_requests_that_miss_together_compute_once_and_failures_are_not_kept() -> None:
    import asyncio

    from fastapi import Response

    from api import cache

    counters = _Counters()
    store = type("S", (), {"changes": type("C", (), {"seq": staticmethod(counters.seq_of)})()})()
    request, release, calls = _request(), asyncio.Event(), []

    async def slow() -> Response:
        calls.append(1)
        await release.wait()
        return Response(content=b"[1]", media_type="application/json")

    waiting = [asyncio.create_task(cache.answer(request, store, "executions:a", "k", slow)) for _ in range(5)]
    while not calls or counters.reads < 5:  # every request has read the counter; one computes
        await asyncio.sleep(0)
    for _ in range(20):  # the other four pass from the counter's read to the computation under way
        await asyncio.sleep(0)
    release.set()
    answers = await asyncio.gather(*waiting)
    assert len(calls) == 1 and {a.body for a in answers} == {b"[1]"}

    async def refused() -> Response:
        return Response(content=b"no", status_code=503)

    counters.seq = 8  # moved: computed again; a non-200 answer is passed on and not kept
    assert (await cache.answer(request, store, "executions:a", "k", refused)).status_code == 503
    assert (await cache.answer(request, store, "executions:a", "k", slow)).body == b"[1]" and len(calls) == 2


def test_the_cache_is_bounded_by_entries_and_bytes() -> None:
    from api.cache import AnswerCache

    cache = AnswerCache(max_entries=2, max_bytes=10)
    for key in ("a", "b", "c"):
        cache.put("s", key, 1, b"1234")
    assert cache.get("s", "a", 1) is None and cache.get("s", "c", 1) is not None  # the least recently used went
    cache.put("s", "d", 1, b"12345678")  # 4 + 8 > 10: "b" goes too
    assert cache.get("s", "b", 1) is None and cache.get("s", "d", 1) is not None
    cache.put("s", "huge", 1, b"x" * 11)  # bigger than the whole cache: not kept
    assert cache.get("s", "huge", 1) is None and cache.get("s", "d", 2) is None  # another number: a miss

"""GET /events: recent events from the outbox, filtered, only of applications the caller may read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from core.settings import Settings
from core.settings.auth import AuthSettings
from core.store import Store
from tests.api.permissions_world import LOCKED_PERMISSIONS, principal_from_header


@pytest_asyncio.fixture(loop_scope="session")
async def gate(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    from api.deps import get_principal
    from api.main import create_app

    settings = Settings(state_dir=tmp_path, auth=AuthSettings(enabled=True, admin_roles=["admins"]))
    store = Store(settings.store_url)
    store.migrate()
    store.applications.save({"name": "locked", "email": "a@b.c", "permissions": LOCKED_PERMISSIONS}, "setup")
    store.applications.save({"name": "free", "email": "a@b.c"}, "setup")
    for eid, app in (("L1", "locked"), ("F1", "free")):
        store.executions.save({"id": eid, "application": app, "status": "RUNNING", "stages": []})
    app = create_app(settings, temporal=object(), store=store)
    app.dependency_overrides[get_principal] = principal_from_header
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
        yield http, store
    store.close()


async def get(http: httpx.AsyncClient, role: str, **params: Any) -> httpx.Response:
    return await http.get("/events", params=params, headers={"X-Test-As": role})


async def test_events_are_listed_for_the_applications_the_caller_may_read(
    gate: tuple[httpx.AsyncClient, Store],
) -> None:
    http, _ = gate
    anonymous = (await get(http, "anonymous")).json()
    assert [e["content"]["executionId"] for e in anonymous] == ["F1"]
    reader = (await get(http, "reader")).json()
    assert [e["content"]["executionId"] for e in reader] == ["L1", "F1"]
    assert (await get(http, "anonymous", application="locked")).status_code == 403
    assert [e["details"]["application"] for e in (await get(http, "reader", application="locked")).json()] == ["locked"]


async def test_filters_cursor_and_bad_input(gate: tuple[httpx.AsyncClient, Store]) -> None:
    http, store = gate
    first = (await get(http, "admin")).json()[0]["seq"]
    answer = await get(http, "admin", since=first)
    assert [e["content"]["executionId"] for e in answer.json()] == ["F1"]
    assert answer.headers["X-Events-Cursor"] == str(answer.json()[-1]["seq"])
    assert (await get(http, "admin", executionId="L1")).json()[0]["content"]["executionId"] == "L1"
    assert (await get(http, "admin", type="orca:stage:starting")).json() == []
    store.events.append([{"details": {"type": "git", "source": "github"}, "content": {}, "eventId": "g"}])
    assert [e["eventId"] for e in (await get(http, "admin", type="git")).json()] == ["g"]
    assert [e["eventId"] for e in (await get(http, "admin", limit=1)).json()] == ["g"]
    bad = await get(http, "admin", limit=0)
    assert bad.status_code == 400 and "limit" in bad.text
    assert (await get(http, "admin", since=-1)).status_code == 400

"""The PATCH route hands the judge's identity (name, roles, admin) to the engine's judgment check."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.deps import get_principal
from core.auth.principal import Principal
from core.settings import Settings
from tests.conftest import build_worker_with, stage_named
from workflows import operations
from workflows.authorization import authentication

pytestmark = pytest.mark.temporal


CONFIG = {
    "application": "demo",
    "name": "judged",
    "stages": [{"refId": "1", "type": "manualJudgment", "name": "judge", "selectedStageRoles": ["release"]}],
}


async def _judgment_url(http: httpx.AsyncClient, execution_id: str) -> str:
    """The judgment stage's PATCH URL once Gate shows its tasks (a stage's first write may be held up to 1 s:
    workflows/projection.py), within 30 s."""
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        body = (await http.get(f"/pipelines/{execution_id}")).json()
        if stage_named(body, "judge").get("tasks"):
            return f"/pipelines/{execution_id}/stages/{stage_named(body, 'judge')['id']}"
        await asyncio.sleep(0.05)
    raise AssertionError("the judgment stage never started")


async def test_the_patch_route_judges_as_the_caller(client: Any, tmp_path: Path) -> None:
    from api.main import create_app
    from core.store import Store

    settings = Settings(state_dir=tmp_path, task_queue=f"authz-api-{uuid.uuid4()}", auth={"enabled": True})
    store = Store(settings.store_url)
    store.migrate()
    store.applications.save({"name": "demo"}, "ann")  # no permissions: open to every caller
    caller = {"now": Principal("eve", frozenset({"dev"}), authenticated=True, via="token")}
    async with build_worker_with(client, settings, store):
        app = create_app(settings, temporal=client, store=store)
        app.dependency_overrides[get_principal] = lambda: caller["now"]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
            execution_id = await operations.start_pipeline(
                client,
                CONFIG,
                task_queue=settings.task_queue,
                authentication=authentication("ann", [], enforced=True),
            )
            url = await _judgment_url(http, execution_id)
            refused = await http.patch(url, json={"judgmentStatus": "continue"})
            assert refused.status_code == 409, refused.text
            assert "user eve may not judge" in refused.json()["message"]
            caller["now"] = Principal("rel", frozenset({"release", "ops"}), authenticated=True, via="token")
            judged = await http.patch(url, json={"judgmentStatus": "continue"})
            assert judged.status_code == 200, judged.text
            done = await operations.wait_for_execution(client, execution_id)
            assert done["status"] == "SUCCEEDED"
            assert stage_named(done, "judge")["lastModified"]["user"] == "rel"
    store.close()


async def test_with_auth_off_judgment_roles_bind_no_one(client: Any, tmp_path: Path) -> None:
    """Without Fiat nobody holds roles, so Orca lets anyone judge a stage that names some; so do we."""
    from api.main import create_app
    from core.store import Store

    settings = Settings(state_dir=tmp_path, task_queue=f"authz-api-off-{uuid.uuid4()}")
    store = Store(settings.store_url)
    store.migrate()
    async with build_worker_with(client, settings, store):
        app = create_app(settings, temporal=client, store=store)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
            execution_id = await operations.start_pipeline(client, CONFIG, task_queue=settings.task_queue)
            judged = await http.patch(await _judgment_url(http, execution_id), json={"judgmentStatus": "continue"})
            assert judged.status_code == 200, judged.text
            done = await operations.wait_for_execution(client, execution_id)
            assert done["status"] == "SUCCEEDED"
            assert stage_named(done, "judge")["lastModified"]["user"] == "anonymous"
    store.close()

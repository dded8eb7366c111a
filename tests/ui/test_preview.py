"""POST /applications/{app}/pipelineConfigs/{name}/preview: a pipeline's expressions evaluated with the trigger a
manual start would get, nothing started (the Start Manual Execution form's Preview)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from core.settings import Settings
from core.settings.auth import AuthSettings
from core.store import Store
from tests.api.permissions_world import LOCKED_PERMISSIONS, principal_from_header

CONFIG = {
    "application": "shop",
    "name": "release",
    "parameterConfig": [
        {"name": "version", "required": True},
        {"name": "region", "default": "eu", "hasOptions": True, "options": [{"value": "us"}, {"value": "eu"}]},
    ],
    "triggers": [{"type": "jenkins", "master": "ci", "job": "build-shop", "enabled": True}],
    "stages": [
        {"refId": "1", "type": "wait", "name": "Soak", "waitTime": "${parameters.region == 'eu' ? 5 : 1}"},
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "evaluateVariables",
            "name": "Name",
            "variables": [{"key": "image", "value": "shop:${parameters.version}-${trigger.buildNumber}"}],
            "later": "${#stage('Soak').outputs.nothing.here}",
        },
    ],
}


@pytest_asyncio.fixture(loop_scope="session")
async def gate(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    from api.deps import get_principal
    from api.main import create_app

    settings = Settings(state_dir=tmp_path, auth=AuthSettings(enabled=True, admin_roles=["admins"]))
    store = Store(settings.store_url)
    store.migrate()
    store.applications.save({"name": "shop", "email": "a@b.c"}, "setup")
    store.applications.save({"name": "locked", "email": "a@b.c", "permissions": LOCKED_PERMISSIONS}, "setup")
    store.pipelines.save(dict(CONFIG), "setup")
    store.pipelines.save({"application": "locked", "name": "p", "stages": []}, "setup")
    app = create_app(settings, temporal=object(), store=store)
    app.dependency_overrides[get_principal] = principal_from_header
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
        yield http, store
    store.close()


URL = "/applications/shop/pipelineConfigs/release/preview"


async def test_the_preview_evaluates_each_stage_with_the_trigger_and_parameters(
    gate: tuple[httpx.AsyncClient, Store],
) -> None:
    http, store = gate
    body = {"type": "manual", "master": "ci", "job": "build-shop", "buildNumber": 42, "parameters": {"version": "1.4"}}
    answer = await http.post(URL, json=body, headers={"X-Test-As": "admin"})
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["trigger"]["parameters"] == {"version": "1.4", "region": "eu"}  # the default applied
    assert got["trigger"]["buildNumber"] == 42 and got["trigger"]["type"] == "manual"
    soak, name = got["stages"]
    assert (soak["refId"], soak["context"]["waitTime"]) == ("1", 5)
    assert name["context"]["variables"] == [{"key": "image", "value": "shop:1.4-42"}]
    # upstream outputs do not exist before the run: reported in detail, kept as written
    assert name["context"]["later"] == "${#stage('Soak').outputs.nothing.here}"
    assert "later" in str(name["detail"])
    assert "waitTime" not in str(soak.get("detail") or {})


async def test_the_preview_refuses_what_a_start_refuses(gate: tuple[httpx.AsyncClient, Store]) -> None:
    http, _ = gate
    missing = await http.post(URL, json={"parameters": {}}, headers={"X-Test-As": "admin"})
    assert missing.status_code == 400 and "version" in missing.json()["message"]
    option = await http.post(
        URL, json={"parameters": {"version": "1", "region": "mars"}}, headers={"X-Test-As": "admin"}
    )
    assert option.status_code == 400 and "region" in option.json()["message"]
    unknown = await http.post(
        "/applications/shop/pipelineConfigs/nope/preview", json={}, headers={"X-Test-As": "admin"}
    )
    assert unknown.status_code == 404
    refused = await http.post(
        "/applications/locked/pipelineConfigs/p/preview", json={}, headers={"X-Test-As": "anonymous"}
    )
    assert refused.status_code == 403
    bad = await http.post(URL, json=[1], headers={"X-Test-As": "admin"})
    assert bad.status_code == 400

"""A Gate with Fiat on: applications, accounts, a pipeline, executions and cache entries with permissions, and
six callers chosen per request by the ``X-Test-As`` header (a test-only override of ``get_principal``)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request

from core.auth.principal import Principal
from core.settings import Settings
from core.settings.auth import AuthSettings

PRINCIPALS = {
    "anonymous": Principal(),
    "reader": Principal("rita", frozenset({"readers"}), authenticated=True, via="token"),
    "writer": Principal("wes", frozenset({"writers"}), authenticated=True, via="token"),
    "executor": Principal("eve", frozenset({"executors"}), authenticated=True, via="oidc"),
    "admin": Principal("ada", frozenset({"admins"}), admin=True, authenticated=True, via="proxy"),
    "service": Principal("deployer", frozenset({"deployers"}), authenticated=True, via="service_account"),
}
ROLES = tuple(PRINCIPALS)
LOCKED_PERMISSIONS = {
    "READ": ["readers", "writers", "executors", "deployers"],
    "WRITE": ["writers"],
    "EXECUTE": ["executors", "deployers"],
}
ACCOUNTS: list[dict[str, Any]] = [
    {
        "name": "prod",
        "type": "aws",
        "secretKey": "hush",
        "regions": ["us-east-1"],
        "permissions": {"READ": ["readers", "writers", "executors", "deployers"], "WRITE": ["writers"]},
    },
    {
        "name": "vault",
        "type": "aws",
        "secretKey": "hush",
        "regions": ["us-east-1"],
        "permissions": {"READ": ["admins"], "WRITE": ["admins"]},
    },
    {"name": "open", "type": "aws", "secretKey": "hush", "regions": ["us-east-1"]},
]
WAIT = [{"refId": "1", "type": "wait", "name": "Wait", "waitTime": 0}]


def principal_from_header(request: Request) -> Principal:
    return PRINCIPALS[request.headers.get("x-test-as", "anonymous")]


@dataclass
class World:
    http: httpx.AsyncClient
    store: Any
    settings: Settings
    app: Any
    ids: dict[str, str] = field(default_factory=dict)

    async def call(self, role: str, method: str, path: str, body: Any = None) -> httpx.Response:
        kwargs: dict[str, Any] = {"headers": {"X-Test-As": role}}
        if body is not None:
            kwargs["json"] = body
        return await self.http.request(method, path, **kwargs)

    def finished_execution(self, application: str = "locked") -> str:
        """A finished pipeline execution of ``application`` in the store (what reads and deletes find)."""
        from api.routes.applications import _finished_stage, _record_orchestration

        now = int(time.time() * 1000)
        stage = _finished_stage(0, {"type": "wait"}, now, {}, "WaitTask")
        stage["id"] = "s1"
        execution = _record_orchestration(self.store, application, "a finished one", "someone", now, [stage])
        return str(execution["id"])

    def pipeline(self, application: str = "locked", name: str | None = None, **extra: Any) -> dict[str, Any]:
        doc = {"application": application, "name": name or f"p-{uuid.uuid4().hex[:8]}", "stages": WAIT, **extra}
        return self.store.pipelines.save(doc, "setup")  # type: ignore[no-any-return]


def _group(account: str, app: str) -> dict[str, Any]:
    return {
        "name": f"{app}-v000",
        "region": "us-east-1",
        "account": account,
        "cluster": app,
        "type": "aws",
        "cloudProvider": "aws",
        "moniker": {"app": app, "cluster": app},
        "instances": [{"id": f"i-{app}-{account}"}],
        "loadBalancers": [f"{app}-lb"],
    }


def populate(world: World) -> None:
    store = world.store
    store.applications.save({"name": "locked", "email": "a@b.c", "permissions": LOCKED_PERMISSIONS}, "setup")
    store.applications.save({"name": "free", "email": "a@b.c"}, "setup")
    store.service_accounts.save({"name": "deployer", "memberOf": ["deployers"]})
    world.ids["pipeline"] = world.pipeline(name="deploy")["id"]
    world.ids["free_pipeline"] = world.pipeline("free", name="deploy")["id"]
    world.ids["execution"] = world.finished_execution()
    world.ids["free_execution"] = world.finished_execution("free")
    for account, app in (("prod", "locked"), ("vault", "free"), ("open", "free")):
        store.cloud_cache.replace("aws", account, "serverGroups", [_group(account, app)])
        lb = {"name": f"{app}-lb", "region": "us-east-1", "account": account, "moniker": {"app": app}}
        store.cloud_cache.replace("aws", account, "loadBalancers", [lb])


@contextlib.asynccontextmanager
async def serve_world(client: Any, tmp_path: Path, **auth: Any) -> AsyncIterator[World]:
    from api.deps import get_principal
    from api.main import create_app
    from core.store import Store
    from tests.conftest import build_worker_with

    settings = Settings(
        state_dir=tmp_path,
        task_queue=f"authz-{uuid.uuid4()}",
        accounts=ACCOUNTS,
        auth=AuthSettings(**{"enabled": True, "admin_roles": ["admins"], **auth}),
    )
    store = Store(settings.store_url)
    store.migrate()
    async with build_worker_with(client, settings, store):
        app = create_app(settings, temporal=client, store=store)
        app.dependency_overrides[get_principal] = principal_from_header
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gate") as http:
            world = World(http, store, settings, app)
            populate(world)
            yield world
    store.close()

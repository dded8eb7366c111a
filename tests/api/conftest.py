"""The API end to end: the FastAPI app over HTTP (in-process transport), a real Temporal dev server,
a worker whose activities write to the same store, and the store on a SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from core.settings import Settings


class Api:
    def __init__(self, http: httpx.AsyncClient, store: Any, settings: Settings) -> None:
        self.http = http
        self.store = store
        self.settings = settings

    async def wait_for(self, execution_id: str, check: Any, timeout: float = 30) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        body: dict[str, Any] = {}
        while asyncio.get_running_loop().time() < deadline:
            response = await self.http.get(f"/pipelines/{execution_id}")
            if response.status_code == 200:
                body = response.json()
                if check(body):
                    return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"condition not reached: {body}")

    async def finished(self, execution_id: str) -> dict[str, Any]:
        done = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE", "SKIPPED"}
        return await self.wait_for(execution_id, lambda e: e["status"] in done)


@pytest_asyncio.fixture(loop_scope="session")
async def api(client: Any, tmp_path: Path) -> AsyncIterator[Api]:
    async with serve_api(client, tmp_path) as served:
        yield served


@contextlib.asynccontextmanager
async def serve_api(client: Any, tmp_path: Path, **settings: Any) -> AsyncIterator[Api]:
    """The API (in-process), a worker and a store, on settings a test may add to."""
    from activities.notification_events import start_notifications
    from api.main import create_app
    from core.store import Store
    from tests.conftest import build_worker_with

    settings = Settings(
        **{
            "state_dir": tmp_path,
            "task_queue": f"api-{uuid.uuid4()}",
            "accounts": [{"name": "prod", "type": "aws", "secretKey": "hush", "regions": ["us-east-1"]}],
            **settings,
        }
    )
    store = Store(settings.store_url)
    store.migrate()
    async with build_worker_with(client, settings, store):
        await start_notifications(client, settings, store, versioned=False)  # as worker.py does (unversioned)
        app = create_app(settings, temporal=client, store=store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gate") as http:
            yield Api(http, store, settings)
    store.close()


# AWS (moto's server) for the infrastructure reads
from tests.providers.aws_fixtures import aws_account, aws_world, moto_clients, moto_endpoint  # noqa: E402, F401

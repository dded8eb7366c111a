"""Temporal down under a running API: what needs Temporal is a 503 in Gate's error body with Retry-After (the
client tries again, as after any outage), never a 500; what the store answers goes on being answered."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.errors import RETRY_AFTER_S
from core.errors import temporal_unreachable


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_start_without_temporal_is_a_503_and_reads_go_on(tmp_path: Path) -> None:
    from api.main import create_app
    from core.settings import Settings
    from core.store import Store

    settings = Settings(state_dir=tmp_path)
    store = Store(settings.store_url)
    store.migrate()
    # a lazily connected client reaches for its server at the first call: as after Temporal went away
    temporal = await Client.connect(f"127.0.0.1:{_closed_port()}", lazy=True)
    try:
        app = create_app(settings, temporal=temporal, store=store)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
            config = {"application": "calm", "name": "deploy", "stages": [{"refId": "1", "type": "wait"}]}
            assert (await http.post("/pipelines", json=config)).status_code == 200
            started = await http.post("/pipelines/calm/deploy", json={"type": "manual"})
            listed = await http.get("/applications/calm/pipelineConfigs")
    finally:
        store.close()
    assert started.status_code == 503, started.text
    assert started.headers["Retry-After"] == str(RETRY_AFTER_S)
    body = started.json()
    assert body["message"] == "Temporal could not be reached; try again" and body["path"] == "/pipelines/calm/deploy"
    assert listed.status_code == 200 and [p["name"] for p in listed.json()] == ["deploy"]


@pytest.mark.parametrize(
    ("err", "unreachable"),
    [
        (RPCError("no server", RPCStatusCode.UNAVAILABLE, b""), True),
        (RPCError("too slow", RPCStatusCode.DEADLINE_EXCEEDED, b""), True),
        (RPCError("no such workflow", RPCStatusCode.NOT_FOUND, b""), False),
        (RuntimeError("Failed client connect: Server connection error"), True),
        (RuntimeError("something else"), False),
        (ValueError("Failed client connect"), False),
    ],
)
def test_what_counts_as_temporal_unreachable(err: BaseException, unreachable: bool) -> None:
    assert temporal_unreachable(err) is unreachable


@pytest.mark.temporal
async def test_the_api_starts_without_temporal_and_reconciles_once_it_is_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Temporal down when the API starts: the API starts anyway (it used to exit), serves the store's answers, and
    its start-up reconciliation of the cron Schedules runs once Temporal answers."""
    import asyncio
    import logging
    from datetime import timedelta

    from temporalio.testing import WorkflowEnvironment

    import api.main
    from core.settings import Settings
    from tests.conftest import venv_bin
    from workflows import search

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(api.main, "PROBE_FIRST_S", 0.05)
    monkeypatch.setattr(api.main, "PROBE_LONGEST_S", 0.2)
    port = _closed_port()
    settings = Settings(state_dir=tmp_path, temporal={"address": f"127.0.0.1:{port}"}, task_queue="temporal-down")
    app = api.main.create_app(settings)
    server = None
    try:
        async with app.router.lifespan_context(app):
            assert "the API serves what the store answers and connects when Temporal is back" in caplog.text
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
                config = {
                    "application": "late",
                    "name": "nightly",
                    "stages": [{"refId": "1", "type": "wait"}],
                    "triggers": [{"type": "cron", "cronExpression": "0 0 3 * * ?", "enabled": True}],
                }
                assert (await http.post("/pipelines", json=config)).status_code == 200
                assert (await http.post("/pipelines/late/nightly", json={})).status_code == 503
            assert "cron schedules reconciled" not in caplog.text
            server = await WorkflowEnvironment.start_local(
                dev_server_existing_path=venv_bin("temporal"),
                port=port,
                search_attributes=list(search.ALL),
                dev_server_startup_timeout=timedelta(seconds=30),
            )
            for _ in range(300):
                if "cron schedules reconciled" in caplog.text:
                    break
                await asyncio.sleep(0.1)
            assert "cron schedules reconciled: {'kept': 1, 'deleted': 0}" in caplog.text  # the nightly trigger's
    finally:
        if server is not None:
            await server.shutdown()

"""Temporal down under a running API: what needs Temporal is a 503 in Gate's error body with Retry-After (the
client tries again, as after any outage), never a 500; what the store answers goes on being answered."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.errors import RETRY_AFTER_S, temporal_unreachable


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

"""GET /events/stream: an application's transitions from Echo's outbox as server-sent events (Fiat applies)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.routes import ui_stream
from core.settings import Settings
from core.settings.auth import AuthSettings
from core.store import Store
from tests.api.permissions_world import LOCKED_PERMISSIONS, principal_from_header


@pytest_asyncio.fixture(loop_scope="session")
async def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    from api.deps import get_principal
    from api.main import create_app

    monkeypatch.setattr(ui_stream, "LIFETIME_S", 0.6)  # a stream ends (the browser would reconnect) within the test
    monkeypatch.setattr(ui_stream, "TICK_S", 0.05)
    settings = Settings(state_dir=tmp_path, auth=AuthSettings(enabled=True, admin_roles=["admins"]))
    store = Store(settings.store_url)
    store.migrate()
    store.applications.save({"name": "locked", "email": "a@b.c", "permissions": LOCKED_PERMISSIONS}, "setup")
    store.applications.save({"name": "free", "email": "a@b.c"}, "setup")
    app = create_app(settings, temporal=object(), store=store)
    app.dependency_overrides[get_principal] = principal_from_header
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
        yield http, store
    store.close()


def frames(text: str) -> list[tuple[int, dict[str, Any]]]:
    found = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if lines.get("event") == "execution":
            found.append((int(lines["id"]), json.loads(lines["data"])))
    return found


def run(store: Store, eid: str, app: str) -> None:
    """An execution that starts and succeeds: its header's transitions land in the outbox."""
    for status in ("RUNNING", "SUCCEEDED"):
        store.executions.save({"id": eid, "application": app, "name": "p", "status": status, "stages": []})


async def test_the_stream_carries_one_applications_transitions_in_order(gate: tuple[httpx.AsyncClient, Store]) -> None:
    http, store = gate
    run(store, "F1", "free")
    run(store, "L1", "locked")
    run(store, "F2", "free")
    answer = await http.get(
        "/events/stream", params={"application": "free", "since": 0}, headers={"X-Test-As": "anonymous"}
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    assert answer.text.startswith(f"retry: {ui_stream.RETRY_MS}\n")
    got = frames(answer.text)
    assert [(d["executionId"], d["type"]) for _, d in got] == [
        ("F1", "orca:pipeline:starting"),
        ("F1", "orca:pipeline:complete"),
        ("F2", "orca:pipeline:starting"),
        ("F2", "orca:pipeline:complete"),
    ]
    assert [seq for seq, _ in got] == sorted(seq for seq, _ in got)
    assert set(got[0][1]) == {"type", "application", "executionId", "pipelineConfigId", "stageId", "status"}

    # a reconnect resumes after the browser's Last-Event-ID; executionId narrows the stream
    resumed = await http.get(
        "/events/stream",
        params={"application": "free"},
        headers={"X-Test-As": "anonymous", "Last-Event-ID": str(got[1][0])},
    )
    assert [d["executionId"] for _, d in frames(resumed.text)] == ["F2", "F2"]
    one = await http.get("/events/stream", params={"application": "free", "since": 0, "executionId": "F1"})
    assert {d["executionId"] for _, d in frames(one.text)} == {"F1"}


async def test_a_stream_starts_at_now_without_a_cursor(gate: tuple[httpx.AsyncClient, Store]) -> None:
    http, store = gate
    run(store, "OLD", "free")
    answer = await http.get("/events/stream", params={"application": "free"})
    assert frames(answer.text) == []


async def test_permissions_and_bad_input(gate: tuple[httpx.AsyncClient, Store]) -> None:
    http, _ = gate
    refused = await http.get("/events/stream", params={"application": "locked"}, headers={"X-Test-As": "anonymous"})
    assert refused.status_code == 403
    allowed = await http.get("/events/stream", params={"application": "locked"}, headers={"X-Test-As": "reader"})
    assert allowed.status_code == 200
    blank = await http.get("/events/stream", params={"application": " "})
    assert blank.status_code == 400 and "application" in blank.json()["message"]
    bad_id = await http.get("/events/stream", params={"application": "free"}, headers={"Last-Event-ID": "x"})
    assert bad_id.status_code == 400 and "Last-Event-ID" in bad_id.json()["message"]
    assert (await http.get("/events/stream")).status_code == 400
    missing = await http.get("/events/stream", params={"application": "nosuchapp"}, headers={"X-Test-As": "admin"})
    assert missing.status_code == 404


async def test_a_quiet_stream_reads_only_its_application_and_moves_its_cursor(
    gate: tuple[httpx.AsyncClient, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import insert

    from core.store.events import OUTBOX, now_ms

    http, store = gate
    monkeypatch.setattr(ui_stream, "KEEPALIVE_S", 0.1)
    monkeypatch.setattr(store.events, "after", lambda *a, **k: pytest.fail("the stream read every application"))
    settled = store.events.head() + 1  # another application's event, older than the gap grace
    body = json.dumps({"details": {"type": "t", "application": "locked"}, "content": {}, "eventId": "old"})
    with store.engine.begin() as conn:
        conn.execute(
            insert(OUTBOX).values(
                seq=settled, event_id="old", type="t", application="locked", created_at=now_ms() - 60_000, body=body
            )
        )
    answer = await http.get("/events/stream", params={"application": "free", "since": 0})
    assert frames(answer.text) == []
    # nothing of free's to send: the browser's Last-Event-ID moves past the settled events (an id without data)
    assert f"\nid: {settled}\n\n" in answer.text


async def test_a_change_without_an_echo_event_sends_one_changed_message(gate: tuple[httpx.AsyncClient, Store]) -> None:
    """A pause writes the execution (its application's change counter moves) but no Echo event: the stream says
    "changed" (no id: the browser's cursor stays) so a page shows it without a reload; a quiet tick sends nothing."""
    import asyncio

    http, store = gate
    store.executions.save({"id": "P1", "application": "free", "name": "p", "status": "RUNNING", "stages": []})
    events_before = store.events.head()

    async def pause_later() -> None:
        await asyncio.sleep(0.25)
        await asyncio.to_thread(
            store.executions.save, {"id": "P1", "application": "free", "name": "p", "status": "PAUSED", "stages": []}
        )

    answer, _ = await asyncio.gather(
        http.get("/events/stream", params={"application": "free"}, headers={"X-Test-As": "anonymous"}), pause_later()
    )
    assert store.events.head() == events_before  # the pause wrote no Echo event
    blocks = [b for b in answer.text.split("\n\n") if "event: execution" in b]
    assert len(blocks) == 1, answer.text
    lines = dict(line.split(": ", 1) for line in blocks[0].splitlines())
    assert "id" not in lines
    assert json.loads(lines["data"]) == {"type": "changed", "application": "free", "executionId": None}

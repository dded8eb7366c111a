"""``GET /events/stream``: the executions' transitions of one application as server-sent events, for Deck's
live pages (docs/ui.md, "Live").

The stream tails Echo's outbox (``core/store/events.py``) from a cursor: the projection writes an event in the same
transaction as each transition it records, so the page learns of every change in order without asking for every
execution again. One read of the application's events per connection every :data:`TICK_S`, filtered in SQL through
the outbox's ``(application, seq)`` index (``EventOutbox.for_application``), so a quiet application costs one empty
index probe; the read stops before a sequence gap that may still fill, so a slow transaction's event is not skipped.

Changes that are no Echo event (a pause, a resume, a task's progress, a judgment's input) move the application's
change counter (``core/store/changes.py``) without writing the outbox: a tick that finds no event but a moved
counter sends one ``changed`` message (no ``id``, so the cursor stays), and the page reads what it shows again.

Each message is small: ``id`` is the outbox sequence (``EventSource`` resends it as ``Last-Event-ID`` when it
reconnects, so nothing is lost across a reconnect), ``data`` names the event type, the execution and the stage; the
page then reads the one execution that changed. A stream ends after :data:`LIFETIME_S` (the browser reconnects at
once, ``retry``), so a stopping API is never held open by a page left open.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from core.errors import ApiError
from core.store.changes import executions_scope

from ..auth.enforce import READ, GuardDep
from ..deps import StoreDep

router = APIRouter(tags=["events"])

#: how often a stream reads the outbox (a change shows within this plus the page's one read)
TICK_S = 0.25
#: a stream's length before the browser reconnects from its last id
LIFETIME_S = 30.0
#: a comment line this often keeps proxies from closing an idle stream
KEEPALIVE_S = 10.0
#: the browser waits this long before reconnecting (EventSource's ``retry``)
RETRY_MS = 300
PAGE = 500


def message(event: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of an outbox event: its type, the execution, the stage (no context, no trigger)."""
    details = event.get("details") or {}
    content = event.get("content") or {}
    execution = content.get("execution") or {}
    return {
        "type": details.get("type"),
        "application": details.get("application"),
        "executionId": content.get("executionId") or execution.get("id"),
        "pipelineConfigId": execution.get("pipelineConfigId"),
        "stageId": content.get("stageId"),
        "status": execution.get("status"),
    }


def _frame(seq: int, data: dict[str, Any]) -> str:
    return f"id: {seq}\nevent: execution\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _start(since: int | None, last_event_id: str | None, head: int) -> int:
    """The cursor to tail from: the browser's ``Last-Event-ID`` on a reconnect, else ``since``, else now."""
    if last_event_id is not None:
        try:
            return max(0, int(last_event_id))
        except ValueError:
            raise ApiError(400, "'Last-Event-ID' must be an outbox sequence number") from None
    return head if since is None else since


async def _tail(
    request: Request, store: Any, application: str, execution_id: str | None, cursor: int
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n: cursor {cursor}\n\n"
    started = last_sent = time.monotonic()
    scope = executions_scope(application)
    seen = await asyncio.to_thread(store.changes.seq, scope)

    def read(after: int) -> tuple[int, list[dict[str, Any]]]:
        # the counter first: an event committed in between is sent now and costs one extra "changed" later at most
        moved = store.changes.seq(scope)
        # filtered in SQL through the (application, seq) index: a quiet application's tick finds nothing, cheaply
        return moved, store.events.for_application(application, after, execution_id=execution_id, limit=PAGE)

    while time.monotonic() - started < LIFETIME_S and not await request.is_disconnected():
        moved, events = await asyncio.to_thread(read, cursor)
        for event in events:
            cursor = int(event["seq"])
            yield _frame(cursor, message(event))
            last_sent = time.monotonic()
        if not events and moved != seen:
            changed = {"type": "changed", "application": application, "executionId": execution_id}
            yield f"event: execution\ndata: {json.dumps(changed, separators=(',', ':'))}\n\n"
            last_sent = time.monotonic()
        seen = moved
        if len(events) == PAGE:
            continue
        if time.monotonic() - last_sent > KEEPALIVE_S:
            # nothing to send: move the browser's Last-Event-ID past the other applications' settled events (an
            # id without data sets it, EventSource dispatches nothing), so a reconnect does not start far behind
            settled = await asyncio.to_thread(store.events.settled)
            cursor = max(cursor, settled)
            yield f"id: {cursor}\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(TICK_S)


@router.get(
    "/events/stream",
    responses={
        200: {"description": "server-sent events", "content": {"text/event-stream": {"schema": {"type": "string"}}}}
    },
)
async def stream_events(
    request: Request,
    store: StoreDep,
    guard: GuardDep,
    application: str,
    executionId: str | None = None,  # noqa: N803 - Gate's spelling
    since: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """The application's transitions as ``text/event-stream`` (READ on the application, else 403; 404 for an
    application that does not exist)."""
    if not application.strip():
        raise ApiError(400, "'application' must not be blank")
    await guard.app(application, READ)
    # an application that does not exist has no transitions to follow: say so now rather than stream nothing
    await asyncio.to_thread(store.applications.get, application)
    head = await asyncio.to_thread(store.events.head)
    cursor = _start(since, last_event_id, head)
    return StreamingResponse(
        _tail(request, store, application, executionId, cursor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

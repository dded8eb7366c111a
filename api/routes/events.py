"""``GET /events``: Echo's recent events from the outbox, for people (``gennaker events tail``) and the UI.

Filters: ``type`` (repeatable), ``application``, ``executionId``, ``since`` (a sequence number: the events after
it, oldest first) and ``limit``; without ``since`` the newest ``limit`` events. Only events of applications the
caller may READ are returned (Fiat); the header ``X-Events-Cursor`` is the last sequence number looked at, so a
follower advances past events it may not see. The operator's ``auth.secret_fields`` are replaced in what the
events carry (core/redaction.py).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from core.errors import ApiError
from core.redaction import redact_event

from ..auth.enforce import READ, GuardDep
from ..deps import SettingsDep, StoreDep

router = APIRouter(tags=["events"])


@router.get("/events")
async def list_events(
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    response: Response,
    type: Annotated[list[str] | None, Query()] = None,  # noqa: A002 - Echo's name for it
    application: str | None = None,
    executionId: str | None = None,  # noqa: N803 - Gate's spelling
    since: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    if application is not None and not application.strip():
        raise ApiError(400, "'application' must not be blank")
    if application is not None:
        await guard.app(application, READ)
    events = await asyncio.to_thread(
        store.events.recent,
        types=type or None,
        applications=[application] if application else None,
        execution_id=executionId,
        since=since,
        limit=limit,
    )
    if events:
        response.headers["X-Events-Cursor"] = str(events[-1]["seq"])
    elif since is not None:
        response.headers["X-Events-Cursor"] = str(since)
    kept = await guard.keep_apps(events, key=lambda e: (e.get("details") or {}).get("application"))
    fields = list(settings.auth.secret_fields)
    return [redact_event(e, fields) for e in kept] if fields else kept

"""Reading executions: the store's copy, brought up to date from Temporal while they run.

The pipeline workflow writes its execution to the store when it starts and when it ends. A finished
execution is read from the store alone (fast, and still there after Temporal's retention); one
still running is read live from its workflow, so stage and task statuses are current.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import Response

from workflows import operations
from workflows.execution import strip_execution as strip
from workflows.status import COMPLETED

Json = dict[str, Any]
FINISHED = {s.value for s in COMPLETED}


async def get(client: Any, store: Any, execution_id: str, *, expand: bool = True) -> Json:
    from api.store import ExecutionDeletedError, NotFoundError

    stored: Json | None
    try:
        stored = await asyncio.to_thread(store.get_execution, execution_id)
    except ExecutionDeletedError:
        raise  # Temporal may still hold its workflow for a while; deleted means gone
    except NotFoundError:
        stored = None
    if stored is not None and stored.get("status") in FINISHED:
        return stored if expand else strip(stored)
    try:
        return await operations.get_execution(client, execution_id, expand=expand)
    except operations.ExecutionNotFoundError:
        if stored is None:
            raise
        return stored if expand else strip(stored)


async def refresh(client: Any, executions: list[Json], *, expand: bool) -> list[Json]:
    """Replace the running ones with their live state (the finished ones are final already)."""

    async def one(execution: Json) -> Json:
        if execution.get("status") in FINISHED:
            return execution if expand else strip(execution)
        try:
            return await operations.get_execution(client, execution["id"], expand=expand)
        except Exception:  # noqa: BLE001 - not queryable right now: the stored copy is the best there is
            return execution if expand else strip(execution)

    return list(await asyncio.gather(*(one(e) for e in executions)))


async def listing(client: Any, rows: list[tuple[str, str]], *, expand: bool) -> Response:
    """A listing from the store's ``(status, JSON text)`` rows: finished executions go out as stored,
    without being decoded and encoded again; running ones are read live."""
    parts: list[str] = []
    live: dict[int, Any] = {}
    for i, (status, text) in enumerate(rows):
        if status in FINISHED:
            parts.append(text)
        else:
            parts.append("")
            live[i] = json.loads(text)
    if live:
        fresh = await refresh(client, list(live.values()), expand=expand)
        for i, execution in zip(live, fresh, strict=True):
            parts[i] = json.dumps(execution, separators=(",", ":"))
    return Response(content="[" + ",".join(parts) + "]", media_type="application/json")


def json_list(items: list[Json]) -> Response:
    """A list of executions as the response itself: they are JSON already, so FastAPI need not validate
    and re-encode hundreds of them (the listing is Deck's most frequent call)."""
    return Response(content=json.dumps(items, separators=(",", ":")), media_type="application/json")

"""Reading executions: from the store's projection only.

The workflows write every execution to the store at each stage and task transition (conditionally on versions,
see docs/store.md), so the store is as current as a query to the workflow would be, and it answers while every
worker is down. Gate's reads therefore never query a workflow; no live overlay is added (a query costs a workflow
task on a worker and would make a read wait on it). The one exception is an execution started a moment ago whose
first write has not landed yet: Temporal is asked (``describe``, answered by the server, not a worker) whether it
exists, the store is given a short while, and failing that the execution is shown as its start input describes it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from fastapi import Response

from core.redaction import redact_execution, redact_execution_text
from core.status import COMPLETED
from workflows import operations
from workflows.execution import strip_execution as strip

Json = dict[str, Any]
FINISHED = {s.value for s in COMPLETED}
FIRST_WRITE_WAIT = 2.0  # seconds a just-started execution is given to appear in the store


async def get_text(
    client: Any, store: Any, execution_id: str, *, expand: bool = True, secret_fields: Sequence[str]
) -> tuple[str, str, str]:
    """``(application, status, Gate JSON text)`` of one execution, straight from the store's text (decoded only to
    replace ``secret_fields``, when the operator set some: core/redaction.py)."""
    application, status, text = await _text(client, store, execution_id, expand=expand)
    return application, status, redact_execution_text(text, secret_fields)


async def _text(client: Any, store: Any, execution_id: str, *, expand: bool) -> tuple[str, str, str]:
    from core.store import ExecutionDeletedError, NotFoundError

    try:
        return await asyncio.to_thread(store.executions.get_text, execution_id, expand=expand)
    except ExecutionDeletedError:
        raise  # Temporal may still hold its workflow for a while; deleted means gone
    except NotFoundError:
        pass
    return await _just_started(client, store, execution_id, expand=expand)


async def get(client: Any, store: Any, execution_id: str, *, expand: bool = True, secret_fields: Sequence[str]) -> Json:
    """The execution's Gate JSON as a dict. ``secret_fields`` has no default, so every caller decides: the
    operator's (:func:`secrets`) where the answer or an expression sees the execution, ``()`` where only a
    permission check or a status is read."""
    text = (await get_text(client, store, execution_id, expand=expand, secret_fields=secret_fields))[2]
    return json.loads(text)  # type: ignore[no-any-return]


async def _just_started(client: Any, store: Any, execution_id: str, *, expand: bool) -> tuple[str, str, str]:
    from temporalio.service import RPCError

    from core.store import NotFoundError

    handle = client.get_workflow_handle(execution_id)
    try:
        await handle.describe()
    except RPCError:
        raise operations.ExecutionNotFoundError(f"no execution with id {execution_id}") from None
    deadline = asyncio.get_running_loop().time() + FIRST_WRITE_WAIT
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
        try:
            return await asyncio.to_thread(store.executions.get_text, execution_id, expand=expand)
        except NotFoundError:
            continue
    try:
        started = await operations._as_started(client, handle)  # noqa: SLF001 - the start input's view
    except Exception:  # noqa: BLE001 - an input this release cannot read: nothing to show
        started = None
    if started is None:
        raise operations.ExecutionNotFoundError(f"no execution with id {execution_id}")
    view = started if expand else strip(started)
    return str(view.get("application") or ""), str(view.get("status")), json.dumps(view, separators=(",", ":"))


async def refresh(client: Any, executions: list[Json], *, expand: bool, secret_fields: Sequence[str]) -> list[Json]:
    """Executions read from the store are current already: only the expand=false form is applied, and the
    operator's ``secret_fields`` replaced."""
    shown = executions if expand else [strip(e) for e in executions]
    return [redact_execution(e, secret_fields) for e in shown] if secret_fields else shown


async def listing(client: Any, rows: list[tuple[str, str]], *, expand: bool, secret_fields: Sequence[str]) -> Response:
    """A listing from the store's ``(status, JSON text)`` rows, sent as stored, never decoded (unless the operator
    set ``secret_fields``: each row is then decoded to replace them)."""
    texts = (redact_execution_text(text, secret_fields) for _, text in rows)
    return Response(content="[" + ",".join(texts) + "]", media_type="application/json")


def secrets(settings: Any) -> list[str]:
    """The operator's ``auth.secret_fields``: replaced in every execution the API answers with (core/redaction.py)."""
    return list(settings.auth.secret_fields)


def json_list(items: list[Json]) -> Response:
    """A list of executions (or configs) as the response itself: they are JSON already, so FastAPI need not
    validate and re-encode hundreds of them (the listings are Deck's most frequent calls). The route's
    ``response_model`` still describes them in the OpenAPI document."""
    return Response(content=json.dumps(items, separators=(",", ":")), media_type="application/json")

"""``GET /metrics`` (Prometheus text) and the HTTP metrics of every request, by route template.

Requests are counted under the route's path template (``/pipelines/{id}``), never the raw path, so the label
set stays bounded however many executions are read; a path no route matches counts as ``<unmatched>``. The
middleware is plain ASGI (no per-request task or body copy) and outermost but one, so it times what the client
waits for. Several API processes: see ``core.observability.metrics`` (multiprocess mode).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, FastAPI, Response

from core.observability import metrics

from . import errors

UNMATCHED = "<unmatched>"

router = APIRouter(tags=["misc"])


@router.get(
    "/metrics",
    responses={
        200: {"description": "Prometheus text format 0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
)
def scrape() -> Response:
    """Gennaker's metrics and the process's (or, in multiprocess mode, every API process's)."""
    body, content_type = metrics.exposition()
    return Response(content=body, media_type=content_type)


def route_template(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED


class HttpMetricsMiddleware:
    """Counts each HTTP request by method, route template and status, and observes its duration."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler is what the client sees as a 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics.http_request(scope["method"], route_template(scope), status, time.perf_counter() - started)


def install(app: FastAPI, settings: Any) -> None:
    """The ``/metrics`` route and the HTTP metrics, unless ``observability.api_metrics`` is off."""
    obs = getattr(settings, "observability", None)
    if obs is not None and not obs.api_metrics:
        return
    app.add_middleware(HttpMetricsMiddleware)
    app.include_router(router, responses=errors.ERROR_RESPONSES)

"""Errors as Gate answers them: Spring's error body, the right 4xx, never a bare 500.

Domain errors (the engine's, the store's) are translated here, at the HTTP boundary.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import ApiError as ApiError  # re-exported: the routes raise it from here
from core.errors import temporal_unreachable
from workflows.errors import ExpressionError, InvalidPipelineError
from workflows.operations import ExecutionNotFoundError, OperationRefusedError

log = logging.getLogger("gennaker.api")


class ErrorBody(BaseModel):
    """Gate's (Spring's) error body; ``field`` names the offending input when there is one."""

    model_config = ConfigDict(extra="allow")

    timestamp: int
    status: int
    error: str
    message: str
    path: str
    field: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed or invalid input; the message names the field"},
    404: {"model": ErrorBody, "description": "No such application, pipeline or execution"},
    409: {"model": ErrorBody, "description": "Refused by the current state (stale save, judgment, running)"},
}


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def bad_request(message: str, **extra: Any) -> ApiError:
    return ApiError(400, message, **extra)


def error_body(status: int, message: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": int(time.time() * 1000),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
        "path": path,
        **extra,
    }


def _respond(request: Request, status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(status, message, request.url.path, **extra), status_code=status)


def install(app: FastAPI) -> None:
    """Register the translations of every error the routes can meet."""
    from core.store import ConflictError, NotFoundError, StaleError, StoreError
    from core.store import ValidationError as StoreValidationError

    @app.exception_handler(ApiError)
    async def _api(request: Request, err: ApiError) -> JSONResponse:
        return _respond(request, err.status, err.message, **err.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = []
        for e in err.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {e.get('msg')}")
        return _respond(request, 400, "; ".join(problems) or "invalid request", errors=problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return _respond(request, err.status_code, str(err.detail))

    @app.exception_handler(InvalidPipelineError)
    async def _invalid_pipeline(request: Request, err: InvalidPipelineError) -> JSONResponse:
        return _respond(request, 400, str(err), **({"field": err.field} if err.field else {}))

    @app.exception_handler(ExpressionError)
    async def _expression(request: Request, err: ExpressionError) -> JSONResponse:
        return _respond(request, 400, str(err))

    @app.exception_handler(ExecutionNotFoundError)
    async def _missing_execution(request: Request, err: ExecutionNotFoundError) -> JSONResponse:
        return _respond(request, 404, str(err))

    @app.exception_handler(OperationRefusedError)
    async def _refused(request: Request, err: OperationRefusedError) -> JSONResponse:
        return _respond(request, 409, str(err))

    @app.exception_handler(NotFoundError)
    async def _store_missing(request: Request, err: NotFoundError) -> JSONResponse:
        return _respond(request, 404, str(err))

    @app.exception_handler(ConflictError)
    async def _conflict(request: Request, err: ConflictError) -> JSONResponse:
        return _respond(request, 409, str(err))

    @app.exception_handler(StaleError)
    async def _stale(request: Request, err: StaleError) -> JSONResponse:
        return _respond(request, 409, str(err))

    @app.exception_handler(StoreValidationError)
    async def _store_invalid(request: Request, err: StoreValidationError) -> JSONResponse:
        field = getattr(err, "field", None)
        return _respond(request, 400, str(err), **({"field": field} if field else {}))

    @app.exception_handler(StoreError)
    async def _store(request: Request, err: StoreError) -> JSONResponse:
        log.error("store error on %s: %s", request.url.path, err)
        return _respond(request, 503, "the store could not complete the request; try again")

    from temporalio.service import RPCError

    # the types Temporal's outages arrive as, handled where the route's other errors are (a handler for Exception
    # runs only after the error has left the app, which then raises it again)
    @app.exception_handler(RPCError)
    @app.exception_handler(RuntimeError)
    async def _temporal(request: Request, err: Exception) -> JSONResponse:
        if temporal_unreachable(err):  # an outage, not a fault of the request or of ours: the client tries again
            log.warning("Temporal unreachable on %s %s: %s", request.method, request.url.path, err)
            answer = _respond(request, 503, "Temporal could not be reached; try again")
            answer.headers["Retry-After"] = str(RETRY_AFTER_S)
            return answer
        return await _unexpected(request, err)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _respond(request, 500, f"internal error ({type(err).__name__}); see the API's log")


#: what a 503 for an unreachable Temporal asks the client to wait, seconds
RETRY_AFTER_S = 5


def document(app: FastAPI) -> None:
    """Make /openapi.json say what is served: Gate's error body for 400/404/409, not FastAPI's 422."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

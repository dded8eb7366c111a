"""Gate's Swagger paths: the page at ``/swagger-ui.html`` and the OpenAPI document at ``/v2/api-docs``, the same
document FastAPI serves at ``/openapi.json`` (and its page at ``/docs``), for clients that know Gate's paths.

Plain routes, as FastAPI's own ``/docs`` and ``/openapi.json`` are: they describe the API, they are not in it."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic.alias_generators import to_camel

router = APIRouter()
DOCUMENT = "/v2/api-docs"


async def api_docs(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=DOCUMENT, title=f"{request.app.title} - Swagger UI")


router.add_route(DOCUMENT, api_docs, methods=["GET"], include_in_schema=False)
router.add_route("/swagger-ui.html", swagger_ui, methods=["GET"], include_in_schema=False)


def gate_operation_ids() -> Callable[[APIRoute], str]:
    """Operation ids as Gate's Springfox document names them (``savePipelineUsingPOST``, ``_1`` on a repeat), so a
    client generated from this document has the method names of one generated from Gate's. One per app: the
    repeats are counted in the order the routes are added."""
    seen: dict[str, int] = {}

    def operation_id(route: APIRoute) -> str:
        method = sorted(route.methods or ["GET"])[0]
        name = f"{to_camel(route.name)}Using{method}"
        count = seen.get(name, 0)
        seen[name] = count + 1
        return f"{name}_{count}" if count else name

    return operation_id

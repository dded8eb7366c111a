"""Temporal's remote codec protocol for the Web UI: ``POST /payloads/codec/decode`` and ``/encode``.

The Web UI (``temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8084/payloads/codec``) sends the
payloads it shows, ``{"payloads": [{"metadata": {...}, "data": "<base64>"}]}``, and gets them back with every
claim-check reference replaced by the stored value (docs/payloads.md). With authentication on, only
authenticated callers are answered. The browser calls this cross-origin, hence the CORS answers below.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from core.auth.principal import Principal
from core.settings import Settings

from ..deps import PrincipalDep, SettingsDep
from ..errors import ApiError
from ..models.payloads import PAYLOADS_BODY, Payloads

router = APIRouter(prefix="/payloads/codec", tags=["payloads"])
Json = dict[str, Any]
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization, Caller-Type"


def _origins(settings: Settings) -> set[str]:
    """Origins the browser may call from: the setting, else the local dev server's Web UI."""
    configured = settings.payloads.codec_cors_origins
    if configured:
        return set(configured)
    port = settings.dev_server.ui_port
    return {f"http://localhost:{port}", f"http://127.0.0.1:{port}"}


def _cors(request: Request, response: Response, settings: Settings) -> None:
    origin = request.headers.get("origin")
    if origin and (origin in _origins(settings) or "*" in _origins(settings)):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Vary"] = "Origin"


def _payloads(body: Any) -> list[Any]:
    from google.protobuf.json_format import ParseDict, ParseError
    from temporalio.api.common.v1 import Payload

    items = body.get("payloads") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ApiError(400, 'the body must be {"payloads": [...]}', field="payloads")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(ParseDict(item, Payload()))
        except (ParseError, TypeError, AttributeError) as exc:
            raise ApiError(400, f"payloads[{i}] is not a Temporal payload: {exc}", field=f"payloads[{i}]") from None
    return out


async def _convert(request: Request, settings: Settings, principal: Principal, direction: str) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    from gennaker.payloads import claim_check
    from gennaker.payloads.blobs import BlobStoreError
    from gennaker.payloads.codec import BadReferenceError, ClaimCheckCodec, MissingBlobError

    if settings.auth.enabled and not principal.authenticated:
        raise ApiError(401, "authentication required to decode or encode payloads")
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "the body is not JSON", field="payloads") from None
    payloads = _payloads(body)
    codec = ClaimCheckCodec(claim_check(settings))
    try:
        result = await (codec.decode(payloads) if direction == "decode" else codec.encode(payloads))
    except MissingBlobError as exc:
        raise ApiError(404, exc.message, key=exc.key) from None
    except BadReferenceError as exc:
        raise ApiError(400, exc.message, field="payloads") from None
    except BlobStoreError as exc:
        raise ApiError(503, str(exc)) from None
    return {"payloads": [MessageToDict(p) for p in result]}


@router.options("/decode", status_code=204)
@router.options("/encode", status_code=204)
async def preflight(request: Request, settings: SettingsDep) -> Response:
    """The browser's CORS preflight: the Web UI's origin may POST here."""
    response = Response(status_code=204)
    _cors(request, response, settings)
    return response


@router.post("/decode", response_model=Payloads, response_model_exclude_unset=True, openapi_extra=PAYLOADS_BODY)
async def decode(request: Request, response: Response, settings: SettingsDep, principal: PrincipalDep) -> Json:
    """Claim-check references replaced by the values they stand for; other payloads unchanged."""
    _cors(request, response, settings)
    return await _convert(request, settings, principal, "decode")


@router.post("/encode", response_model=Payloads, response_model_exclude_unset=True, openapi_extra=PAYLOADS_BODY)
async def encode(request: Request, response: Response, settings: SettingsDep, principal: PrincipalDep) -> Json:
    """Payloads above the threshold stored and replaced by references, as a worker would send them."""
    _cors(request, response, settings)
    return await _convert(request, settings, principal, "encode")

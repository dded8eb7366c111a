"""Temporal's remote codec protocol (the Web UI's ``/payloads/codec/decode`` and ``/encode``): payloads as
protobuf's JSON mapping writes them, ``metadata`` values and ``data`` in base64."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """One Temporal payload; an empty ``metadata`` or ``data`` is left out, as protobuf's JSON mapping does."""

    model_config = ConfigDict(extra="allow")

    metadata: dict[str, str] | None = None
    data: str | None = None


class Payloads(BaseModel):
    """The body of both directions: ``{"payloads": [...]}``."""

    model_config = ConfigDict(extra="allow")

    payloads: list[Payload]


#: the request body as the OpenAPI document shows it (the route reads the body itself: it answers 401 before
#: looking at it, and names the payload at fault)
PAYLOADS_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Payloads"}}},
    }
}

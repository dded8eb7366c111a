"""One REST endpoint's view of an event: does it want it (``matches``), what body Echo would post (``render``:
``flatten``, then ``wrap`` with ``template`` or ``{eventName, fieldName: event}``), which headers (``headers``,
basic auth), and one post through the outbound policy (``post``)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from core.errors import IntegrationError
from core.settings.events import EventSettings, RestEndpoint
from integrations.outbound import OutboundPolicy, OutboundRefused, arequest

Doc = dict[str, Any]


class DeliveryError(IntegrationError):
    """The endpoint did not take the event (a refused URL, a network error, a non-2xx answer)."""


class EventTemplateError(DeliveryError):
    """The endpoint's template did not render to a JSON object (Echo logs it and sends nothing)."""


def matches(endpoint: RestEndpoint, event: Doc) -> bool:
    """The endpoint's filters: event types (a trailing ``*`` is a prefix) and applications; empty lists pass all."""
    details = event.get("details") or {}
    kind = str(details.get("type") or "")
    if endpoint.types and not any(kind.startswith(t[:-1]) if t.endswith("*") else kind == t for t in endpoint.types):
        return False
    application = str(details.get("application") or "").lower()
    return not endpoint.applications or application in {a.lower() for a in endpoint.applications}


def _public(event: Doc) -> Doc:
    """The event as Echo's JSON (no outbox sequence number)."""
    return {k: v for k, v in event.items() if k != "seq"}


def render(endpoint: RestEndpoint, settings: EventSettings, event: Doc) -> Doc:
    """The JSON object Echo's RestEventListener posts for this event and endpoint."""
    body = _public(event)
    if endpoint.flatten:
        body = {
            **body,
            "content": json.dumps(body.get("content") or {}),
            "details": json.dumps(body.get("details") or {}),
        }
    if not endpoint.wrap:
        return body
    if endpoint.template:
        text = endpoint.template.replace("{{event}}", json.dumps(body))
        try:
            rendered = json.loads(text)
        except ValueError as err:
            raise EventTemplateError(f"endpoint {endpoint.name}: the rendered template is not JSON ({err})") from None
        if not isinstance(rendered, dict):
            raise EventTemplateError(f"endpoint {endpoint.name}: the template must render a JSON object")
        return rendered
    return {
        "eventName": endpoint.event_name or settings.default_event_name,
        endpoint.field_name or settings.default_field_name: body,
    }


def headers(endpoint: RestEndpoint) -> list[tuple[str, str]]:
    """The endpoint's static headers and basic auth, with JSON's content type."""
    out = [("Content-Type", "application/json")]
    out.extend((name, value.get_secret_value()) for name, value in endpoint.headers.items())
    if endpoint.username is not None:
        secret = endpoint.password.get_secret_value() if endpoint.password is not None else ""
        token = base64.b64encode(f"{endpoint.username}:{secret}".encode()).decode()
        out.append(("Authorization", f"Basic {token}"))
    return out


async def post(client: httpx.AsyncClient, policy: OutboundPolicy, endpoint: RestEndpoint, body: Doc) -> None:
    """One POST of one event; a refusal, a network error or a non-2xx answer is a :class:`DeliveryError`
    (never carrying the headers, which may hold secrets)."""
    content = json.dumps(body, separators=(",", ":")).encode()
    try:
        response = await arequest(
            client, policy, "POST", endpoint.url, headers=headers(endpoint), content=content, max_bytes=64 * 1024
        )
    except OutboundRefused as err:
        raise DeliveryError(f"endpoint {endpoint.name}: refused by the outbound policy: {err}") from None
    except httpx.HTTPError as err:
        raise DeliveryError(f"endpoint {endpoint.name}: {type(err).__name__}: {err}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"endpoint {endpoint.name}: HTTP {response.status_code}")

"""Echo's event → trigger matching for ``webhook``, ``git`` and ``pipeline`` triggers: the public entry points.

Pure logic, no I/O: the API builds an ``Event`` from the request (``make_event``), asks
``match_event`` which pipelines it starts, and starts each ``Match.pipeline`` with
``Match.trigger``. Completed executions go through ``pipeline_trigger_matches``.

Event ids (``Event.event_id``, copied into each trigger's ``eventId``) are the provider's delivery
id when one is sent, so a redelivered webhook can be recognised: ``X-GitHub-Delivery``,
``X-Gitlab-Event-UUID``, ``X-Request-UUID`` (Bitbucket Cloud) and, for Bitbucket Server and Stash
git events, ``X-Request-Id``. Otherwise it is a name-based UUID of the kind, the source and the
SHA-256 of the raw body, so the same body posted twice has the same id.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from .dependent import pipeline_trigger_matches, trigger_status
from .errors import SignatureError, TriggerError
from .git import PROVIDERS, GitEvent, ignored_reason, match_git, parse_git_event, verify_github_signature
from .model import GIT, JSON, KINDS, PIPELINE, WEBHOOK, Event, Match, MatchResult, Refusal
from .webhook import match_webhook

__all__ = [
    "GIT",
    "KINDS",
    "PIPELINE",
    "PROVIDERS",
    "WEBHOOK",
    "Event",
    "GitEvent",
    "Match",
    "MatchResult",
    "Refusal",
    "SignatureError",
    "TriggerError",
    "event_id_for",
    "lower_headers",
    "make_event",
    "match_event",
    "parse_body",
    "parse_git_event",
    "pipeline_trigger_matches",
    "trigger_status",
    "verify_github_signature",
]

#: delivery-id headers, most specific first; ``x-request-id`` only counts for Bitbucket Server/Stash.
DELIVERY_HEADERS = ("x-github-delivery", "x-gitlab-event-uuid", "x-request-uuid")
_BITBUCKET_SERVER_DELIVERY = "x-request-id"
_EVENT_ID_NAMESPACE = uuid.UUID("8f1c6f8e-3b1e-5d5a-9a55-6a1f0e7c2d41")
_MAX_DELIVERY_ID = 200


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased; the first of several spellings wins, as Spring's ``getFirst``."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        out.setdefault(name.lower(), value)
    return out


def event_id_for(kind: str, source: str, raw_body: bytes, headers: Mapping[str, str]) -> str:
    """The delivery id the provider sent, else a UUID derived from kind, source and the body's SHA-256."""
    lower = lower_headers(headers)
    names = list(DELIVERY_HEADERS)
    if kind == GIT and source in ("bitbucket", "stash"):
        names.append(_BITBUCKET_SERVER_DELIVERY)
    for name in names:
        value = (lower.get(name) or "").strip()
        if value and len(value) <= _MAX_DELIVERY_ID and value.isprintable():
            return value
    digest = hashlib.sha256(raw_body).hexdigest()
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{kind}/{source}/{digest}"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_body(raw_body: bytes, *, allow_empty: bool = False) -> JSON:
    """The request body as a JSON object. Bitbucket may post an empty body, which reads as ``{}``."""
    if not raw_body.strip():
        if allow_empty:
            return {}
        raise TriggerError("body: empty; expected a JSON object")
    try:
        payload = json.loads(raw_body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise TriggerError("body: not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise TriggerError(f"body: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except ValueError as err:
        raise TriggerError(f"body: {err}") from None
    if not isinstance(payload, dict):
        raise TriggerError("body: must be a JSON object")
    return payload


def make_event(kind: str, source: str, raw_body: bytes, headers: Mapping[str, str]) -> Event:
    """An ``Event`` from a request to ``/webhooks/{kind}/{source}`` (or an execution JSON for ``pipeline``)."""
    if kind not in KINDS:
        raise TriggerError(f"kind: unknown event kind '{kind}' (known: {', '.join(KINDS)})")
    if not source:
        raise TriggerError("source: empty")
    if kind == GIT and source not in PROVIDERS:
        raise TriggerError(f"source: unknown git provider '{source}' (known: {', '.join(PROVIDERS)})")
    lower = lower_headers(headers)
    payload = parse_body(raw_body, allow_empty=kind == GIT and source == "bitbucket")
    return Event(kind, source, payload, lower, raw_body, event_id_for(kind, source, raw_body, lower))


def match_event(event: Event, pipelines: Iterable[Any], *, git_shared_secret: str | None = None) -> MatchResult:
    """The pipelines an event starts, the triggers it matched but may not fire (``refused``), or why it was ignored.

    Only pipelines that are not ``disabled`` and triggers that are ``enabled`` (booleans or the
    strings ``"true"``/``"false"``) take part. ``git_shared_secret`` is Echo's
    ``gitSharedSecret``: the secret for git triggers that have none of their own.
    Raises ``TriggerError`` for an event that cannot be read.
    """
    if any(name != name.lower() for name in event.headers):
        event = replace(event, headers=lower_headers(event.headers))
    configs = list(pipelines)
    if event.kind == WEBHOOK:
        return match_webhook(event, configs)
    if event.kind == GIT:
        git = parse_git_event(event.source, event.payload, event.headers)
        if git is None:
            return MatchResult(ignored=ignored_reason(event.source, event.payload))
        return match_git(event, git, configs, shared_secret=git_shared_secret)
    if event.kind == PIPELINE:
        return MatchResult(pipeline_trigger_matches(event.payload, configs))
    raise TriggerError(f"kind: unknown event kind '{event.kind}' (known: {', '.join(KINDS)})")

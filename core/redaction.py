"""Secrets in pipeline configs and executions never leave through reads.

A git trigger's ``secret`` (GitHub's HMAC key) and the fields the operator lists in ``auth.secret_fields`` are
replaced by :data:`PLACEHOLDER` in every config the API answers with (lists, one config, history, a save's
answer); ``api/auth/redaction.py`` puts a stored value back where a save sends the placeholder.

``secret_fields`` entries are either a key name, redacted wherever it appears (``password``), or a dotted path
from the config's root where ``*`` matches any key or list item (``stages.*.token``).

Executions carry the same values where the engine put them (a stage's config fields in its ``context``, the
trigger): :func:`redact_execution` applies the key names anywhere and each path both as written and as it lands in
an execution (``stages.*.token`` is also ``stages.*.context.token``; ``triggers.*.token`` is ``trigger.token``), for
every answer and event that carries an execution. The engine itself reads the real values from the store.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

PLACEHOLDER = "**REDACTED**"
Json = dict[str, Any]


def _rules(secret_fields: Iterable[str]) -> tuple[frozenset[str], list[list[str]]]:
    keys, paths = set(), []
    for field in secret_fields:
        if "." in field:
            paths.append(field.split("."))
        elif field:
            keys.add(field)
    return frozenset(keys), paths


def _secret_spots(config: Any, secret_fields: Iterable[str]) -> list[tuple[Any, Any]]:
    """(container, key) of every secret value in ``config``."""
    keys, paths = _rules(secret_fields)
    spots: list[tuple[Any, Any]] = []
    triggers = config.get("triggers") if isinstance(config, dict) else None
    for trigger in triggers if isinstance(triggers, list) else []:
        if isinstance(trigger, dict) and str(trigger.get("type", "")).lower() == "git" and "secret" in trigger:
            spots.append((trigger, "secret"))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in keys:
                    spots.append((node, key))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    if keys:
        walk(config)
    for path in paths:
        _follow(config, path, spots)
    seen: set[tuple[int, Any]] = set()
    unique = []
    for container, key in spots:
        if (id(container), key) not in seen and container[key] is not None and container[key] != "":
            seen.add((id(container), key))
            unique.append((container, key))
    return unique


def _follow(node: Any, path: list[str], spots: list[tuple[Any, Any]]) -> None:
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        children = list(node.items()) if head == "*" else [(head, node[head])] if head in node else []
    elif isinstance(node, list):
        if head == "*":
            children = list(enumerate(node))
        elif head.isdigit() and int(head) < len(node):
            children = [(int(head), node[int(head)])]
        else:
            children = []
    else:
        return
    for key, child in children:
        if rest:
            _follow(child, rest, spots)
        else:
            spots.append((node, key))


def redact(config: Any, secret_fields: Iterable[str] = ()) -> Any:
    """A copy of the config with every secret replaced by the placeholder; the config itself when it holds no
    secret (a listing answers hundreds of configs: copying each one cost more than the rest of the read)."""
    if not isinstance(config, dict) or not _secret_spots(config, secret_fields):
        return config
    doc = copy.deepcopy(config)
    for container, key in _secret_spots(doc, secret_fields):
        container[key] = PLACEHOLDER
    return doc


def redact_all(configs: Iterable[Any], secret_fields: Iterable[str] = ()) -> list[Any]:
    fields = list(secret_fields)
    return [redact(c, fields) for c in configs]


def execution_fields(secret_fields: Iterable[str]) -> list[str]:
    """The rules for an execution: the key names as they are, each config path as written and as the engine
    stores it (a config stage's fields are its ``context``; the matched trigger is the execution's ``trigger``)."""
    out: list[str] = []
    for field in secret_fields:
        if not field:
            continue
        out.append(field)
        parts = field.split(".")
        if len(parts) > 2 and parts[0] == "stages" and parts[2] != "context":
            out.append(".".join([parts[0], parts[1], "context", *parts[2:]]))
        elif len(parts) > 2 and parts[0] == "triggers":
            out.append(".".join(["trigger", *parts[2:]]))
    return out


def stage_fields(secret_fields: Iterable[str]) -> list[str]:
    """The rules for one stage's ``context`` (a stage event's): the key names, and each ``stages.*.`` path from
    below the stage (its context)."""
    out: list[str] = []
    for field in secret_fields:
        parts = field.split(".")
        if "." not in field:
            out.append(field)
        elif len(parts) > 2 and parts[0] == "stages":
            rest = parts[3:] if parts[2] == "context" else parts[2:]
            if rest:
                out.append(".".join(rest))
    return out


def redact_execution(execution: Any, secret_fields: Iterable[str] = ()) -> Any:
    """A copy of an execution (Gate's JSON) with the secrets replaced; the execution itself when none is there."""
    fields = list(secret_fields)
    return redact(execution, execution_fields(fields)) if fields else execution


def redact_execution_text(text: str, secret_fields: Iterable[str] = ()) -> str:
    """An execution's JSON text with the secrets replaced: the text itself when no rule is set or none matched (a
    read with no ``secret_fields`` never decodes the stored text)."""
    fields = list(secret_fields)
    if not fields:
        return text
    doc = json.loads(text)
    redacted = redact_execution(doc, fields)
    return text if redacted is doc else json.dumps(redacted, separators=(",", ":"))


def redact_event(event: Any, secret_fields: Iterable[str] = ()) -> Any:
    """An Echo event with the secrets of what it carries replaced: the execution (``content.execution``), a stage
    event's ``content.context``, a trigger event's ``content.trigger``; the event itself when none is there."""
    fields = list(secret_fields)
    content = event.get("content") if isinstance(event, dict) else None
    if not fields or not isinstance(content, dict):
        return event
    changed = dict(content)
    if isinstance(content.get("execution"), dict):
        changed["execution"] = redact_execution(content["execution"], fields)
    if isinstance(content.get("context"), dict):
        changed["context"] = redact(content["context"], stage_fields(fields))
    if isinstance(content.get("trigger"), dict):
        changed["trigger"] = redact({"trigger": content["trigger"]}, execution_fields(fields))["trigger"]
    if all(changed[k] is content[k] for k in changed):
        return event
    return {**event, "content": changed}

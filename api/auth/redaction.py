"""Secrets in pipeline configs never leave through reads.

A git trigger's ``secret`` (GitHub's HMAC key) and the fields the operator lists in ``auth.secret_fields`` are
replaced by :data:`PLACEHOLDER` in every config the API answers with (lists, one config, history, a save's
answer). When a client saves the placeholder back (Deck, ``spin`` or the SDK round-tripping what they read), the
stored value is kept, so a read-modify-write never destroys a secret.

``secret_fields`` entries are either a key name, redacted wherever it appears (``password``), or a dotted path
from the config's root where ``*`` matches any key or list item (``stages.*.context.token``).
"""

from __future__ import annotations

import copy
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


def restore(config: Json, previous: Json | None, secret_fields: Iterable[str] = ()) -> Json:
    """The config to save: a placeholder sent back takes the stored value from ``previous`` (the same
    pipeline as stored). A placeholder with nothing to restore is a 400, naming where it is."""
    fields = list(secret_fields)
    doc = copy.deepcopy(config)
    spots = [(c, k) for c, k in _secret_spots(doc, fields) if c[k] == PLACEHOLDER]
    if not spots:
        return doc
    stored = {_where(previous, c, k): c[k] for c, k in _secret_spots(previous, fields)} if previous else {}
    for container, key in spots:
        where = _where(doc, container, key)
        if where not in stored:
            from api.errors import bad_request

            message = f"{where}: the redacted placeholder came back but no value is stored there"
            raise bad_request(message, field=where)
        container[key] = stored[where]
    return doc


def _where(root: Any, container: Any, key: Any) -> str:
    """A stable name for a secret's place (``triggers[1].secret``); a git trigger is named by its position
    among the triggers, other places by their path."""
    found = _path_to(root, container)
    return f"{found}.{key}" if found else str(key)


def _path_to(node: Any, target: Any, prefix: str = "") -> str | None:
    if node is target:
        return prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        if isinstance(child, (dict, list)):
            name = f"{prefix}[{key}]" if isinstance(node, list) else f"{prefix}.{key}" if prefix else str(key)
            found = _path_to(child, target, name)
            if found is not None:
                return found
    return None

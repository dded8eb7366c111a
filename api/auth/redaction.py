"""Secrets in pipeline configs never leave through reads (``core/redaction.py``), and never get lost through saves.

When a client saves the placeholder back (Deck, ``spin`` or the SDK round-tripping what they read), the stored value
is kept, so a read-modify-write never destroys a secret.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from core.redaction import PLACEHOLDER, Json, _secret_spots, redact, redact_all

__all__ = ["PLACEHOLDER", "redact", "redact_all", "restore"]


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

"""How the store reads and writes a document's values: JSON text, epoch milliseconds, and the checks of required
text and integer fields that answer a `ValidationError` naming the field (a 400 at the API)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from .errors import ValidationError
from .models import KEY_LENGTH

Doc = dict[str, Any]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def dumps(doc: Any) -> str:
    """Compact JSON text, as every document is stored."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def required_text(doc: Doc, field: str, what: str) -> str:
    value = doc.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} requires a non-blank '{field}'", field=field)
    value = value.strip()
    if len(value) > KEY_LENGTH:
        raise ValidationError(f"{what} '{field}' is longer than {KEY_LENGTH} characters", field=field)
    return value


def as_int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"'{field}' must be an integer, got {value!r}", field=field)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"'{field}' must be an integer, got {value!r}", field=field) from None


def optional_int(value: Any, field: str) -> int | None:
    return None if value is None else as_int(value, field)


def str_list(values: Iterable[str] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]

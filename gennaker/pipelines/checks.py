"""The builders' field checks: each raises :class:`PipelineBuildError` naming the field at fault.

What a field may hold follows the engine's reading of it (:mod:`core.fields`: booleans, text, whole numbers),
so a builder never writes a value the engine would read differently; a builder is stricter only where the
engine would quietly read a wrong value as something else (``"yes"`` as false, a junk status code dropped).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from core import fields
from core.errors import SdkError

JSON = dict[str, Any]


class PipelineBuildError(SdkError, ValueError):
    """A builder was given something Spinnaker would not accept; the message names the field."""


# --------------------------------------------------------------------------------------------
# small helpers


def expr(expression: str) -> str:
    """Wrap a bare pipeline expression: ``expr("parameters.env")`` -> ``"${parameters.env}"``."""
    if not isinstance(expression, str) or not expression.strip():
        raise PipelineBuildError(f"expr() needs a non-empty expression string, got {expression!r}")
    if "${" in expression:
        raise PipelineBuildError(f"expr() wraps a bare expression; {expression!r} already contains '${{'")
    return "${" + expression.strip() + "}"


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _fail(where: str, message: str) -> PipelineBuildError:
    return PipelineBuildError(f"{where}: {message}")


def _jsonable(value: Any, where: str) -> Any:
    """A deep copy of ``value`` made of JSON types only (tuples become lists); refuses anything else."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(where, f"must be a finite number, got {value!r}")
        return value
    if isinstance(value, Mapping):
        out: JSON = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _fail(where, f"keys must be strings, got {key!r}")
            out[key] = _jsonable(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise _fail(where, f"must be JSON data (dict, list, str, number, bool, None), got {type(value).__name__}")


def _text(value: Any, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if fields.nonblank(value) is None:
        raise _fail(where, f"must be a non-empty string, got {value!r}")
    return str(value)


def _strings(values: Any, where: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise _fail(where, f"must be a list of strings, got {values!r}")
    out = []
    for i, v in enumerate(values):
        if fields.nonblank(v) is None:
            raise _fail(f"{where}[{i}]", f"must be a non-empty string, got {v!r}")
        out.append(str(v))
    return out


def _flag(value: Any, where: str) -> bool:
    """A boolean as the engine validates one (:func:`core.fields.boolean`: a bool, or "true"/"false")."""
    flag = fields.boolean(value)
    if flag is None:
        raise _fail(where, f"must be True or False, got {value!r}")
    return flag


def _seconds(value: Any, where: str) -> int:
    """Whole, non-negative seconds from a timedelta or a whole number as the engine reads one
    (:func:`core.fields.integer`: an int, ``30.0`` or ``"30"``)."""
    if isinstance(value, timedelta):
        total = value.total_seconds()
        if total != int(total):
            raise _fail(where, f"must be whole seconds, got {value!r}")
        value = int(total)
    whole = fields.integer(value)
    if whole is None:
        raise _fail(where, f"must be whole seconds (an int or a timedelta), got {value!r}")
    if whole < 0:
        raise _fail(where, f"must not be negative, got {value!r}")
    return whole


def _status_codes(values: Any, where: str) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise _fail(where, f"must be a list of HTTP status codes, got {values!r}")
    out = []
    for i, code in enumerate(values):
        number = fields.integer(code)  # the engine's reading of a code: 503, 503.0 or "503"
        if number is None or not 100 <= number <= 599:
            raise _fail(f"{where}[{i}]", f"must be an HTTP status code (100-599), got {code!r}")
        out.append(number)
    return out


def _merge_extra(out: JSON, extra: Mapping[str, Any] | None, where: str, reserved: Iterable[str]) -> None:
    if not extra:
        return
    if not isinstance(extra, Mapping):
        raise _fail(where, f"must be a dict, got {type(extra).__name__}")
    for key in extra:
        if key in reserved:
            raise _fail(f"{where}.{key}", "is set by the builder and cannot be overridden")
    out.update(_jsonable(dict(extra), where))

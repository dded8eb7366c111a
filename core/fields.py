"""Spinnaker's field rules: how a stage, trigger or pipeline field of any JSON shape reads as a boolean, text,
a number, a duration or a list. One module, so the engine and the SDK builders agree.

Orca reads stage fields with Jackson (``stage.mapTo(...)``, ``OrcaObjectMapper``, which keeps Jackson's default
coercions) or with ``Boolean.parseBoolean(context.get(...).toString())``. What that means for a boolean field:

- ``true`` and the string ``"true"`` (surrounding blanks ignored) are true. Jackson itself accepts only
  ``true``/``True``/``TRUE``, ``Boolean.parseBoolean`` any case; we take any case, as every parser here did.
- An integer other than ``0`` is true: Jackson's scalar coercion (``ALLOW_COERCION_OF_SCALARS``, on by default)
  reads ``0`` as false and any other integer as true.
- ``"1"``, ``"yes"``, ``"on"``, floats, lists and objects are not true: Jackson rejects them for a boolean, and
  ``Boolean.parseBoolean("1")`` is false. A lenient read (:func:`truthy`) takes them as false; a validating
  read (:func:`boolean`) reports them.
- Where Orca calls ``Boolean.parseBoolean(x.toString())`` instead of the mapper, an integer is false too
  (``"1"`` is not ``"true"``): :func:`parse_boolean`.

A field's reader never raises on a wrong shape unless its name says it validates; callers that must reject
a value (Front50-style validation) use the readers that return ``None`` and raise their own error, which names
the field in their words.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from core.errors import FieldError

_INTEGER = re.compile(r"[+-]?\d+")


# ---- booleans ---------------------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """A boolean stage field read leniently, as Orca reads it: ``True``, ``"true"`` in any case, or a
    non-zero integer. Everything else (``None``, ``"1"``, ``"yes"``, floats, lists) is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    if isinstance(value, int):
        return value != 0
    return False


def parse_boolean(value: Any) -> bool:
    """Java's ``Boolean.parseBoolean(String.valueOf(value))``, which Orca uses for a few fields
    (``propagateAuthenticationContext``): only ``True`` and the text ``true`` in any case, untrimmed.
    Stricter than :func:`truthy`: ``1`` is false here, as ``"1"`` is to Java."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.lower() == "true"


def boolean(value: Any) -> bool | None:
    """A boolean field read strictly, as Front50 validates a saved config: a bool, or ``"true"``/``"false"``
    in any case. ``None`` for anything else (absent included), so the caller decides between a default and
    an error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "false"):
            return word == "true"
    return None


def flag(value: Any, default: bool) -> bool:
    """An optional boolean field: ``default`` when absent, else :func:`truthy` (``enabled`` on a trigger)."""
    return default if value is None else truthy(value)


# ---- text -------------------------------------------------------------------------------------------------


def java_string(value: Any) -> str:
    """``toString()`` of the Java object Jackson would have built from this JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, list):
        return "[" + ", ".join(java_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{java_string(k)}={java_string(v)}" for k, v in value.items()) + "}"
    return str(value)


def _java_double(value: float) -> str:
    """``Double.toString``: plain between 10^-3 and 10^7, else ``d.dddE±n``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text or "e" in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    figures = "".join(str(d) for d in digits)
    power = len(figures) - 1 + exponent
    mantissa = figures[0] + "." + (figures[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{power}"


def text(value: Any, field: str = "value") -> str | None:
    """A string field as Jackson reads it: ``None`` stays ``None``, strings stay as they are, numbers and
    booleans become their Java text (``true``, ``8``, ``1.5``); an object or a list is a :class:`FieldError`."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return java_string(value)
    raise FieldError(field, "must be a string")


def nonblank(value: Any) -> str | None:
    """A string field that counts only when set (Spring's ``StringUtils.hasText``): the stripped string, or
    ``None`` for an absent, blank or non-string value."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


# ---- numbers and durations --------------------------------------------------------------------------------


def number(value: Any) -> float | None:
    """A numeric field: a JSON number, or a numeric string (Jackson reads ``"30"`` for a number field).
    ``None`` for booleans, blanks, non-numbers and NaN."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return None if math.isnan(result) else result


def integer(value: Any) -> int | None:
    """A whole-number field: an int, an integral float (``3.0``) or an integer string (``" 3 "``).
    ``None`` for anything else, booleans included."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def seconds(value: Any, default: float = 0.0) -> float:
    """A duration field in seconds (``waitTime``, ``waitBeforeMonitor``, ``delayBeforeDisableSec``) that may
    arrive as a number or a numeric string; ``default`` when absent or not a number."""
    result = number(value)
    return default if result is None else result


def duration(value: Any, unit: str = "seconds") -> timedelta | None:
    """A duration field as a ``timedelta``: the number read by :func:`number` in ``unit`` (``"seconds"``,
    or ``"milliseconds"`` where Spinnaker's JSON counts ms). ``None`` when it is not a number."""
    result = number(value)
    if result is None or math.isinf(result):
        return None
    return timedelta(**{unit: result})


# ---- lists ------------------------------------------------------------------------------------------------


def items(value: Any, field: str = "value") -> list[Any]:
    """A list field: ``None`` reads as empty, a list as itself; anything else is a :class:`FieldError`
    (Orca's mapper does not accept a single value for an array)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(field, f"must be a list, got {type(value).__name__}")
    return value


def strings(value: Any, field: str = "value") -> list[str]:
    """A list-of-strings field (``regions``, ``zones``): :func:`items`, each item read by :func:`text`;
    ``null`` items are dropped."""
    out: list[str] = []
    for i, item in enumerate(items(value, field)):
        read = text(item, f"{field}[{i}]")
        if read is not None:
            out.append(read)
    return out


__all__ = [
    "boolean",
    "duration",
    "flag",
    "integer",
    "items",
    "java_string",
    "nonblank",
    "number",
    "parse_boolean",
    "seconds",
    "strings",
    "text",
    "truthy",
]

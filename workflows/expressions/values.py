"""Java-flavoured value semantics: type names, String conversion, equality, ordering, booleans.

Values are only ever ``None``, ``bool``, ``int``, ``float``, ``str``, ``list`` and ``dict`` (JSON).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from workflows.expressions.errors import (
    MAX_DOCUMENT_DEPTH,
    MAX_STRING_LENGTH,
    Budget,
    ExpressionEvaluationError,
    ExpressionLimitError,
)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return f"unsupported value ({type(value).__name__})"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_float(value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        raise ExpressionEvaluationError("arithmetic result is not a finite number")
    return value


def java_double(value: float) -> str:
    """``Double.toString``: plain digits in [1e-3, 1e7), otherwise ``d.dddE±n``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return text  # Python's repr has no exponent in this range and always a fraction part
    sign, digits, exponent = Decimal(text).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    exp10 = len(digits) + int(exponent) - 1
    return f"{'-' if sign else ''}{ds[0]}.{ds[1:] or '0'}E{exp10}"


def java_str(value: Any, budget: Budget) -> str:
    """How Spring converts a value to ``String`` (used by ``+``, templates and string arguments).

    Booleans are ``true``/``false``, null is ``null``, lists are comma-joined (Spring's
    CollectionToStringConverter), maps look like Java's ``{a=1, b=[x, y]}``.
    """
    if isinstance(value, str):
        return value
    out: list[str] = []
    _stringify(value, budget, out, [0], False, 0)
    return "".join(out)


def java_to_string(value: Any, budget: Budget) -> str:
    """Java's ``toString()``: like :func:`java_str` but lists print as ``[a, b]``."""
    out: list[str] = []
    _stringify(value, budget, out, [0], True, 0)
    return "".join(out)


def _stringify(value: Any, budget: Budget, out: list[str], size: list[int], to_string: bool, depth: int) -> None:
    budget.tick()
    if depth > MAX_DOCUMENT_DEPTH:
        raise ExpressionLimitError(f"value is nested more than {MAX_DOCUMENT_DEPTH} levels deep")

    def emit(text: str) -> None:
        budget.tick(len(text) >> 10)  # big strings cost in proportion to their size
        size[0] += len(text)
        if size[0] > MAX_STRING_LENGTH:
            raise ExpressionLimitError(f"string result longer than the limit of {MAX_STRING_LENGTH} characters")
        out.append(text)

    if value is None:
        emit("null")
    elif isinstance(value, bool):
        emit("true" if value else "false")
    elif isinstance(value, str):
        emit(str.__str__(value))
    elif isinstance(value, int):
        emit(int.__repr__(value))
    elif isinstance(value, float):
        emit(java_double(value))
    elif isinstance(value, list):
        emit("[" if to_string else "")
        for i, item in enumerate(value):
            if i:
                emit(", " if to_string else ",")
            _stringify(item, budget, out, size, to_string, depth + 1)
        emit("]" if to_string else "")
    elif isinstance(value, dict):
        emit("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                emit(", ")
            _stringify(k, budget, out, size, True, depth + 1)
            emit("=")
            _stringify(v, budget, out, size, True, depth + 1)
        emit("}")
    else:
        raise ExpressionEvaluationError(f"cannot convert a value of type {type_name(value)} to a string")


def java_equals(a: Any, b: Any, budget: Budget, depth: int = 0) -> bool:
    """SpEL ``==``: numbers by value, booleans only equal booleans, collections element-wise."""
    budget.tick()
    if depth > MAX_DOCUMENT_DEPTH:
        raise ExpressionLimitError(f"value is nested more than {MAX_DOCUMENT_DEPTH} levels deep")
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(java_equals(x, y, budget, depth + 1) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(java_equals(v, b[k], budget, depth + 1) for k, v in a.items())
    return False


def java_compare(a: Any, b: Any) -> int:
    """SpEL's StandardTypeComparator: null sorts first; numbers, strings, booleans among themselves."""
    if a is None or b is None:
        return 0 if a is b else (-1 if a is None else 1)
    if is_number(a) and is_number(b):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    if isinstance(a, bool) and isinstance(b, bool):
        return int(a) - int(b)
    raise ExpressionEvaluationError(f"cannot compare {type_name(a)} with {type_name(b)}")


_TRUE_WORDS = ("true", "on", "yes", "1")
_FALSE_WORDS = ("false", "off", "no", "0")


def to_boolean(value: Any, what: str = "operand") -> bool:
    """Spring's conversion to ``boolean`` for ``and``/``or``/``not``/``?:`` operands."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise ExpressionEvaluationError(f"{what} must be a boolean, not {type_name(value)} {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def to_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ExpressionEvaluationError(f"{what} must be an integer, not {type_name(value)}")
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in ("+", "-") else text
        if not digits or len(digits) > 19 or not all("0" <= c <= "9" for c in digits):
            raise ExpressionEvaluationError(f"{what} must be an integer, not {_short(value)}")
        return int(text)
    return value

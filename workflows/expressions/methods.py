"""The method allow-list: which Java methods may be called on which kind of value.

Nothing here calls ``getattr`` on a value: methods are looked up in explicit per-type tables, and
anything not listed is refused with :class:`ExpressionSecurityError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from workflows.expressions.errors import (
    MAX_COLLECTION_SIZE,
    Budget,
    ExpressionEvaluationError,
    ExpressionSecurityError,
)
from workflows.expressions.jregex import java_matches, java_replace, java_split
from workflows.expressions.values import (
    is_number,
    java_compare,
    java_equals,
    java_str,
    java_to_string,
    to_int,
    type_name,
)

# --- methods ------------------------------------------------------------------------------------


def _arity(name: str, args: list[Any], lo: int, hi: int | None = None) -> None:
    hi = lo if hi is None else hi
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ExpressionEvaluationError(f"method {name}() takes {want} argument(s), got {len(args)}")


def _str_arg(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ExpressionEvaluationError(f"method {name}() needs a string argument, not {type_name(value)}")
    return value


def _java_trim(s: str) -> str:
    start, end = 0, len(s)
    while start < end and s[start] <= " ":
        start += 1
    while end > start and s[end - 1] <= " ":
        end -= 1
    return s[start:end]


def _index_check(name: str, index: int, size: int, allow_end: bool = False) -> int:
    if index < 0 or index > size or (index == size and not allow_end):
        raise ExpressionEvaluationError(f"{name}: index {index} is out of range for length {size}")
    return index


def _substring(s: str, args: list[Any]) -> str:
    begin = _index_check("substring", to_int(args[0], "substring begin index"), len(s), allow_end=True)
    end = len(s) if len(args) == 1 else to_int(args[1], "substring end index")
    _index_check("substring", end, len(s), allow_end=True)
    if end < begin:
        raise ExpressionEvaluationError(f"substring: begin {begin} is after end {end}")
    return s[begin:end]


def _compare_to(a: str, b: str) -> int:
    for x, y in zip(a, b, strict=False):
        if x != y:
            return ord(x) - ord(y)
    return len(a) - len(b)


def _literal_replace(s: str, old: str, new: str) -> str:
    count = len(s) + 1 if old == "" else s.count(old)
    Budget.check_length(len(s) + count * max(len(new) - len(old), 0))
    return s.replace(old, new)


def _index_of(s: str, args: list[Any], last: bool) -> int:
    sub = _str_arg("indexOf", args[0])
    if len(args) == 1:
        return s.rfind(sub) if last else s.find(sub)
    start = to_int(args[1], "indexOf start")
    if last:
        return s.rfind(sub, 0, max(start, -1) + len(sub)) if start >= 0 else -1
    return s.find(sub, max(start, 0))


def _string_method(s: str, name: str, args: list[Any], budget: Budget) -> Any:
    n = len(args)
    if name in ("length", "isEmpty", "isBlank", "trim", "strip", "toUpperCase", "toLowerCase", "toString"):
        _arity(name, args, 0)
        return {
            "length": lambda: len(s),
            "isEmpty": lambda: s == "",
            "isBlank": lambda: s.strip() == "",
            "trim": lambda: _java_trim(s),
            "strip": lambda: s.strip(),
            "toUpperCase": lambda: s.upper(),
            "toLowerCase": lambda: s.lower(),
            "toString": lambda: s,
        }[name]()
    if name in ("contains", "endsWith", "equals", "equalsIgnoreCase", "concat", "compareTo", "matches"):
        _arity(name, args, 1)
        if name == "equals":
            return isinstance(args[0], str) and s == args[0]
        other = _str_arg(name, args[0])
        if name == "contains":
            return other in s
        if name == "endsWith":
            return s.endswith(other)
        if name == "equalsIgnoreCase":
            return s.lower() == other.lower()
        if name == "concat":
            Budget.check_length(len(s) + len(other))
            return s + other
        if name == "compareTo":
            return _compare_to(s, other)
        return java_matches(s, other, budget)
    if name == "startsWith":
        _arity(name, args, 1, 2)
        offset = to_int(args[1], "startsWith offset") if n == 2 else 0
        return 0 <= offset <= len(s) and s.startswith(_str_arg(name, args[0]), offset)
    if name == "charAt":
        _arity(name, args, 1)
        return s[_index_check("charAt", to_int(args[0], "charAt index"), len(s))]
    if name == "substring":
        _arity(name, args, 1, 2)
        return _substring(s, args)
    if name in ("indexOf", "lastIndexOf"):
        _arity(name, args, 1, 2)
        return _index_of(s, args, last=name == "lastIndexOf")
    if name == "replace":
        _arity(name, args, 2)
        return _literal_replace(s, java_str(args[0], budget), java_str(args[1], budget))
    if name in ("replaceAll", "replaceFirst"):
        _arity(name, args, 2)
        return java_replace(s, _str_arg(name, args[0]), _str_arg(name, args[1]), name == "replaceFirst", budget)
    if name == "split":
        _arity(name, args, 1, 2)
        limit = to_int(args[1], "split limit") if n == 2 else 0
        return java_split(s, _str_arg(name, args[0]), limit, budget)
    raise _not_allowed(name, "a string", STRING_METHODS)


def _list_method(lst: list[Any], name: str, args: list[Any], budget: Budget) -> Any:
    if name in ("size", "isEmpty", "toString"):
        _arity(name, args, 0)
        return len(lst) if name == "size" else (not lst if name == "isEmpty" else java_to_string(lst, budget))
    if name in ("contains", "indexOf", "lastIndexOf"):
        _arity(name, args, 1)
        budget.tick(len(lst))
        hits = [i for i, v in enumerate(lst) if java_equals(v, args[0], budget)]
        if name == "contains":
            return bool(hits)
        return (hits[-1] if name == "lastIndexOf" else hits[0]) if hits else -1
    if name == "get":
        _arity(name, args, 1)
        return lst[_index_check("get", to_int(args[0], "list index"), len(lst))]
    if name == "subList":
        _arity(name, args, 2)
        lo = _index_check("subList", to_int(args[0], "subList start"), len(lst), allow_end=True)
        hi = _index_check("subList", to_int(args[1], "subList end"), len(lst), allow_end=True)
        if hi < lo:
            raise ExpressionEvaluationError(f"subList: start {lo} is after end {hi}")
        return lst[lo:hi]
    if name == "equals":
        _arity(name, args, 1)
        return java_equals(lst, args[0], budget)
    raise _not_allowed(name, "a list", LIST_METHODS)


def _map_key(key: Any, budget: Budget) -> Any:
    return key if isinstance(key, str) else java_str(key, budget)


def _map_method(m: dict[Any, Any], name: str, args: list[Any], budget: Budget) -> Any:
    if name in ("size", "isEmpty", "keySet", "values", "toString"):
        _arity(name, args, 0)
        budget.tick(len(m) if name in ("keySet", "values") else 1)
        return {
            "size": lambda: len(m),
            "isEmpty": lambda: not m,
            "keySet": lambda: list(m.keys()),
            "values": lambda: list(m.values()),
            "toString": lambda: java_to_string(m, budget),
        }[name]()
    if name in ("containsKey", "get"):
        _arity(name, args, 1)
        key = _map_key(args[0], budget)
        return key in m if name == "containsKey" else m.get(key)
    if name == "getOrDefault":
        _arity(name, args, 2)
        key = _map_key(args[0], budget)
        return m[key] if key in m else args[1]
    if name == "containsValue":
        _arity(name, args, 1)
        budget.tick(len(m))
        return any(java_equals(v, args[0], budget) for v in m.values())
    if name == "equals":
        _arity(name, args, 1)
        return java_equals(m, args[0], budget)
    raise _not_allowed(name, "a map", MAP_METHODS)


def _number_method(x: int | float, name: str, args: list[Any], budget: Budget) -> Any:
    _arity(name, args, 1 if name in ("equals", "compareTo") else 0)
    if name in ("intValue", "longValue"):
        if isinstance(x, float) and not math.isfinite(x):
            raise ExpressionEvaluationError(f"{name}() of a non-finite number")
        return int(x)
    if name in ("doubleValue", "floatValue"):
        return float(x)
    if name == "toString":
        return java_str(x, budget)
    if name == "equals":
        return is_number(args[0]) and isinstance(args[0], type(x)) and x == args[0]
    if name == "compareTo":
        return java_compare(x, args[0])
    raise _not_allowed(name, "a number", NUMBER_METHODS)


def _boolean_method(b: bool, name: str, args: list[Any], budget: Budget) -> Any:
    _arity(name, args, 1 if name == "equals" else 0)
    if name == "booleanValue":
        return b
    if name == "toString":
        return java_str(b, budget)
    if name == "equals":
        return isinstance(args[0], bool) and b == args[0]
    raise _not_allowed(name, "a boolean", BOOLEAN_METHODS)


STRING_METHODS = (
    "charAt",
    "compareTo",
    "concat",
    "contains",
    "endsWith",
    "equals",
    "equalsIgnoreCase",
    "indexOf",
    "isBlank",
    "isEmpty",
    "lastIndexOf",
    "length",
    "matches",
    "replace",
    "replaceAll",
    "replaceFirst",
    "split",
    "startsWith",
    "strip",
    "substring",
    "toLowerCase",
    "toString",
    "toUpperCase",
    "trim",
)
LIST_METHODS = ("contains", "equals", "get", "indexOf", "isEmpty", "lastIndexOf", "size", "subList", "toString")
MAP_METHODS = (
    "containsKey",
    "containsValue",
    "equals",
    "get",
    "getOrDefault",
    "isEmpty",
    "keySet",
    "size",
    "toString",
    "values",
)
NUMBER_METHODS = ("compareTo", "doubleValue", "equals", "floatValue", "intValue", "longValue", "toString")
BOOLEAN_METHODS = ("booleanValue", "equals", "toString")

_DISPATCH: tuple[tuple[type | tuple[type, ...], Callable[..., Any], tuple[str, ...], str], ...] = (
    (bool, _boolean_method, BOOLEAN_METHODS, "a boolean"),
    (str, _string_method, STRING_METHODS, "a string"),
    ((int, float), _number_method, NUMBER_METHODS, "a number"),
    (list, _list_method, LIST_METHODS, "a list"),
    (dict, _map_method, MAP_METHODS, "a map"),
)


def _not_allowed(name: str, what: str, allowed: tuple[str, ...]) -> ExpressionSecurityError:
    return ExpressionSecurityError(f"method '{name}' is not allowed on {what}; allowed methods: {', '.join(allowed)}")


def call_method(receiver: Any, name: str, args: list[Any], budget: Budget) -> Any:
    """Call an allow-listed method. Anything else is refused with :class:`ExpressionSecurityError`."""
    budget.tick()
    if receiver is None:
        raise ExpressionEvaluationError(
            f"EL1011E: Method call: Attempted to call method {name}() on null context object"
        )
    if isinstance(receiver, str):
        budget.tick(len(receiver) >> 10)  # string work costs in proportion to the string's size
    for kind, impl, allowed, what in _DISPATCH:
        if isinstance(receiver, kind):
            if name not in allowed:
                raise _not_allowed(name, what, allowed)
            result = impl(receiver, name, args, budget)
            if isinstance(result, str):
                budget.tick(len(result) >> 10)
            if isinstance(result, list) and len(result) > MAX_COLLECTION_SIZE:
                Budget.check_length(len(result), "list")
            return result
    raise ExpressionSecurityError(f"method '{name}' cannot be called on a value of type {type(receiver).__name__}")

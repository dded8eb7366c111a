"""Go's template built-ins and the Sprig/sprout functions dinghyfiles use (argument order as in Sprig: the
piped value comes last). Pure functions; collections they build are bounded by ``MAX_ITEMS``."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from .gotemplate import go_format, truth

MAX_ITEMS = 100_000


def _num(value: Any) -> int | float:
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {go_format(value)}")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return float(value)
    if value is None:
        return 0
    raise TypeError(f"expected a number, got {go_format(value)}")


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _eq(a: Any, *others: Any) -> bool:
    if not others:
        raise TypeError("missing argument for comparison")
    return any(_same(a, b) for b in others)


def _cmp(op: str) -> Any:
    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, str) != isinstance(b, str):
            raise TypeError("incompatible types for comparison")
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]

    return compare


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list | tuple | str):
            value = value[int(key)]
        else:
            raise TypeError(f"can't index item of type {type(value).__name__}")
    return value


def _len(value: Any) -> int:
    if isinstance(value, str | list | tuple | dict):
        return len(value)
    raise TypeError(f"len of type {type(value).__name__}")


def _printf(fmt: str, *args: Any) -> str:
    """Go's ``printf`` for the verbs templates use: %v %s %d %q %t %f %%."""
    out, i, k = [], 0, 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%" or i + 1 >= len(fmt):
            out.append(ch)
            i += 1
            continue
        verb = fmt[i + 1]
        i += 2
        if verb == "%":
            out.append("%")
            continue
        arg = args[k] if k < len(args) else None
        k += 1
        if verb == "q":
            out.append(json.dumps(go_format(arg) if not isinstance(arg, str) else arg))
        elif verb == "d":
            out.append(str(int(_num(arg))))
        elif verb == "f":
            out.append(f"{float(_num(arg)):f}")
        else:
            out.append(go_format(arg))
    return "".join(out)


def _print(*args: Any) -> str:
    # Go's fmt.Sprint: spaces only between operands when neither is a string
    out = []
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(go_format(a))
    return "".join(out)


def _dict(*pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(pairs), 2):
        out[go_format(pairs[i])] = pairs[i + 1] if i + 1 < len(pairs) else ""
    return out


def _set(d: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    d[key] = value
    return d


def _empty(value: Any) -> bool:
    return not truth(value)


def _default(default: Any, *given: Any) -> Any:
    return given[0] if given and truth(given[0]) else default


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if truth(v)), None)


def _list(*items: Any) -> list[Any]:
    return list(items)


def _until(n: Any) -> list[int]:
    count = int(_num(n))
    if count > MAX_ITEMS:
        raise ValueError(f"until {count}: more than {MAX_ITEMS} items (the collection limit)")
    return list(range(count))


def _repeat(n: Any, s: str) -> str:
    count = int(_num(n))
    if count * len(s) > 1_000_000:
        raise ValueError("repeat: the result would exceed 1,000,000 characters")
    return s * count


def _indent(n: Any, s: str) -> str:
    pad = " " * int(_num(n))
    return pad + s.replace("\n", "\n" + pad)


def _title(s: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in s.split(" "))


def _substr(start: Any, end: Any, s: str) -> str:
    a, b = int(_num(start)), int(_num(end))
    if a < 0:
        return s[:b]
    if b < 0 or b > len(s):
        return s[a:]
    return s[a:b]


def _trunc(n: Any, s: str) -> str:
    c = int(_num(n))
    return s[:c] if c >= 0 else s[c:]


def _split(sep: str, s: str) -> dict[str, str]:
    return {f"_{i}": part for i, part in enumerate(s.split(sep))}


def _append(items: list[Any], value: Any) -> list[Any]:
    return [*items, value]


def _uniq(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _from_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return ""


def _to_string(value: Any) -> str:
    return value if isinstance(value, str) else go_format(value)


def _add(*values: Any) -> int | float:
    return sum(_num(v) for v in values)


def builtins() -> dict[str, Any]:
    """Go's built-in template functions (``and``/``or`` are evaluated lazily by the executor)."""
    return {
        "not": lambda v: not truth(v),
        "eq": _eq,
        "ne": lambda a, b: not _eq(a, b),
        "lt": _cmp("lt"),
        "le": _cmp("le"),
        "gt": _cmp("gt"),
        "ge": _cmp("ge"),
        "len": _len,
        "index": _index,
        "print": _print,
        "printf": _printf,
        "println": lambda *a: " ".join(go_format(x) for x in a) + "\n",
    }


def sprig() -> dict[str, Any]:
    """The Sprig/sprout functions Dinghy users reach for: collections, defaults, strings, JSON, numbers."""
    return {
        "dict": _dict,
        "list": _list,
        "tuple": _list,
        "get": lambda d, k: d.get(k, "") if isinstance(d, Mapping) else "",
        "set": _set,
        "unset": lambda d, k: (d.pop(k, None), d)[1],
        "hasKey": lambda d, k: isinstance(d, Mapping) and k in d,
        "keys": lambda *ds: sorted(k for d in ds for k in d),
        "values": lambda d: [d[k] for k in d],
        "pluck": lambda k, *ds: [d[k] for d in ds if k in d],
        "merge": lambda dst, *srcs: {**{k: v for s in reversed(srcs) for k, v in s.items()}, **dst},
        "default": _default,
        "empty": _empty,
        "coalesce": _coalesce,
        "ternary": lambda a, b, cond: a if truth(cond) else b,
        "toJson": lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False),
        "toPrettyJson": lambda v: json.dumps(v, indent=2, ensure_ascii=False),
        "toRawJson": lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False),
        "fromJson": _from_json,
        "quote": lambda *s: " ".join(json.dumps(_to_string(x)) for x in s if x is not None),
        "squote": lambda *s: " ".join(f"'{_to_string(x)}'" for x in s if x is not None),
        "upper": lambda s: s.upper(),
        "lower": lambda s: s.lower(),
        "title": _title,
        "trim": lambda s: s.strip(),
        "trimAll": lambda c, s: s.strip(c),
        "trimPrefix": lambda p, s: s[len(p) :] if s.startswith(p) else s,
        "trimSuffix": lambda p, s: s[: -len(p)] if p and s.endswith(p) else s,
        "replace": lambda old, new, s: s.replace(old, new),
        "contains": lambda sub, s: sub in s,
        "hasPrefix": lambda p, s: s.startswith(p),
        "hasSuffix": lambda p, s: s.endswith(p),
        "split": _split,
        "splitList": lambda sep, s: s.split(sep),
        "join": lambda sep, items: sep.join(_to_string(i) for i in items),
        "cat": lambda *s: " ".join(_to_string(x) for x in s if x is not None),
        "indent": _indent,
        "nindent": lambda n, s: "\n" + _indent(n, s),
        "repeat": _repeat,
        "substr": _substr,
        "trunc": _trunc,
        "toString": _to_string,
        "toStrings": lambda items: [_to_string(i) for i in items],
        "atoi": lambda s: int(s) if str(s).lstrip("-").isdigit() else 0,
        "int": lambda v: int(_num(v)),
        "int64": lambda v: int(_num(v)),
        "float64": lambda v: float(_num(v)),
        "add": _add,
        "add1": lambda v: _num(v) + 1,
        "sub": lambda a, b: _num(a) - _num(b),
        "mul": lambda *v: __import__("math").prod(_num(x) for x in v),
        "div": lambda a, b: (
            int(_num(a) / _num(b)) if isinstance(_num(a), int) and isinstance(_num(b), int) else _num(a) / _num(b)
        ),
        "mod": lambda a, b: _num(a) % _num(b),
        "max": lambda *v: max(_num(x) for x in v),
        "min": lambda *v: min(_num(x) for x in v),
        "first": lambda items: items[0] if items else None,
        "last": lambda items: items[-1] if items else None,
        "rest": lambda items: list(items[1:]),
        "initial": lambda items: list(items[:-1]),
        "append": _append,
        "push": _append,
        "prepend": lambda items, v: [v, *items],
        "concat": lambda *ls: [x for item in ls for x in item],
        "uniq": _uniq,
        "has": lambda v, items: v in items,
        "without": lambda items, *drop: [i for i in items if i not in drop],
        "reverse": lambda items: list(reversed(items)),
        "sortAlpha": lambda items: sorted(_to_string(i) for i in items),
        "until": _until,
        "b64enc": lambda s: base64.b64encode(s.encode()).decode(),
        "b64dec": lambda s: base64.b64decode(s.encode()).decode(),
    }

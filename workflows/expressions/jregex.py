"""Java-style regular expressions (``matches``, ``split``, ``replaceAll``, ``replaceFirst``) on top of
Python's ``re``, with deterministic guards against catastrophic backtracking.

There is no clock to time a match out (this runs in Temporal workflow code), so patterns are
vetted before use:

* pattern length is capped (``MAX_REGEX_LENGTH``) and so is the subject (``MAX_REGEX_SUBJECT``);
* backreferences are refused, and so are repeated groups that themselves contain a quantifier or an
  alternation (``(a+)+``, ``(a|aa)*``): the shapes that backtrack exponentially;
* the remaining polynomial risk is estimated as ``len(subject) ** k`` where ``k`` is the number of
  unbounded quantifiers (plus one for an unanchored search); above ``MAX_REGEX_COST`` the call is
  refused rather than run.
"""

from __future__ import annotations

import re
from functools import lru_cache

from workflows.expressions.errors import (
    MAX_COLLECTION_SIZE,
    MAX_REGEX_COST,
    MAX_REGEX_LENGTH,
    MAX_REGEX_SUBJECT,
    MAX_STRING_LENGTH,
    Budget,
    ExpressionEvaluationError,
    ExpressionLimitError,
)

_UNBOUNDED_OVER = 10  # {n,m} with m above this counts as unbounded for the cost estimate
_INF = 1 << 30


def _quantifier(p: str, i: int) -> tuple[int, int | None]:
    """Parse an optional quantifier at ``p[i]``; returns (next index, max repeat or None if absent)."""
    n = len(p)
    if i >= n:
        return i, None
    c = p[i]
    if c in "*+":
        hi = _INF
        i += 1
    elif c == "?":
        hi = 1
        i += 1
    elif c == "{":
        m = re.match(r"\{(\d{1,9})(,(\d{0,9}))?\}", p[i:])
        if not m:
            return i, None
        hi = int(m.group(1)) if m.group(2) is None else (int(m.group(3)) if m.group(3) else _INF)
        i += m.end()
    else:
        return i, None
    if i < n and p[i] in "?+":  # lazy / possessive
        i += 1
    return i, hi


def _skip_group_prefix(p: str, i: int) -> tuple[int, str]:
    """``p[i]`` is just past '('. Skip a ``?…`` group prefix; return (index, translated prefix)."""
    n = len(p)
    if i >= n or p[i] != "?":
        return i, ""
    j = i + 1
    if j < n and p[j] in ":=!>":
        return j + 1, p[i : j + 1]
    if p.startswith("<=", j) or p.startswith("<!", j):
        return j + 2, p[i : j + 2]
    if j < n and p[j] == "<":  # Java named group (?<name>...) -> Python (?P<name>...)
        end = p.find(">", j)
        if end < 0:
            raise ExpressionEvaluationError("regex: unterminated group name")
        return end + 1, "?P" + p[j : end + 1]
    if p.startswith("P=", j):
        raise ExpressionEvaluationError("regex: backreferences are not allowed")
    if p.startswith("P<", j):
        end = p.find(">", j)
        if end < 0:
            raise ExpressionEvaluationError("regex: unterminated group name")
        return end + 1, p[i : end + 1]
    while j < n and (p[j].isalpha() or p[j] == "-"):  # inline flags (?i) / (?i:...)
        j += 1
    if j < n and p[j] in ":)":
        return j + (1 if p[j] == ":" else 0), p[i : j + (1 if p[j] == ":" else 0)]
    raise ExpressionEvaluationError(f"regex: unsupported group construct near position {i}")


@lru_cache(maxsize=512)
def compile_java(pattern: str) -> tuple[re.Pattern[str], int, bool]:
    """Vet and compile a Java regex. Returns (compiled, unbounded quantifier count, anchored)."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise ExpressionLimitError(f"regex is {len(pattern)} characters long; the limit is {MAX_REGEX_LENGTH}")
    out: list[str] = []
    stack: list[list[bool]] = [[False, False]]  # per open group: [contains quantifier, contains '|']
    unbounded = 0
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        start = i
        if c == "\\":
            if i + 1 >= n:
                raise ExpressionEvaluationError("regex: pattern ends with a backslash")
            d = pattern[i + 1]
            if (d.isdigit() and d != "0") or d == "k":
                raise ExpressionEvaluationError("regex: backreferences are not allowed")
            i += 2
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                if pattern[j] == "[" or pattern[j : j + 2] in ("&&", "--", "||", "~~"):
                    raise ExpressionEvaluationError(
                        "regex: nested character classes and class set operations are not supported"
                    )
                j += 2 if pattern[j] == "\\" else 1
            if j >= n:
                raise ExpressionEvaluationError("regex: unclosed character class")
            i = j + 1
        elif c == "(":
            i, prefix = _skip_group_prefix(pattern, i + 1)
            out.append("(" + prefix)
            stack.append([False, False])
            continue
        elif c == ")":
            if len(stack) == 1:
                raise ExpressionEvaluationError("regex: unbalanced parenthesis")
            has_quant, has_alt = stack.pop()
            i += 1
            j, hi = _quantifier(pattern, i)
            if hi is not None and hi > 1 and (has_quant or has_alt):
                raise ExpressionEvaluationError(
                    "regex: a repeated group may not contain another quantifier or '|' "
                    "(patterns like (a+)+ can take exponential time)"
                )
            if hi is not None and hi > _UNBOUNDED_OVER:
                unbounded += 1
            stack[-1][0] = stack[-1][0] or has_quant or hi is not None
            stack[-1][1] = stack[-1][1] or has_alt
            out.append(pattern[start:j])
            i = j
            continue
        elif c == "|":
            stack[-1][1] = True
            i += 1
            out.append(c)
            continue
        elif c in "*+?{" and not (c == "{" and _quantifier(pattern, i)[1] is None):
            raise ExpressionEvaluationError(f"regex: quantifier '{c}' has nothing to repeat")
        else:
            i += 1
        j, hi = _quantifier(pattern, i)
        if hi is not None:
            stack[-1][0] = True
            if hi > _UNBOUNDED_OVER:
                unbounded += 1
        out.append(pattern[start:j])
        i = j
    if len(stack) != 1:
        raise ExpressionEvaluationError("regex: missing closing parenthesis")
    anchored = (pattern.startswith("^") or pattern.startswith("\\A")) and not stack[0][1]
    try:
        compiled = re.compile("".join(out))
    except (re.error, OverflowError, ValueError, RecursionError) as e:
        raise ExpressionEvaluationError(f"invalid regular expression {pattern!r}: {e}") from None
    return compiled, unbounded, anchored


def _prepare(subject: str, pattern: str, search: bool, budget: Budget | None) -> re.Pattern[str]:
    compiled, unbounded, anchored = compile_java(pattern)
    if len(subject) > MAX_REGEX_SUBJECT:
        raise ExpressionLimitError(f"regex subject is {len(subject)} characters long; the limit is {MAX_REGEX_SUBJECT}")
    power = max(unbounded + (1 if search and not anchored else 0), 1)
    cost = (len(subject) + 1) ** power
    if cost > MAX_REGEX_COST:
        raise ExpressionLimitError(
            f"regex {pattern!r} has {unbounded} unbounded quantifiers; applying it to a "
            f"{len(subject)}-character string could backtrack too long (regex cost limit)"
        )
    if budget is not None:  # charge the evaluation budget for the (estimated) matching work
        budget.tick(1 + (len(subject) >> 5) + (cost >> 12))
    return compiled


def java_matches(subject: str, pattern: str, budget: Budget | None = None) -> bool:
    """Java ``String.matches`` / SpEL ``matches``: the whole subject must match."""
    return _prepare(subject, pattern, False, budget).fullmatch(subject) is not None


def java_split(subject: str, pattern: str, limit: int = 0, budget: Budget | None = None) -> list[str]:
    """Java ``String.split(regex, limit)``, including its trailing-empty-string rules."""
    compiled = _prepare(subject, pattern, True, budget)
    parts: list[str] = []
    index = 0
    for m in compiled.finditer(subject):
        if 0 < limit <= len(parts) + 1:
            break
        if m.end() == 0:  # a zero-width match at the start never yields a leading empty string
            continue
        parts.append(subject[index : m.start()])
        index = m.end()
        if budget is not None:
            budget.tick()
        if len(parts) >= MAX_COLLECTION_SIZE:
            raise ExpressionLimitError(f"split would produce more than {MAX_COLLECTION_SIZE} parts")
    if not parts and index == 0:
        return [subject]
    parts.append(subject[index:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def _parse_replacement(replacement: str, compiled: re.Pattern[str]) -> list[str | int]:
    """Java replacement syntax: ``$1`` / ``${name}`` are groups, ``\\x`` is a literal ``x``."""
    parts: list[str | int] = []
    buf: list[str] = []
    i, n = 0, len(replacement)
    while i < n:
        c = replacement[i]
        if c == "\\":
            if i + 1 >= n:
                raise ExpressionEvaluationError("replacement ends with a backslash")
            buf.append(replacement[i + 1])
            i += 2
        elif c == "$":
            if buf:
                parts.append("".join(buf))
                buf = []
            if replacement.startswith("{", i + 1):
                end = replacement.find("}", i + 2)
                name = replacement[i + 2 : end] if end > 0 else ""
                if name not in compiled.groupindex:
                    raise ExpressionEvaluationError(f"replacement: no group named {name!r}")
                parts.append(compiled.groupindex[name])
                i = end + 1
                continue
            j = i + 1
            if j >= n or not replacement[j].isdigit():
                raise ExpressionEvaluationError("replacement: illegal group reference after '$'")
            group = int(replacement[j])
            j += 1
            while j < n and replacement[j].isdigit() and group * 10 + int(replacement[j]) <= compiled.groups:
                group = group * 10 + int(replacement[j])
                j += 1
            if group > compiled.groups:
                raise ExpressionEvaluationError(f"replacement: no group {group}")
            parts.append(group)
            i = j
        else:
            buf.append(c)
            i += 1
    if buf:
        parts.append("".join(buf))
    return parts


def java_replace(
    subject: str, pattern: str, replacement: str, first: bool = False, budget: Budget | None = None
) -> str:
    """Java ``replaceAll`` / ``replaceFirst``."""
    compiled = _prepare(subject, pattern, True, budget)
    parts = _parse_replacement(replacement, compiled)
    size = [len(subject)]

    def expand(m: re.Match[str]) -> str:
        if budget is not None:
            budget.tick()
        text = "".join(p if isinstance(p, str) else (m.group(p) or "") for p in parts)
        size[0] += len(text) - (m.end() - m.start())
        if size[0] > MAX_STRING_LENGTH:
            raise ExpressionLimitError(f"replacement result longer than the limit of {MAX_STRING_LENGTH} characters")
        return text

    return compiled.sub(expand, subject, count=1 if first else 0)

"""Java-style regular expressions (``matches``, ``split``, ``replaceAll``, ``replaceFirst``) run by RE2.

RE2 (the ``google-re2`` package) matches in time linear in the subject whatever the pattern, so
``(a+)+$`` on a long string ends at once instead of backtracking for hours. Java's dialect is
translated to RE2's here; what RE2 cannot do in linear time (backreferences, lookahead and
lookbehind, atomic groups, possessive quantifiers) is refused with an error naming the pattern.
Deterministic (no clocks): safe inside Temporal workflow code. Also used for trigger constraints and
git branch patterns (:func:`compile_java`, :func:`pattern_error`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import re2

from workflows.expressions.errors import (
    MAX_COLLECTION_SIZE,
    MAX_REGEX_LENGTH,
    MAX_REGEX_SUBJECT,
    MAX_STRING_LENGTH,
    Budget,
    ExpressionEvaluationError,
    ExpressionLimitError,
)

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every bad user pattern to stderr
_OPTIONS.max_mem = 8 << 20  # a compiled program larger than this is refused ("pattern too large")

_QUANT = re.compile(r"\{(\d{1,9})(,(\d{0,9}))?\}")
# u: RE2 folds case by Unicode already; d: lines end at \n only, as in RE2
_JAVA_FLAGS = {"i": "i", "m": "m", "s": "s", "u": "", "d": ""}
_LITERAL_ESCAPES = {"e": r"\x1B", "Z": r"\z"}  # Java's \Z also allows a final line break: close enough


def _fail(pattern: str, why: str) -> ExpressionEvaluationError:
    return ExpressionEvaluationError(f"regex {pattern!r}: {why}")


def _quantifier(p: str, i: int) -> tuple[int, bool]:
    """Skip an optional quantifier at ``p[i]``; returns (next index, whether one was there).
    Possessive quantifiers (``a*+``) are refused: they need backtracking control RE2 does not have."""
    n = len(p)
    if i >= n:
        return i, False
    c = p[i]
    if c in "*+?":
        i += 1
    elif c == "{":
        m = _QUANT.match(p, i)
        if not m:
            return i, False
        i = m.end()
    else:
        return i, False
    if i < n and p[i] == "+":
        raise _fail(p, "possessive quantifiers (like a*+) are not supported by the linear-time regex engine")
    if i < n and p[i] == "?":
        i += 1
    return i, True


def _group_prefix(p: str, i: int) -> tuple[int, str]:
    """``p[i]`` is just past '('. Translate a ``?…`` group prefix; returns (index, RE2 prefix)."""
    n = len(p)
    if i >= n or p[i] != "?":
        return i, ""
    j = i + 1
    if j < n and p[j] == ":":
        return j + 1, "?:"
    if p.startswith(("=", "!", "<=", "<!"), j):
        raise _fail(p, "lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported by the linear-time engine")
    if j < n and p[j] == ">":
        raise _fail(p, "atomic groups (?>...) are not supported by the linear-time regex engine")
    if j < n and p[j] == "<":  # Java named group (?<name>...)
        end = p.find(">", j)
        if end < 0:
            raise _fail(p, "unterminated group name")
        name = p[j + 1 : end]
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
            raise _fail(p, f"invalid group name {name!r}")
        return end + 1, f"?P<{name}>"
    k = j
    while k < n and (p[k].isalpha() or p[k] == "-"):  # inline flags (?i) / (?i-s:...)
        k += 1
    if k < n and p[k] in ":)":
        flags = []
        for f in p[j:k]:
            if f != "-" and f not in _JAVA_FLAGS:
                raise _fail(p, f"the inline flag {f!r} is not supported (only i, m, s, u and d are)")
            flags.append(_JAVA_FLAGS.get(f, f))
        text = "".join(flags).rstrip("-")
        if p[k] == ":":
            return k + 1, f"?{text}:" if text else "?:"
        return k, f"?{text}" if text and text != "-" else ""
    raise _fail(p, f"unsupported group construct near position {i}")


def _escape(p: str, i: int, in_class: bool) -> tuple[int, str]:
    """Translate the escape at ``p[i]`` (a backslash); returns (next index, RE2 text)."""
    n = len(p)
    if i + 1 >= n:
        raise _fail(p, "pattern ends with a backslash")
    d = p[i + 1]
    if (d.isdigit() and d != "0") or d == "k":
        raise _fail(p, "backreferences are not supported by the linear-time regex engine")
    if d == "Q":  # \Q...\E quotes everything in between
        end = p.find("\\E", i + 2)
        literal = p[i + 2 :] if end < 0 else p[i + 2 : end]
        return (n if end < 0 else end + 2), "".join(re2.escape(ch) if ch.isascii() else ch for ch in literal)
    if d == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", p[i + 2 : i + 6]):
        return i + 6, "\\x{" + p[i + 2 : i + 6] + "}"
    if d == "0":
        m = re.match(r"[0-3]?[0-7]{1,2}", p[i + 2 :])
        if not m:
            raise _fail(p, "illegal octal escape")
        return i + 2 + m.end(), f"\\x{{{int(m.group(0), 8):x}}}"
    if d == "c" and i + 2 < n:
        return i + 3, f"\\x{{{ord(p[i + 2]) ^ 64:x}}}"
    if d in "GRXhHK" or (d == "v" and not in_class):
        raise _fail(p, f"the escape \\{d} is not supported by the linear-time regex engine")
    if d in _LITERAL_ESCAPES and not (in_class and d == "Z"):
        return i + 2, _LITERAL_ESCAPES[d]
    return i + 2, p[i : i + 2]


def translate(pattern: str) -> str:
    """Java's regex dialect rewritten for RE2, or an error naming the pattern and what it cannot use."""
    out: list[str] = []
    depth = 0
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        start = i
        if c == "\\":
            i, text = _escape(pattern, i, False)
            out.append(text)
        elif c == "[":
            j = i + 1
            piece = ["["]
            if j < n and pattern[j] == "^":
                piece.append("^")
                j += 1
            if j < n and pattern[j] == "]":
                piece.append("\\]")
                j += 1
            while j < n and pattern[j] != "]":
                if pattern[j] == "[" or pattern[j : j + 2] in ("&&", "--", "||", "~~"):
                    raise _fail(pattern, "nested character classes and class set operations are not supported")
                if pattern[j] == "\\":
                    j, text = _escape(pattern, j, True)
                    piece.append(text)
                else:
                    piece.append(pattern[j])
                    j += 1
            if j >= n:
                raise _fail(pattern, "unclosed character class")
            out.append("".join(piece) + "]")
            i = j + 1
        elif c == "(":
            i, prefix = _group_prefix(pattern, i + 1)
            if prefix == "" and pattern[i - 1] != "(":  # a bare flag group like (?u) that RE2 does not need
                i += 1
                continue
            out.append("(" + prefix)
            depth += 1
            continue
        elif c == ")":
            if depth == 0:
                raise _fail(pattern, "unbalanced parenthesis")
            depth -= 1
            out.append(")")
            i += 1
        elif c in "*+?" or (c == "{" and _QUANT.match(pattern, i)):
            raise _fail(pattern, f"quantifier '{c}' has nothing to repeat")
        else:
            out.append(c)
            i += 1
        if pattern[start] != "(":
            j, quantified = _quantifier(pattern, i)
            if quantified:
                out.append(pattern[i:j])
                i = j
    if depth:
        raise _fail(pattern, "missing closing parenthesis")
    return "".join(out)


@lru_cache(maxsize=512)
def compile_java(pattern: str) -> Any:
    """A Java regex compiled by RE2 (cached). Raises an expression error naming the pattern when it is too
    long, uses what RE2 cannot run in linear time, or is not a valid regex."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise ExpressionLimitError(f"regex is {len(pattern)} characters long; the limit is {MAX_REGEX_LENGTH}")
    translated = translate(pattern)
    try:
        return re2.compile(translated, _OPTIONS)
    except (re2.error, UnicodeEncodeError, TypeError, ValueError) as e:
        detail = e.args[0].decode(errors="replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ExpressionEvaluationError(f"invalid regular expression {pattern!r}: {detail}") from None


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used (for trigger constraints and branch patterns), or None when it can."""
    try:
        compile_java(pattern)
    except (ExpressionEvaluationError, ExpressionLimitError) as e:
        return str(e)
    return None


def _prepare(subject: str, pattern: str, budget: Budget | None) -> Any:
    compiled = compile_java(pattern)
    if len(subject) > MAX_REGEX_SUBJECT:
        raise ExpressionLimitError(f"regex subject is {len(subject)} characters long; the limit is {MAX_REGEX_SUBJECT}")
    try:
        subject.encode("utf-8")
    except UnicodeEncodeError:
        raise ExpressionEvaluationError("regex subject contains an unpaired surrogate character") from None
    if budget is not None:  # RE2 is linear: charge for the characters it reads
        budget.tick(1 + (len(subject) >> 3))
    return compiled


def java_matches(subject: str, pattern: str, budget: Budget | None = None) -> bool:
    """Java ``String.matches`` / SpEL ``matches``: the whole subject must match."""
    return _prepare(subject, pattern, budget).fullmatch(subject) is not None


_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED
#: evaluation steps charged per match found: a match costs a few microseconds, an evaluation step a fraction
_STEPS_PER_MATCH = 8


def _each_match(compiled: Any, subject: str, budget: Budget | None) -> Any:
    """Successive matches as Java's ``Matcher.find`` loop finds them, each a list of (start, end) character
    spans (group 0 first; (-1, -1) for a group that did not take part).

    Calls RE2's matcher directly on the UTF-8 bytes (the wrapper's ``finditer`` costs twice as much per match
    and reports an empty match found past its start position twice)."""
    data = subject.encode("utf-8")
    end = len(data)
    if end == len(subject):
        to_char: dict[int, int] | None = None
    else:  # byte offset -> character offset, for every character boundary
        to_char, offset = {0: 0}, 0
        for i, ch in enumerate(subject):
            offset += len(ch.encode("utf-8"))
            to_char[offset] = i + 1
    regexp = compiled._regexp  # google-re2's compiled RE2 object
    pos = 0
    while pos <= end:
        spans = regexp.Match(_UNANCHORED, data, pos, end)
        start, stop = spans[0]
        if start < 0:
            return
        if budget is not None:
            budget.tick(_STEPS_PER_MATCH)
        if to_char is None:
            yield spans
            pos = stop + 1 if start == stop else stop
        else:
            yield [(-1, -1) if s < 0 else (to_char[s], to_char[e]) for s, e in spans]
            if start == stop:  # step over one whole character
                char = to_char[stop]
                pos = end + 1 if char >= len(subject) else stop + len(subject[char].encode("utf-8"))
            else:
                pos = stop


def java_split(subject: str, pattern: str, limit: int = 0, budget: Budget | None = None) -> list[str]:
    """Java ``String.split(regex, limit)``, including its trailing-empty-string rules."""
    compiled = _prepare(subject, pattern, budget)
    parts: list[str] = []
    index = 0
    for spans in _each_match(compiled, subject, budget):
        if 0 < limit <= len(parts) + 1:
            break
        start, stop = spans[0]
        if stop == 0:  # a zero-width match at the start never yields a leading empty string
            continue
        parts.append(subject[index:start])
        index = stop
        if len(parts) >= MAX_COLLECTION_SIZE:
            raise ExpressionLimitError(f"split would produce more than {MAX_COLLECTION_SIZE} parts")
    if not parts and index == 0:
        return [subject]
    parts.append(subject[index:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def _parse_replacement(replacement: str, compiled: Any) -> list[str | int]:
    """Java replacement syntax: ``$1`` / ``${name}`` are groups, ``\\x`` is a literal ``x``."""
    parts: list[str | int] = []
    buf: list[str] = []
    groups: int = compiled.groups
    names: dict[str, int] = compiled.groupindex
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
                if name not in names:
                    raise ExpressionEvaluationError(f"replacement: no group named {name!r}")
                parts.append(names[name])
                i = end + 1
                continue
            j = i + 1
            if j >= n or not replacement[j].isdigit():
                raise ExpressionEvaluationError("replacement: illegal group reference after '$'")
            group = int(replacement[j])
            j += 1
            while j < n and replacement[j].isdigit() and group * 10 + int(replacement[j]) <= groups:
                group = group * 10 + int(replacement[j])
                j += 1
            if group > groups:
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
    compiled = _prepare(subject, pattern, budget)
    parts = _parse_replacement(replacement, compiled)
    out: list[str] = []
    size = index = 0
    for spans in _each_match(compiled, subject, budget):
        text = "".join(p if isinstance(p, str) else subject[spans[p][0] : spans[p][1]] for p in parts)
        start, stop = spans[0]
        out.append(subject[index:start])
        out.append(text)
        size += start - index + len(text)
        index = stop
        if size + len(subject) - index > MAX_STRING_LENGTH:
            raise ExpressionLimitError(f"replacement result longer than the limit of {MAX_STRING_LENGTH} characters")
        if first:
            break
    out.append(subject[index:])
    return "".join(out)

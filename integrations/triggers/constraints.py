"""Echo's text matching: ``payloadConstraints`` (regex *search*, keys may be JSONPath) and regex full matches.

Echo's ``ArtifactMatcher.isJsonPathConstraintInPayload``, re-stated:

* for each ``key → value`` of the constraints, if ``key`` is a top-level key of the payload with a
  non-null value, ``value`` (as Java prints it) must be *found* (``Matcher.find``, not a full
  match) in the payload value (as Java prints it: lists as ``[a, b]``, objects as ``{k=v}``);
* otherwise ``key`` is read as a JSONPath (``$.`` is put in front when it starts with neither
  ``$`` nor ``@``, as Jayway does); the value there must be a string, number or boolean (compared
  as text) or a list (any of its strings, numbers or booleans may match); objects, nulls, missing
  paths and bad paths never match;
* a constraint whose regex does not compile never matches.

Patterns are Java regexes run by RE2 (``workflows.expressions.jregex``): linear time whatever the
pattern, so a payload cannot make a constraint backtrack for hours; what RE2 cannot run (backreferences,
lookaround) counts as a regex that does not compile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jsonpath_ng.ext import parse as _parse_json_path

from core.fields import java_string as java_str
from workflows.expressions.jregex import compile_java, pattern_error

# Jayway's indefinite paths (deep scan, wildcard, filter, several indexes or names) return lists.
_INDEFINITE_PATH = re.compile(r"\.\.|\*|\[\s*\?|\[[^\]]*[,:][^\]]*\]")


def compile_pattern(pattern: str) -> Any:
    """The compiled (RE2) regex, or None when it cannot be used (Echo logs and treats it as never matching);
    :func:`workflows.expressions.jregex.pattern_error` says why."""
    return None if pattern_error(pattern) else compile_java(pattern)


def regex_find(pattern: str, text: str) -> bool:
    """Java's ``Pattern.compile(pattern).asPredicate().test(text)``: the pattern occurs somewhere in the text."""
    compiled = compile_pattern(pattern)
    return compiled is not None and _valid_text(text) and compiled.search(text) is not None


def regex_full_match(pattern: str, text: str) -> bool:
    """Java's ``Pattern.matches``: the pattern covers the whole text. An invalid pattern never matches."""
    compiled = compile_pattern(pattern)
    return compiled is not None and _valid_text(text) and compiled.fullmatch(text) is not None


def _valid_text(text: str) -> bool:
    """RE2 reads UTF-8: a string holding an unpaired surrogate (possible from JSON escapes) never matches."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_definite_path(path: str) -> bool:
    """Does the JSONPath name one value (Jayway returns it as is) rather than a set (returned as a list)?"""
    return not _INDEFINITE_PATH.search(path)


@lru_cache(maxsize=512)
def _compiled_path(path: str) -> Any:
    try:
        return _parse_json_path(path)
    except Exception:  # jsonpath-ng raises several unrelated types for bad syntax
        return None


def json_path_texts(payload: Any, key: str) -> list[str] | None:
    """The texts a constraint's regex is tried on when its key is a JSONPath; None when nothing usable is there."""
    path = key if key.startswith(("$", "@")) else "$." + key
    expression = _compiled_path(path)
    if expression is None:
        return None
    try:
        found = [m.value for m in expression.find(payload)]
    except Exception:  # a path that cannot be applied to this document reads as missing
        return None
    if is_definite_path(path):
        if not found:
            return None
        value = found[0]
        if isinstance(value, list):
            return _scalar_texts(value)
        if value is None or isinstance(value, dict):
            return None
        return [java_str(value)]
    return _scalar_texts(found)


def _scalar_texts(values: list[Any]) -> list[str]:
    return [java_str(v) for v in values if isinstance(v, str | int | float)]


def payload_constraints_match(constraints: Mapping[Any, Any], payload: Mapping[str, Any]) -> bool:
    """Do all the constraints hold for the payload? An empty mapping always holds."""
    for key, expected in constraints.items():
        key_text = java_str(key)
        if key_text in payload and payload[key_text] is not None:
            if expected is not None and not regex_find(java_str(expected), java_str(payload[key_text])):
                return False
            continue
        texts = json_path_texts(payload, key_text)
        if texts is None:
            return False
        # Echo fails on a null value here; we read it as "the path only has to be there".
        if expected is not None and not any(regex_find(java_str(expected), t) for t in texts):
            return False
    return True

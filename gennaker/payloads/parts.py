"""Large JSON sub-values stored once however many payloads embed them.

One 4 MB trigger sits in the pipeline's input, in each stage's input, in each record of the execution, and a
polled webhook body in each poll's result: whole payloads differ, so whole-payload keys alone would store it again
each time. A JSON value's bytes do not depend on where it is embedded (Temporal's converter writes canonical JSON),
so a large payload's large sub-values (64 KiB or more) are cut out of its bytes as parts, each stored under the
sha256 of its bytes, and replaced by a marker string. The cuts are spans of the original text, found with the
json module's C scanner, so putting the parts back where the markers are gives the original bytes exactly
(checked as well); a payload that is not JSON, or holds a marker-like string, is stored whole.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

PART_MIN = 64 * 1024
MAX_DEPTH = 12
MAX_MEMBERS = 1000  # a container with more members is cut whole or not at all (walking each costs time)
MARK = "\x00gennaker-part:"
# the marker as JSON writes it (ASCII: the NUL escaped), with the part's key
MARKER = re.compile(rb'"\\u0000gennaker-part:([0-9a-f]{64})"')
_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner: (value, end)


class _TooWide(Exception):
    pass


def split(data: bytes, part_min: int = PART_MIN) -> tuple[bytes, dict[str, bytes]] | None:
    """(``data`` with its large sub-values replaced by markers, the parts by key), or None when there is nothing
    to cut or ``data`` is not a JSON object or array."""
    if MARKER.search(data):
        return None
    try:
        text = data.decode("utf-8")
        start = _skip(text, 0)
        if text[start : start + 1] not in ("{", "["):
            return None
        end = len(text.rstrip(" \t\n\r"))  # the top-level value ends the text (checked by the join below)
        parts: dict[str, bytes] = {}
        doc = (text[:start] + _cut(text, start, end, 0, part_min, parts) + text[end:]).encode()
    except (UnicodeDecodeError, ValueError, IndexError, StopIteration, _TooWide):
        return None
    if not parts or join(doc, parts.__getitem__) != data:
        return None
    return doc, parts


def _skip(text: str, idx: int) -> int:
    """The first position at or after ``idx`` that is not JSON whitespace."""
    match = _WS.match(text, idx)
    return match.end() if match else idx


def _end(text: str, idx: int) -> int:
    """Where the JSON value starting at ``idx`` ends (strings by a regex, the rest by the C scanner)."""
    if text[idx] == '"':
        match = _STRING.match(text, idx)
        if match is None:
            raise ValueError("unterminated string")
        return match.end()
    return int(_scan(text, idx)[1])


def _cut(text: str, start: int, end: int, depth: int, part_min: int, parts: dict[str, bytes]) -> str:
    """``text[start:end]`` (an object or array) with its large members replaced by markers."""
    out: list[str] = []
    copied, idx, members = start, _skip(text, start + 1), 0
    if text[idx] in "}]":
        return text[start:end]
    while True:
        if text[start] == "{":  # skip the key and the colon
            idx = _skip(text, _end(text, idx))
            if text[idx] != ":":
                raise ValueError("expected ':'")
            idx = _skip(text, idx + 1)
        value_end = _end(text, idx)
        members += 1
        if members > MAX_MEMBERS:
            raise _TooWide
        if value_end - idx >= part_min:
            inner = text[idx:value_end]
            if inner[0] in "{[" and depth < MAX_DEPTH:
                known = len(parts)
                try:
                    inner = _cut(text, idx, value_end, depth + 1, part_min, parts)
                except _TooWide:  # many members: the whole value is the part, not the ones cut inside it
                    for key in list(parts)[known:]:
                        del parts[key]
            if len(inner) >= part_min:
                raw = inner.encode()
                key = hashlib.sha256(raw).hexdigest()
                parts[key] = raw
                inner = json.dumps(MARK + key)
            out += [text[copied:idx], inner]
            copied = value_end
        idx = _skip(text, value_end)
        if text[idx] != ",":
            break
        idx = _skip(text, idx + 1)
    out.append(text[copied:end])
    return "".join(out)


def join(doc: bytes, part: Callable[[str], bytes]) -> bytes:
    """``doc`` with every marker replaced by its part (parts may hold markers of their own)."""
    return MARKER.sub(lambda m: join(part(m.group(1).decode()), part), doc)

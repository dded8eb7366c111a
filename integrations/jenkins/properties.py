"""A build's property file (the stage's ``propertyFile``) read into stage outputs, as Igor reads it.

Igor's ``JenkinsService.getBuildProperties`` picks the parser by the file name: ``.yml``/``.yaml`` is
YAML (safe loading), ``.json`` is JSON, anything else is a Java ``.properties`` file. The YAML and
JSON documents must be maps. Unlike Igor, which logs a parse error and returns nothing (Orca then
fails with "missing, empty or contained invalid syntax"), :func:`parse_property_file` raises
:class:`PropertyFileError` with the reason, so the stage can say what was wrong.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

import yaml

from core import safe_yaml
from core.errors import IntegrationError

JSON = dict[str, Any]

_WHITESPACE = " \t\f"
#: Java's line terminators only (str.splitlines also breaks at form feeds, which are blanks here)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


class PropertyFileError(IntegrationError, ValueError):
    """The property file is not valid for its kind (the message says where and why)."""


def parse_property_file(file_name: str, data: bytes) -> JSON:
    """The property file ``file_name``'s contents as a map (empty when the file holds nothing)."""
    text = _decode(data)
    if file_name.endswith((".yml", ".yaml")):
        try:
            document = safe_yaml.load(text)  # alias expansion capped: build output is user data
        except yaml.YAMLError as err:
            raise PropertyFileError(f"invalid YAML: {_first_line(err)}") from None
        return _as_map(document, "YAML")
    if file_name.endswith(".json"):
        if not text.strip():
            return {}
        try:
            document = json.loads(text)
        except ValueError as err:
            raise PropertyFileError(f"invalid JSON: {err}") from None
        return _as_map(document, "JSON")
    return parse_java_properties(text)


def parse_java_properties(text: str) -> dict[str, str]:
    """``java.util.Properties.load``: comments (``#``, ``!``), ``=``/``:``/blank separators, ``\\``
    line continuations and escapes (``\\t``, ``\\n``, ``\\uXXXX``...). Later keys win."""
    properties: dict[str, str] = {}
    lines = _LINE_BREAK.split(text)
    index = 0
    while index < len(lines):
        line = lines[index].lstrip(_WHITESPACE)
        number = index + 1
        index += 1
        if not line or line[0] in "#!":
            continue
        # a line ending in an odd number of backslashes continues on the next one
        while _continues(line):
            line = line[:-1]
            if index >= len(lines):
                break
            line += lines[index].lstrip(_WHITESPACE)
            index += 1
        key, value = _split(line)
        properties[_unescape(key, number)] = _unescape(value, number)
    return properties


def _continues(line: str) -> bool:
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _split(line: str) -> tuple[str, str]:
    """The raw key and value of a logical line (escapes still in them)."""
    position, escaped = 0, False
    while position < len(line):
        char = line[position]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "=:" or char in _WHITESPACE:
            break
        position += 1
    key, rest = line[:position], line[position:]
    rest = rest.lstrip(_WHITESPACE)
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(_WHITESPACE)
    return key, rest


def _unescape(text: str, line: int) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        position += 1
        if char != "\\" or position >= len(text):
            if char != "\\":
                out.append(char)
            continue
        code = text[position]
        position += 1
        if code == "u":
            digits = text[position : position + 4]
            if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise PropertyFileError(f"line {line}: malformed \\uxxxx escape")
            out.append(chr(int(digits, 16)))
            position += 4
        else:
            out.append(_ESCAPES.get(code, code))
    return "".join(out)


def _decode(data: bytes) -> str:
    # Java's Properties.load(InputStream) reads ISO-8859-1; property files are written in UTF-8 today,
    # so UTF-8 is tried first and ISO-8859-1 is the fallback (which never fails).
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _as_map(document: Any, kind: str) -> JSON:
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise PropertyFileError(f"the {kind} document must be a map of names to values, not {_kind(document)}")
    return {str(key): _jsonable(value) for key, value in document.items()}


def _jsonable(value: Any) -> Any:
    """YAML's extra types as JSON has them: dates as ISO text, binary as base64, sets as lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _kind(value: Any) -> str:
    return {list: "a list", str: "text", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__

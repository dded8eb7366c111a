"""Large JSON sub-values stored once however many payloads embed them.

One 4 MB trigger sits in the pipeline's input, in each stage's input, in each record of the execution, and a
polled webhook body in each poll's result: whole payloads differ, so whole-payload keys alone would store it again
each time. Temporal's JSON converter writes canonical JSON (``sort_keys``, no spaces), whose serialization is
compositional: a sub-value's bytes are the same wherever it is embedded. So a large payload's large sub-values
(64 KiB or more) are cut out as parts, each stored under the sha256 of its bytes, and replaced by a marker
string; putting the parts back where the markers are gives the original bytes exactly (checked when cutting:
a payload that does not come back byte for byte is stored whole).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

PART_MIN = 64 * 1024
MAX_DEPTH = 12
MAX_CHILDREN = 1000  # a container with more children is cut whole or not at all (measuring each costs time)
MARK = "\x00gennaker-part:"
# the marker as canonical JSON writes it (ensure_ascii escapes the NUL), with the part's key
MARKER = re.compile(rb'"\\u0000gennaker-part:([0-9a-f]{64})"')


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def split(data: bytes, part_min: int = PART_MIN) -> tuple[bytes, dict[str, bytes]] | None:
    """(``data`` with its large sub-values replaced by markers, the parts by key), or None when there is no part
    to cut, ``data`` is not canonical JSON or already holds a marker-like string (it is then stored whole)."""
    if MARKER.search(data):
        return None
    try:
        tree = json.loads(data)
    except ValueError:
        return None
    if not isinstance(tree, dict | list):
        return None
    parts: dict[str, bytes] = {}

    def cut(node: dict[str, Any] | list[Any], depth: int) -> bytes:
        """The canonical JSON of ``node`` with its large descendants replaced by markers; only large children
        are descended into, so each level serializes the large path once."""
        pieces = []
        for name, child in sorted(node.items()) if isinstance(node, dict) else enumerate(node):
            encoded = _dumps(child)
            if len(encoded) >= part_min:
                if isinstance(child, dict | list) and depth < MAX_DEPTH and len(child) <= MAX_CHILDREN:
                    encoded = cut(child, depth + 1)
                if len(encoded) >= part_min:
                    key = hashlib.sha256(encoded).hexdigest()
                    parts[key] = encoded
                    encoded = _dumps(MARK + key)
            pieces.append(_dumps(name) + b":" + encoded if isinstance(node, dict) else encoded)
        return (b"{%s}" if isinstance(node, dict) else b"[%s]") % b",".join(pieces)

    if len(tree) > MAX_CHILDREN:
        return None
    doc = cut(tree, 0)
    if not parts or join(doc, parts.__getitem__) != data:
        return None
    return doc, parts


def join(doc: bytes, part: Callable[[str], bytes]) -> bytes:
    """``doc`` with every marker replaced by its part (parts may hold markers of their own)."""
    return MARKER.sub(lambda m: join(part(m.group(1).decode()), part), doc)

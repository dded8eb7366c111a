"""Bake logs: one file per bake under the state dir, appended while packer runs.

``GET /bakery/logs/{region}/{statusId}`` answers as Gate does (the whole log in ``<pre>``, HTML-escaped
here: the log carries user input); :func:`read_log` serves a log from an offset, for followers.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BakeNotFoundError

_BAKE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
MAX_CHUNK = 1024 * 1024
TAIL_LINES = 20


def bakery_dir(state_dir: Path | str) -> Path:
    return Path(state_dir) / "bakery"


def log_path(state_dir: Path | str, bake_id: str) -> Path:
    """Where a bake's log lives; refuses ids that are not plain ids (no paths)."""
    if not _BAKE_ID.match(bake_id):
        raise BakeNotFoundError(f"no bake log for '{bake_id[:80]}'")
    return bakery_dir(state_dir) / "logs" / f"{bake_id}.log"


@dataclass(frozen=True)
class LogChunk:
    """Part of a bake's log: ``text`` from ``offset`` up to ``next_offset`` (bytes), of ``size`` so far."""

    bake_id: str
    offset: int
    next_offset: int
    size: int
    text: str

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.bake_id,
            "offset": self.offset,
            "nextOffset": self.next_offset,
            "size": self.size,
            "logsContent": self.text,
        }


def read_log(state_dir: Path | str, bake_id: str, offset: int = 0, limit: int = MAX_CHUNK) -> LogChunk:
    """The log of bake ``bake_id`` from byte ``offset`` (at most ``limit`` bytes, ending on a line)."""
    path = log_path(state_dir, bake_id)
    try:
        with path.open("rb") as log:
            size = log.seek(0, 2)
            start = min(max(offset, 0), size)
            log.seek(start)
            data = log.read(max(0, min(limit, MAX_CHUNK)))
    except FileNotFoundError:
        raise BakeNotFoundError(f"no bake log for '{bake_id}'") from None
    if start + len(data) < size and b"\n" in data:
        data = data[: data.rindex(b"\n") + 1]  # a whole line; the rest comes with the next read
    return LogChunk(bake_id, start, start + len(data), size, data.decode("utf-8", errors="replace"))


def gate_logs(state_dir: Path | str, status_id: str) -> str:
    """Gate's ``GET /bakery/logs/{region}/{statusId}`` body: ``<pre>`` + the log + ``</pre>``."""
    chunks, offset = [], 0
    while True:
        chunk = read_log(state_dir, status_id, offset)
        chunks.append(chunk.text)
        if chunk.next_offset >= chunk.size or chunk.next_offset == offset:
            break
        offset = chunk.next_offset
    return "<pre>" + html.escape("".join(chunks)) + "</pre>"


def tail(state_dir: Path | str, bake_id: str, lines: int = TAIL_LINES) -> list[str]:
    """The last lines of a bake's log ([] when there is none yet)."""
    try:
        path = log_path(state_dir, bake_id)
        with path.open("rb") as log:
            size = log.seek(0, 2)
            log.seek(max(0, size - 64 * 1024))
            data = log.read()
    except (OSError, BakeNotFoundError):
        return []
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]

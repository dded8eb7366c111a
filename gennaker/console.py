"""How the CLI writes for people: Rich on a terminal, plain aligned text everywhere else.

Colour and Rich's boxes appear only when the stream is a terminal and ``NO_COLOR`` (https://no-color.org) is not
set, so a pipe, a file or a CI log gets text that ``grep``, ``awk`` and ``cut`` read: the same columns, padded
with spaces, no escape codes, no header row. ``FORCE_COLOR`` turns Rich on without a terminal (for screenshots and
tests of the coloured form).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

#: Rich styles of Spinnaker's statuses (Deck's colours: green done, red failed, blue running, grey not yet).
STATUS_STYLES = {
    "SUCCEEDED": "green",
    "TERMINAL": "bold red",
    "FAILED_CONTINUE": "yellow",
    "STOPPED": "yellow",
    "CANCELED": "magenta",
    "SKIPPED": "dim",
    "RUNNING": "bold blue",
    "PAUSED": "cyan",
    "SUSPENDED": "cyan",
    "NOT_STARTED": "dim",
    "BUFFERED": "dim",
}


def is_rich(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (stdout by default) should get Rich's colours, boxes and live views."""
    stream = stream if stream is not None else sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def rich_console(stream: TextIO | None = None) -> Any:
    """A Rich console on ``stream`` (imported here: plain output never pays for Rich's import)."""
    from rich.console import Console

    return Console(file=stream if stream is not None else sys.stdout, highlight=False)


def plain_table(rows: Iterable[Sequence[Any]]) -> list[str]:
    """Rows as lines whose columns line up (two spaces between them; the last column is not padded)."""
    cells = [["" if value is None else str(value) for value in row] for row in rows]
    if not cells:
        return []
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(max(len(row) for row in cells))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], stream: TextIO | None = None) -> None:
    """Print ``rows``: a Rich table with a header on a terminal, aligned plain lines (no header) otherwise."""
    stream = stream if stream is not None else sys.stdout
    if not is_rich(stream):
        for line in plain_table(rows):
            print(line, file=stream)
        return
    from rich.table import Table

    grid = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        grid.add_column(column.upper())
    for row in rows:
        grid.add_row(*(styled(column, value) for column, value in zip(columns, row, strict=False)))
    rich_console(stream).print(grid)


def styled(column: str, value: Any) -> Any:
    """A status cell in its colour; any other cell as text (never read as Rich markup)."""
    from rich.text import Text

    text = "" if value is None else str(value)
    return Text(text, style=STATUS_STYLES.get(text, "")) if column.lower() == "status" else Text(text)


def duration(seconds: float | None) -> str:
    """``850ms``, ``12.3s``, ``4m05s``, ``1h02m``: short enough for a column, exact enough to compare stages."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{max(seconds, 0) * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"

"""Following an execution for a person: `gennaker run` and `gennaker watch`.

The view follows the execution through Gate's ``GET /pipelines/{id}`` (the SDK client's ``watch``, which polls at
``interval`` seconds) and shows every stage with its status and how long it took, as Deck's execution details do:

- on a terminal, a Rich Live table redrawn in place (running stages' durations tick);
- piped or with ``NO_COLOR``, one line per transition (``  SUCCEEDED    Greeting  1.2s``), then the final status
  alone on the last line, so a script can ``tail -n1``.

Both print where to look further: Deck's execution details (``ui.base_url``, Deck's ``spinnaker.base-url``:
``#/applications/{app}/executions/details/{id}``, the link notifications carry) and the workflow in Temporal's Web UI
(``ui.temporal_web_url``, or the dev server's).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from core.settings import Settings
from gennaker import console

FINAL_STATUSES = frozenset({"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE", "SKIPPED"})

#: How `run`, `watch` and `pipeline execute --wait` exit, by the execution's final status (docs/cli.md).
EXIT_CODES = {"SUCCEEDED": 0, "TERMINAL": 1, "CANCELED": 4, "STOPPED": 5}
OTHER_END = 1


def exit_code(status: str | None) -> int:
    """The exit code that says how the execution ended (1 for an end without its own code)."""
    return EXIT_CODES.get(status or "", OTHER_END)


def deck_url(settings: Settings, application: str | None, execution_id: str) -> str | None:
    """Deck's execution details page, as Echo links it (None until the application is known)."""
    if not application:
        return None
    return f"{settings.ui.link_base}/#/applications/{application}/executions/details/{execution_id}"


def temporal_url(settings: Settings, execution_id: str) -> str:
    """The execution's workflow in Temporal's Web UI: ``ui.temporal_web_url``, else the one `gennaker up` starts."""
    base = (settings.ui.temporal_web_url or f"http://127.0.0.1:{settings.dev_server.ui_port}").rstrip("/")
    return f"{base}/namespaces/{settings.temporal.namespace}/workflows/{execution_id}"


def stage_seconds(stage: dict[str, Any], now_ms: float) -> float | None:
    """How long a stage ran (or has been running): its ``endTime`` (or now) less its ``startTime``."""
    start = stage.get("startTime")
    if not isinstance(start, int | float) or start <= 0:
        return None
    end = stage.get("endTime")
    if isinstance(end, int | float) and end > 0:
        return max((end - start) / 1000, 0.0)
    if stage.get("status") in FINAL_STATUSES:
        return None  # ended without an end time (skipped): no duration rather than a growing one
    return max((now_ms - start) / 1000, 0.0)


def _stage_name(stage: dict[str, Any]) -> str:
    """The stage's name; before/after stages indented under their parent, as Deck nests them."""
    name = str(stage.get("name") or stage.get("refId") or "")
    return f"  {name}" if stage.get("syntheticStageOwner") else name


def _took(stage: dict[str, Any], now_ms: float) -> str:
    return console.duration(stage_seconds(stage, now_ms))


class ExecutionView:
    """What the follower knows of the execution: its newest body and when the view started."""

    def __init__(self, settings: Settings, execution_id: str, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.execution_id = execution_id
        self.execution: dict[str, Any] = {}
        self.clock = clock

    @property
    def status(self) -> str | None:
        return self.execution.get("status")

    def links(self) -> list[tuple[str, str]]:
        deck = deck_url(self.settings, self.execution.get("application"), self.execution_id)
        found = [("Deck", deck)] if deck else []
        return [*found, ("Temporal", temporal_url(self.settings, self.execution_id))]

    def rows(self) -> list[tuple[str, str, str]]:
        """(status, stage, duration) per stage, in the execution's order."""
        now_ms = self.clock() * 1000
        return [
            (str(s.get("status") or ""), _stage_name(s), _took(s, now_ms)) for s in self.execution.get("stages") or []
        ]

    def render(self) -> Any:
        """The Rich renderable of the live view: a title line, the stage table and the links."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        execution = self.execution
        title = Text.assemble(
            (f"{execution.get('application') or '?'} / {execution.get('name') or self.execution_id}  ", "bold"),
            (self.status or "…", console.STATUS_STYLES.get(self.status or "", "")),
        )
        elapsed = stage_seconds(execution, self.clock() * 1000) if execution else None
        if elapsed is not None:
            title.append(f"  {console.duration(elapsed)}", style="dim")
        grid = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("STATUS", "STAGE", "DURATION"):
            grid.add_column(column, justify="right" if column == "DURATION" else "left")
        for status, name, took in self.rows():
            grid.add_row(console.styled("status", status), Text(name), Text(took))
        links = [Text.assemble((f"{label:<9}", "dim"), (url, f"link {url}")) for label, url in self.links()]
        return Group(title, grid, *links)


def follow(changes: Iterable[dict[str, Any]], view: ExecutionView, stream: TextIO, *, live: bool) -> dict[str, Any]:
    """Consume the watch's changes into ``view`` and show them; returns the last execution body seen."""
    if live:
        return _follow_live(changes, view, stream)
    return _follow_lines(changes, view, stream)


def _follow_lines(changes: Iterable[dict[str, Any]], view: ExecutionView, stream: TextIO) -> dict[str, Any]:
    deck_shown = False
    for change in changes:
        view.execution = change["execution"]
        if not deck_shown and view.execution.get("application"):
            deck_shown = True
            print(f"  {deck_url(view.settings, view.execution['application'], view.execution_id)}", file=stream)
        if change.get("stage") is None:
            continue
        stages: list[dict[str, Any]] = view.execution.get("stages") or []
        stage = next((s for s in stages if s.get("id") == change.get("stageId")), {})
        took = console.duration(stage_seconds(stage, view.clock() * 1000)) if change["status"] in FINAL_STATUSES else ""
        print(f"  {change['status']:<12} {change['stage']}  {took}".rstrip(), file=stream, flush=True)
    return view.execution


def _follow_live(changes: Iterable[dict[str, Any]], view: ExecutionView, stream: TextIO) -> dict[str, Any]:
    from rich.live import Live

    with Live(
        get_renderable=view.render, console=console.rich_console(stream), refresh_per_second=4, transient=False
    ) as live:
        for change in changes:
            view.execution = change["execution"]
            live.refresh()
    return view.execution

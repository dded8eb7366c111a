"""``gennaker events tail``: follow Echo's event stream through Gate's ``GET /events``, a line per event.

    gennaker events tail                        # the newest 20, then every new one as it comes
    gennaker events tail --application app --type orca:stage:complete --since 1200 --once -o json

The cursor is Gate's ``X-Events-Cursor`` (the last sequence number looked at), so events the caller may not read
are passed, not asked for again. Exit codes as the other verbs: 0, 2 a refused request, 3 Gate not reached.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from core.settings import Settings


def add_parser(commands: Any) -> argparse.ArgumentParser:
    events = commands.add_parser("events", help="Echo's event stream: follow it")
    verbs = events.add_subparsers(dest="verb", required=True, metavar="VERB")
    tail = verbs.add_parser("tail", help="print recent events, then follow new ones")
    tail.add_argument("--type", action="append", default=[], help="only this event type (repeatable)")
    tail.add_argument("--application", help="only this application's events")
    tail.add_argument("--execution", help="only this execution's events")
    tail.add_argument("--since", type=int, help="start after this sequence number (default: the newest --limit)")
    tail.add_argument("--limit", type=int, default=20, help="events per request (default 20)")
    tail.add_argument("--interval", type=float, default=1.0, help="seconds between polls (default 1)")
    tail.add_argument("--once", action="store_true", help="print what is there and stop")
    tail.add_argument("--gate", help="Gate's URL (default: the API from settings)")
    tail.add_argument("--output", "-o", choices=["text", "json"], default="text")
    return events


def line(event: dict[str, Any]) -> str:
    """One event as a line: sequence, time, type, application, execution, and the stage or task."""
    details = event.get("details") or {}
    content = event.get("content") or {}
    try:
        when = datetime.fromtimestamp(int(details.get("created") or 0) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        when = "-"
    what = content.get("taskName") or content.get("name") or ""
    return "  ".join(
        str(part)
        for part in (
            event.get("seq", "-"),
            when,
            f"{details.get('type', '-'):<28}",
            details.get("application") or "-",
            content.get("executionId") or "-",
            what,
        )
    ).rstrip()


def tail(http: Any, args: argparse.Namespace, out: TextIO = sys.stdout) -> None:
    """Poll ``GET /events`` from the cursor and print; returns after one pass with ``--once``."""
    cursor = args.since
    while True:
        params: dict[str, Any] = {"type": args.type or None, "application": args.application,
                                  "executionId": args.execution, "since": cursor, "limit": args.limit}  # fmt: skip
        response = http.get("/events", params={k: v for k, v in params.items() if v is not None})
        if response.status_code >= 400:
            raise ValueError(f"Gate answered {response.status_code}: {response.text[:300]}")
        for event in response.json():
            print(json.dumps(event) if args.output == "json" else line(event), file=out, flush=True)
        if response.headers.get("X-Events-Cursor"):
            cursor = int(response.headers["X-Events-Cursor"])
        elif cursor is None:
            cursor = 0
        if args.once:
            return
        time.sleep(args.interval)


def run(args: argparse.Namespace, settings: Settings | None) -> int:
    if settings is None:
        return 2
    import httpx

    from .client import Client
    from .commands import gate_url

    if args.limit < 1 or args.limit > 1000:
        print("error: --limit must be 1-1000", file=sys.stderr)
        return 2
    try:
        with Client(gate_url(settings, args.gate)) as client:
            tail(client._http, args)
    except httpx.TransportError as err:
        print(f"error: cannot reach Gate: {err}", file=sys.stderr)
        return 3
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0

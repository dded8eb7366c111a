"""``gennaker run``, ``get``, ``judge``, ``cancel``: drive executions from a terminal.

A small set for the local stack; the spin-compatible CLI builds on the same operations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from .settings import Settings


def add_commands(commands: Any) -> None:
    run = commands.add_parser("run", help="start a pipeline from a JSON file and follow it")
    run.add_argument("file", type=Path, help="pipeline JSON, as Spinnaker writes it")
    run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="a parameter")
    run.add_argument("--no-wait", action="store_true", help="print the execution id and return")
    get = commands.add_parser("get", help="print an execution as Gate's JSON")
    get.add_argument("execution_id")
    judge = commands.add_parser("judge", help="continue or stop a manual judgment")
    judge.add_argument("execution_id")
    judge.add_argument("stage", help="the stage's name or id")
    judge.add_argument("decision", choices=["continue", "stop"])
    judge.add_argument("--input", dest="judgment_input", help="one of the stage's judgmentInputs")
    cancel = commands.add_parser("cancel", help="cancel a running execution")
    cancel.add_argument("execution_id")
    cancel.add_argument("--reason")


def ui_link(settings: Settings, execution_id: str) -> str:
    return (
        f"http://127.0.0.1:{settings.dev_server.ui_port}/namespaces/{settings.temporal.namespace}"
        f"/workflows/{execution_id}"
    )


async def execute(args: argparse.Namespace, settings: Settings) -> int:
    from workflows import operations
    from workflows.errors import GennakerError

    from .temporal_client import connect

    try:
        prepared = _prepare(args) if args.command == "run" else None  # refuse bad input before connecting
        client = await connect(settings)
        if prepared is not None:
            return await _run(args, settings, client, *prepared)
        if args.command == "get":
            print(json.dumps(await operations.get_execution(client, args.execution_id), indent=2))
            return 0
        if args.command == "judge":
            execution = await operations.get_execution(client, args.execution_id)
            stage = next((s for s in execution["stages"] if args.stage in (s["id"], s["name"])), None)
            if stage is None:
                print(f"no stage '{args.stage}' in {args.execution_id}", file=sys.stderr)
                return 2
            patch = {"judgmentStatus": args.decision}
            if args.judgment_input:
                patch["judgmentInput"] = args.judgment_input
            await operations.patch_stage(client, args.execution_id, stage["id"], patch)
            print(f"{stage['name']}: {args.decision}")
            return 0
        await operations.cancel_execution(client, args.execution_id, reason=args.reason)
        print(f"canceled {args.execution_id}")
        return 0
    except (GennakerError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _prepare(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    from workflows.operations import validate_for_start

    try:
        config = json.loads(args.file.read_text())
    except ValueError as err:
        raise ValueError(f"{args.file} is not JSON: {err}") from None
    validate_for_start(config)
    params: dict[str, str] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--param expects KEY=VALUE, got {item!r}")
        params[key] = value
    return config, {"type": "manual", "user": "anonymous", "parameters": _with_defaults(config, params)}


async def _run(
    args: argparse.Namespace, settings: Settings, client: Any, config: dict[str, Any], trigger: dict[str, Any]
) -> int:
    from workflows import operations

    execution_id = await operations.start_pipeline(
        client,
        config,
        trigger,
        task_queue=settings.task_queue,
        origin="cli",
        window_timezone=settings.execution_window_timezone,
        activity_queues=settings.activity_queues,
    )
    print(f"execution {execution_id}\n  {ui_link(settings, execution_id)}")
    if args.no_wait:
        return 0
    seen: dict[str, str] = {}
    while True:
        execution = await operations.get_execution(client, execution_id)
        for stage in execution["stages"]:
            if seen.get(stage["id"], "NOT_STARTED") != stage["status"]:
                seen[stage["id"]] = stage["status"]
                print(f"  {stage['status']:<12} {stage['name']}")
        if execution["status"] in ("SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED"):
            print(f"{execution['status']}")
            return 0 if execution["status"] == "SUCCEEDED" else 1
        await asyncio.sleep(0.5)


def _with_defaults(config: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    from workflows.parameters import missing_required, with_defaults

    params = with_defaults(config, given)
    missing = missing_required(config, params)
    if missing:
        raise ValueError(f"required parameter {', '.join(missing)} is missing")
    return params

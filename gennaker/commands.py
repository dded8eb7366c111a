"""The spin CLI's verbs, on Gennaker's SDK client: everything goes through Gate's API, as spin does.

    gennaker application list | get NAME | save NAME [--email E] [--file F] | delete NAME
    gennaker pipeline list APP | get APP NAME | save --file F | delete APP NAME | execute APP NAME [-p K=V] [--wait]
    gennaker execution list APP | get ID | cancel ID [--reason R]
    gennaker run FILE [-p K=V] [--no-wait]          # an ad-hoc pipeline (POST /pipelines/start), followed
    gennaker judge ID STAGE continue|stop [--input I]
    gennaker restart ID STAGE ; gennaker watch ID ; gennaker get ID

``--output json`` prints JSON for scripts. Tables are aligned; on a terminal they are Rich tables with colours,
piped (or with ``NO_COLOR``) plain columns. `run`, `watch` and `execute --wait` show the execution stage by stage
(gennaker/progress.py). Exit codes: 0 done (an execution SUCCEEDED), 1 an execution ended TERMINAL (or otherwise),
2 a refused request or bad input, 3 Gate cannot be reached, 4 an execution was CANCELED, 5 it STOPPED (docs/cli.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.settings import Settings
from gennaker import console

#: Ctrl-C while following an execution (128 + SIGINT, as shells report it); the execution goes on.
INTERRUPTED = 130


def add_commands(commands: Any) -> list[str]:
    """Add the verbs to ``commands`` (argparse subparsers); returns the names that were added."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--gate", help="Gate's URL (default: the API from settings)")
    common.add_argument("--output", "-o", choices=["text", "json"], default="text")

    app = commands.add_parser("application", help="list, get, save, delete applications", parents=[common])
    app_cmds = app.add_subparsers(dest="verb", required=True, metavar="VERB")
    app_cmds.add_parser("list", parents=[common])
    for verb in ("get", "delete"):
        app_cmds.add_parser(verb, parents=[common]).add_argument("name")
    save = app_cmds.add_parser("save", parents=[common])
    save.add_argument("name")
    save.add_argument("--email")
    save.add_argument("--file", type=Path, help="application attributes as JSON")

    pipe = commands.add_parser("pipeline", help="list, get, save, delete, execute pipelines", parents=[common])
    pipe_cmds = pipe.add_subparsers(dest="verb", required=True, metavar="VERB")
    pipe_cmds.add_parser("list", parents=[common]).add_argument("application")
    for verb in ("get", "delete"):
        p = pipe_cmds.add_parser(verb, parents=[common])
        p.add_argument("application")
        p.add_argument("name")
    pipe_cmds.add_parser("save", parents=[common]).add_argument("--file", type=Path, required=True)
    execute = pipe_cmds.add_parser("execute", parents=[common])
    execute.add_argument("application")
    execute.add_argument("name")
    _params_and_wait(execute, wait_flag="--wait")

    ex = commands.add_parser("execution", help="list, get, cancel executions", parents=[common])
    ex_cmds = ex.add_subparsers(dest="verb", required=True, metavar="VERB")
    lst = ex_cmds.add_parser("list", parents=[common])
    lst.add_argument("application")
    lst.add_argument("--limit", type=int, default=5)
    lst.add_argument("--statuses")
    ex_cmds.add_parser("get", parents=[common]).add_argument("execution_id")
    cancel = ex_cmds.add_parser("cancel", parents=[common])
    cancel.add_argument("execution_id")
    cancel.add_argument("--reason")

    run = commands.add_parser("run", help="run a pipeline JSON file (not saved) and follow it", parents=[common])
    run.add_argument("file", type=Path)
    _params_and_wait(run, wait_flag="--no-wait")
    get = commands.add_parser("get", help="print an execution (same as `execution get`)", parents=[common])
    get.add_argument("execution_id")
    judge = commands.add_parser("judge", help="continue or stop a manual judgment", parents=[common])
    judge.add_argument("execution_id")
    judge.add_argument("stage", help="the stage's name or id")
    judge.add_argument("decision", choices=["continue", "stop"])
    judge.add_argument("--input", dest="judgment_input")
    restart = commands.add_parser("restart", help="restart a stage and what follows it", parents=[common])
    restart.add_argument("execution_id")
    restart.add_argument("stage")
    watch = commands.add_parser("watch", help="follow an execution until it ends", parents=[common])
    watch.add_argument("execution_id")
    _interval(watch)
    return ["application", "pipeline", "execution", "run", "get", "judge", "restart", "watch"]


def _params_and_wait(parser: argparse.ArgumentParser, *, wait_flag: str) -> None:
    parser.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(wait_flag, action="store_true", dest="flip_wait")
    _interval(parser)


def _interval(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interval", type=_seconds, default=1.0, metavar="SECONDS", help="seconds between polls of Gate (default 1)"
    )


def _seconds(text: str) -> float:
    """A poll interval: a number of seconds above 0 (argparse names --interval when it is not)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 3600, got {text}")
    return value


def gate_url(settings: Settings, given: str | None) -> str:
    return given or f"http://{settings.api.host}:{settings.api.port}"


def execute(args: argparse.Namespace, settings: Settings) -> int:
    from .client import ApiConnectionError, Client, GateError

    try:
        with Client(gate_url(settings, args.gate)) as client:
            return _dispatch(args, client, settings)
    except ApiConnectionError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 3
    except (GateError, ValueError, OSError) as err:
        print(f"error: {getattr(err, 'message', err)}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, client: Any, settings: Settings) -> int:
    out = _Printer(args.output, settings)
    command, verb = args.command, getattr(args, "verb", None)
    if command == "application":
        if verb == "list":
            return out.rows(client.applications(), ("name", "email"))
        if verb == "get":
            return out.one(client.application(args.name))
        if verb == "save":
            attributes = _json_file(args.file) if args.file else {}
            return out.one(client.save_application(args.name, email=args.email, **attributes))
        client.delete_application(args.name)
        return out.done(f"deleted application {args.name}")
    if command == "pipeline":
        if verb == "list":
            return out.rows(client.pipelines(args.application), ("name", "id"))
        if verb == "get":
            return out.one(client.pipeline(args.application, args.name))
        if verb == "save":
            return out.one(client.save_pipeline(_json_file(args.file)))
        if verb == "delete":
            client.delete_pipeline(args.application, args.name)
            return out.done(f"deleted pipeline {args.name} of {args.application}")
        execution_id = client.trigger(args.application, args.name, parameters=_params(args.param))
        return _follow(client, out, execution_id, args.interval) if args.flip_wait else out.started(execution_id)
    if command == "execution":
        if verb == "list":
            statuses = args.statuses.split(",") if args.statuses else None
            return out.rows(
                client.executions(args.application, limit=args.limit, statuses=statuses), ("id", "name", "status")
            )
        if verb == "get":
            return out.one(client.execution(args.execution_id))
        client.cancel(args.execution_id, reason=args.reason)
        return out.done(f"canceled {args.execution_id}")
    if command == "run":
        execution_id = client.start(_json_file(args.file), parameters=_params(args.param))
        return out.started(execution_id) if args.flip_wait else _follow(client, out, execution_id, args.interval)
    if command == "get":
        return out.one(client.execution(args.execution_id))
    if command == "judge":
        client.judge(args.execution_id, args.stage, args.decision, input=args.judgment_input)
        return out.done(f"{args.stage}: {args.decision}")
    if command == "restart":
        client.restart(args.execution_id, args.stage)
        return out.done(f"restarted {args.stage}")
    return _follow(client, out, args.execution_id, args.interval)


def _follow(client: Any, out: _Printer, execution_id: str, interval: float) -> int:
    """Follow to the end (a live view on a terminal, a line per transition piped); exit by the final status."""
    from . import progress

    out.started(execution_id, final=False)
    changes = client.watch(execution_id, poll=interval)
    try:
        if out.json:
            last: dict[str, Any] = {}
            for change in changes:
                last = change["execution"]
        else:
            view = progress.ExecutionView(out.settings, execution_id)
            last = progress.follow(changes, view, sys.stdout, live=console.is_rich(sys.stdout))
    except KeyboardInterrupt:
        # Ctrl-C stops the watching, not the execution: say how to come back to it
        print(f"\nstopped watching; the execution goes on: gennaker watch {execution_id}", file=sys.stderr)
        return INTERRUPTED
    last = last or client.execution(execution_id)
    status = last.get("status")
    print(json.dumps(last) if out.json else status)
    return progress.exit_code(status)


def _params(items: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--param expects KEY=VALUE, got {item!r}")
        params[key] = value
    return params


def _json_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path} is not JSON: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return data


class _Printer:
    def __init__(self, output: str, settings: Settings) -> None:
        self.json = output == "json"
        self.settings = settings

    def one(self, body: Any) -> int:
        print(json.dumps(body, indent=None if self.json else 2))
        return 0

    def rows(self, items: list[dict[str, Any]], columns: tuple[str, ...]) -> int:
        if self.json:
            print(json.dumps(items))
        else:
            console.table(columns, [[item.get(c, "") for c in columns] for item in items])
        return 0

    def done(self, text: str) -> int:
        print(json.dumps({"ok": True, "message": text}) if self.json else text)
        return 0

    def started(self, execution_id: str, final: bool = True) -> int:
        if not self.json:
            from .progress import temporal_url

            print(f"execution {execution_id}\n  {temporal_url(self.settings, execution_id)}", flush=True)
        elif final:
            print(json.dumps({"id": execution_id, "ref": f"/pipelines/{execution_id}"}))
        return 0

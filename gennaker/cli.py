"""The ``gennaker`` command: ``up`` (the whole local stack), ``worker``, ``config check``, ``auth token``."""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gennaker import __version__

PROJECT_ROOT = Path(__file__).resolve().parent.parent
API_GRACE = 10.0
WORKER_GRACE = 15.0  # the worker itself waits up to 5 s for running activities
DEV_SERVER_GRACE = 10.0


def _load() -> Any:
    """The settings, or None after printing why they are bad."""
    from pydantic import ValidationError

    from gennaker.settings import ConfigFileError, describe_error, load_settings

    try:
        return load_settings()
    except (ValidationError, ConfigFileError) as exc:
        print("gennaker: bad settings", file=sys.stderr)
        print(describe_error(exc), file=sys.stderr)
        return None


# --- config check -------------------------------------------------------------------------------------------------


def config_check(args: argparse.Namespace) -> int:
    """Load the settings and print them with secrets masked: 0 if they are good, 2 (and the problems) if not."""
    import yaml

    from gennaker.settings import config_file_path, masked_dict
    from gennaker.temporal_client import TemporalConnectError, tls_config

    settings = _load()
    if settings is None:
        return 2
    try:
        tls_config(settings.temporal)  # reads the certificate files, so a wrong path shows up here
    except TemporalConnectError as exc:
        print("gennaker: bad settings", file=sys.stderr)
        print(exc, file=sys.stderr)
        return 2
    print(f"# settings file: {config_file_path() or 'none'}; GENNAKER_* environment variables override it")
    print(yaml.safe_dump(masked_dict(settings), sort_keys=False), end="")
    return 0


# --- through Gate: applications, pipelines, executions ------------------------------------------------------------


def through_gate(args: argparse.Namespace) -> int:
    """The spin CLI's verbs and friends (see gennaker/commands.py); they talk to the API like spin does."""
    from gennaker.commands import execute

    settings = _load()
    if settings is None:
        return 2
    return execute(args, settings)


# --- auth: API tokens ---------------------------------------------------------------------------------------------


def auth_tokens(args: argparse.Namespace) -> int:
    """``gennaker auth token issue|list|revoke`` (api/auth/cli.py), on the store named by the settings."""
    from api.auth import cli as auth_cli

    settings = _load()
    if settings is None:
        return 2
    return auth_cli.run(args, settings)


# --- worker -------------------------------------------------------------------------------------------------------


def worker(args: argparse.Namespace) -> int:
    """Run the workers in this process (same as ``python worker.py``)."""
    import worker as worker_module

    argv: list[str] = []
    for queue in args.queues or []:
        argv += ["--queue", queue]
    return worker_module.main(argv)


# --- up -----------------------------------------------------------------------------------------------------------


def worker_command() -> list[str]:
    script = PROJECT_ROOT / "worker.py"
    return [sys.executable, str(script)] if script.is_file() else [sys.executable, "-m", "worker"]


def api_command(settings: Any) -> list[str] | None:
    """uvicorn serving ``api.main:app``, or None while the API does not exist yet."""
    if not (PROJECT_ROOT / "api" / "main.py").is_file():
        return None
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "api.main:app",
        "--app-dir",
        str(PROJECT_ROOT),
        "--timeout-graceful-shutdown",  # open requests get this long after SIGTERM; `up`'s grace is longer
        str(int(API_GRACE / 2)),
        "--no-proxy-headers",  # X-Forwarded-* count only from auth.proxy.trusted_addresses (api/auth/forwarded.py)
        "--host",
        settings.api.host,
        "--port",
        str(settings.api.port),
    ]


def up(args: argparse.Namespace) -> int:
    """Start the dev server (unless disabled), the worker and the API; stop them on a signal or when one exits.

    Children die with this process even when it is SIGKILLed, stopping is bounded (SIGTERM, grace, SIGKILL; a
    second Ctrl-C skips the grace) and a run first kills what a previous one on the same state directory left
    (gennaker/supervisor.py)."""
    from gennaker import supervisor
    from gennaker.devserver import DevServer, DevServerError

    settings = _load()
    if settings is None:
        return 2
    stop = threading.Event()
    hurry = threading.Event()

    def on_signal(*_: object) -> None:
        if stop.is_set():
            hurry.set()
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    left = supervisor.kill_leftovers(settings.state_dir)
    if left:
        print(f"gennaker: killed what a previous run left behind: {', '.join(left)}", flush=True)

    env = dict(os.environ)
    if settings.dev_server.enabled:
        # Its own Temporal, one build at a time: the build `up` starts becomes current (docs/operations.md,
        # "Upgrades"). Against a shared Temporal the settings decide, as for any worker.
        env.setdefault("GENNAKER_DEPLOYMENT__PROMOTE", "always")
    children: list[supervisor.Child] = []
    dev: DevServer | None = None
    failure: str | None = None
    lines: list[str] = []

    def record() -> None:
        dev_child = (
            [supervisor.Child("Temporal dev server", dev.process, DEV_SERVER_GRACE)] if dev and dev.process else []
        )
        supervisor.record(settings.state_dir, [*children, *dev_child])

    try:
        if settings.dev_server.enabled:
            log_file = settings.state_dir / "temporal-server.log"
            dev = DevServer(settings, log_file=log_file, grace=DEV_SERVER_GRACE)
            print(f"gennaker: starting the Temporal dev server (state in {settings.dev_server_db_path})", flush=True)
            dev.start()
            record()
            # The worker and the API talk to this server, whatever the settings say about a remote one.
            env["GENNAKER_TEMPORAL__ADDRESS"] = dev.address
            env["GENNAKER_TEMPORAL__TLS"] = "false"
            lines.append(f"  Temporal gRPC     {dev.address} (namespace {settings.temporal.namespace})")
            lines.append(f"  Temporal Web UI   {dev.ui_url}")
            lines.append(f"  Temporal log      {log_file}")
        else:
            lines.append(f"  Temporal gRPC     {settings.temporal.address} (namespace {settings.temporal.namespace})")
        if not stop.is_set():
            children.append(supervisor.spawn("worker", worker_command(), env, WORKER_GRACE))
            record()
            queues = ", ".join(dict.fromkeys([settings.task_queue, *settings.activity_queues.values()]))
            lines.append(f"  worker            task queues {queues}")
        api_cmd = api_command(settings)
        if api_cmd is not None and not stop.is_set():
            if importlib.util.find_spec("uvicorn") is None:
                raise RuntimeError("api/main.py exists but uvicorn is not installed (pip install -e .)")
            children.append(supervisor.spawn("API", api_cmd, env, API_GRACE))
            record()
            lines.append(f"  API               http://{settings.api.host}:{settings.api.port}")
        if not stop.is_set():
            print("gennaker is up:", *lines, "Press Ctrl-C to stop.", sep="\n", flush=True)
        while not stop.is_set() and failure is None:
            for child in children:
                if child.process.poll() is not None:
                    failure = f"the {child.name} exited with code {child.process.returncode}"
            if dev is not None and dev.process is not None and dev.process.poll() is not None:
                failure = f"the Temporal dev server exited with code {dev.process.returncode}:\n{dev.output_tail()}"
            stop.wait(0.2)
    except (DevServerError, RuntimeError, OSError) as exc:
        failure = str(exc)
    finally:
        if failure:
            print(f"gennaker: {failure}; stopping", file=sys.stderr, flush=True)
        else:
            print("gennaker: stopping", flush=True)
        # The worker and the API first (together, each within its grace), so they leave while Temporal answers.
        supervisor.stop(children, hurry=hurry)
        if dev is not None:
            if hurry.is_set():
                dev.grace = 0
            dev.stop()
        supervisor.forget(settings.state_dir)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("gennaker: stopped", flush=True)
    return 1 if failure else 0


# --- entry point --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gennaker", description="Spinnaker's pipelines on Temporal.")
    parser.add_argument("--version", action="version", version=f"gennaker {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_up = commands.add_parser("up", help="run the Temporal dev server, the worker and the API until Ctrl-C")
    p_up.set_defaults(func=up, uses_temporal=True)

    p_worker = commands.add_parser("worker", help="run the Temporal workers in this process")
    p_worker.add_argument("--queue", action="append", dest="queues", metavar="NAME", help="serve only this queue")
    p_worker.set_defaults(func=worker, uses_temporal=True)

    from gennaker import commands as gate_commands

    for name in gate_commands.add_commands(commands):
        commands.choices[name].set_defaults(func=through_gate, uses_temporal=False)

    from api.auth import cli as auth_cli

    auth_cli.add_parser(commands).set_defaults(func=auth_tokens, uses_temporal=False)
    from gennaker import canary_cli

    canary_cli.add_parser(commands).set_defaults(func=lambda a: canary_cli.run(a, _load()), uses_temporal=False)
    from gennaker import cli_templates

    cli_templates.add_parser(commands).set_defaults(func=lambda a: cli_templates.run(a, _load()), uses_temporal=False)
    from gennaker import apply as apply_cli

    apply_cli.add_parser(commands).set_defaults(func=lambda a: apply_cli.run(a, _load()), uses_temporal=False)

    p_config = commands.add_parser("config", help="inspect the settings")
    config_commands = p_config.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    p_check = config_commands.add_parser("check", help="load the settings and print them with secrets masked")
    p_check.set_defaults(func=config_check, uses_temporal=False)
    return parser


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args))


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit code (for tests and embedding)."""
    parser = build_parser()
    return _dispatch(parser, parser.parse_args(argv))


def main(argv: Sequence[str] | None = None) -> None:
    """The ``gennaker`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code = _dispatch(parser, args)
    if getattr(args, "uses_temporal", False):
        from gennaker.temporal_client import exit_now

        exit_now(code)  # skip interpreter teardown after a Temporal client (temporalio/sdk-python#300)
    sys.exit(code)


if __name__ == "__main__":
    main()

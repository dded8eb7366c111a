"""The ``gennaker`` command: ``up`` (the whole local stack), ``worker``, ``config check``, ``auth token``."""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gennaker import __version__, _app_path

# The folder holding worker.py and api/: the checkout, or the wheel's private directory (docs/install.md)
PROJECT_ROOT = _app_path.PRIVATE_DIR if _app_path.installed() else Path(__file__).resolve().parent.parent
API_GRACE = 10.0
WORKER_GRACE = 15.0  # the worker itself waits up to 5 s for running activities
DEV_SERVER_GRACE = 10.0


def _load() -> Any:
    """The settings, or None after printing why they are bad."""
    from pydantic import ValidationError

    from core.settings import ConfigFileError, describe_error, load_settings

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

    from core.settings import config_file_path, masked_dict
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
    """``gennaker auth token issue|list|revoke`` and ``gennaker auth reseal`` (api/auth/cli.py), on the store named by
    the settings."""
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


def up_api_workers(settings: Any) -> int:
    """How many API processes ``gennaker up`` runs: ``api.workers`` when the settings name it, else one. The
    cores-based default (issue 19) is for serving load; a laptop stack serves one person, and each further
    process costs about 140 MB (docs/performance.md, "Footprint")."""
    return int(settings.api.workers) if "workers" in settings.api.model_fields_set else 1


def api_command(settings: Any, workers: int | None = None) -> list[str] | None:
    """uvicorn serving ``api.main:app`` (``workers`` processes, ``api.workers`` when None), or None while the API
    does not exist yet."""
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
        "--workers",  # processes sharing the socket; start-up work is leased in the store (api/main.py)
        str(workers or settings.api.workers),
        "--host",
        settings.api.host,
        "--port",
        str(settings.api.port),
    ]


def api_env(settings: Any, env: dict[str, str], workers: int | None = None) -> dict[str, str]:
    """The API's environment: several processes (``workers``, ``api.workers`` when None) sum their metrics in a
    fresh shared directory (prometheus-client's multiprocess mode); one process needs none."""
    if (workers or settings.api.workers) <= 1:
        return env
    from core.observability.metrics import multiprocess_env

    return {**env, **multiprocess_env(settings.state_dir)}


def up(args: argparse.Namespace) -> int:
    """Start the dev server (unless disabled), the worker and the API; stop them on a signal or when one exits.

    The worker, the API and the UI run in one process (``worker.py --with-api``, gennaker/localstack.py) unless
    ``--separate`` is given or the settings ask for several API processes: then each in its own, as a production
    deployment runs them.

    Children die with this process even when it is SIGKILLed, stopping is bounded (SIGTERM, grace, SIGKILL; a
    second Ctrl-C skips the grace) and a run first kills what a previous one on the same state directory left
    (gennaker/supervisor.py). From the ``gennaker`` command (``args.lean``), this process reads the settings,
    plans the stack, then replaces itself (exec) with a supervisor that loads neither pydantic nor the settings."""
    import json

    from gennaker.up import lean_command, run_up

    settings = _load()
    if settings is None:
        return 2
    try:
        plan = up_plan(settings, separate=getattr(args, "separate", False))
    except RuntimeError as exc:
        print(f"gennaker: {exc}", file=sys.stderr, flush=True)
        return 1
    if getattr(args, "lean", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [*lean_command(PROJECT_ROOT), json.dumps(plan)])
    return run_up(plan)


def up_plan(settings: Any, *, separate: bool = False) -> dict[str, Any]:
    """What ``gennaker up`` starts, as JSON-able data (gennaker/up.py ``run_up`` runs it): the dev server's
    command, each child's command, grace, death signal and the environment variables it gets on top of this
    process's own, and the lines that say where everything is."""
    from core.settings import ENV_PREFIX
    from gennaker.devserver import HOST, dev_server_command

    extra: dict[str, str] = {}
    lines: list[str] = []
    dev: dict[str, Any] | None = None
    if settings.dev_server.enabled:
        # Its own Temporal, one build at a time: the build `up` starts becomes current (docs/operations.md,
        # "Upgrades"). Against a shared Temporal the settings decide, as for any worker.
        if f"{ENV_PREFIX}DEPLOYMENT__PROMOTE" not in os.environ:
            extra[f"{ENV_PREFIX}DEPLOYMENT__PROMOTE"] = "always"
        address = f"{HOST}:{settings.dev_server.port}"
        dev = {
            "command": dev_server_command(settings),
            "port": settings.dev_server.port,
            "ui_port": settings.dev_server.ui_port,
            "namespace": settings.temporal.namespace,
            "log_file": str(settings.state_dir / "temporal-server.log"),
            "db_path": str(settings.dev_server_db_path),
            "grace": DEV_SERVER_GRACE,
        }
        # The worker and the API talk to this server, whatever the settings say about a remote one.
        extra[f"{ENV_PREFIX}TEMPORAL__ADDRESS"] = address
        extra[f"{ENV_PREFIX}TEMPORAL__TLS"] = "false"
        lines.append(f"  Temporal gRPC     {address} (namespace {settings.temporal.namespace})")
        lines.append(f"  Temporal Web UI   http://{HOST}:{settings.dev_server.ui_port}")
        lines.append(f"  Temporal log      {dev['log_file']}")
    else:
        lines.append(f"  Temporal gRPC     {settings.temporal.address} (namespace {settings.temporal.namespace})")
    workers = up_api_workers(settings)
    api_cmd = api_command(settings, workers)
    if api_cmd is not None and importlib.util.find_spec("uvicorn") is None:
        raise RuntimeError("api/main.py exists but uvicorn is not installed (pip install -e .)")
    one_process = api_cmd is not None and workers == 1 and not separate
    queues = ", ".join(dict.fromkeys([settings.task_queue, *settings.activity_queues.values()]))
    children: list[dict[str, Any]] = []

    def child(name: str, cmd: list[str], grace: float, env: dict[str, str], death: int = signal.SIGKILL) -> None:
        children.append({"name": name, "cmd": cmd, "grace": grace, "env": {**extra, **env}, "death": int(death)})

    child("worker", [*worker_command(), "--with-api"] if one_process else worker_command(), WORKER_GRACE, {})
    shared = " (one process with the API and the UI)" if one_process else ""
    lines.append(f"  worker            task queues {queues}{shared}")
    if api_cmd is not None:
        if not one_process:
            # several API processes: the uvicorn master must outlive a SIGKILLed `up` long enough to stop them
            death = signal.SIGTERM if workers > 1 else signal.SIGKILL
            child("API", api_cmd, API_GRACE, api_env(settings, {}, workers), death)
        lines.append(f"  API               http://{settings.api.host}:{settings.api.port}")
    ui_cmd = supervisor_ui_command(settings) if api_cmd is not None else None
    if ui_cmd is not None:
        if not one_process:
            from gennaker.supervisor import UI_GRACE

            child("UI", ui_cmd, UI_GRACE, {})
        lines.append(f"  UI (Deck)         {settings.ui.link_base}/#/applications")
    return {"state_dir": str(settings.state_dir), "dev": dev, "children": children, "lines": lines}


def supervisor_ui_command(settings: Any) -> list[str] | None:
    from gennaker.supervisor import ui_command

    return ui_command(settings, PROJECT_ROOT)


# --- entry point --------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gennaker", description="Spinnaker's pipelines on Temporal.")
    parser.add_argument("--version", action="version", version=f"gennaker {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_up = commands.add_parser("up", help="run the Temporal dev server, the worker and the API until Ctrl-C")
    p_up.add_argument(
        "--separate",
        action="store_true",
        help="run the worker, the API and the UI each in its own process (default: one process, a smaller stack)",
    )
    p_up.set_defaults(func=up, uses_temporal=True)

    p_worker = commands.add_parser("worker", help="run the Temporal workers in this process")
    p_worker.add_argument("--queue", action="append", dest="queues", metavar="NAME", help="serve only this queue")
    p_worker.set_defaults(func=worker, uses_temporal=True)

    from gennaker import commands as gate_commands

    for name in gate_commands.add_commands(commands):
        commands.choices[name].set_defaults(func=through_gate, uses_temporal=False)

    from api.auth import cli as auth_cli

    auth_cli.add_parser(commands).set_defaults(func=auth_tokens, uses_temporal=False)
    for module_name in COMMAND_GROUPS:
        _add_group(commands, importlib.import_module(module_name))

    p_config = commands.add_parser("config", help="inspect the settings")
    config_commands = p_config.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    p_check = config_commands.add_parser("check", help="load the settings and print them with secrets masked")
    p_check.set_defaults(func=config_check, uses_temporal=False)

    p_completion = commands.add_parser("completion", help="print the shell completion script (bash, zsh, fish)")
    p_completion.add_argument("shell", choices=completion_shells())
    p_completion.set_defaults(func=lambda a: print_completion(a, parser), uses_temporal=False)
    return parser


#: Command groups in their own modules. A module named here provides ``add_parser(commands)``, which adds its
#: command to argparse's subparsers and returns that parser, and ``run(args, settings)``, which gets the parsed
#: arguments and the settings (None when they are bad: return 2) and returns the exit code. Adding a group is one
#: line here; help, dispatch and shell completion follow (docs/cli.md, "Adding a command").
COMMAND_GROUPS: tuple[str, ...] = (
    "gennaker.canary_cli",
    "gennaker.cli_templates",
    "gennaker.events_cli",
    "gennaker.apply",
)


def _add_group(commands: Any, module: Any) -> None:
    def run_group(args: argparse.Namespace) -> int:
        return int(module.run(args, _load()))

    module.add_parser(commands).set_defaults(func=run_group, uses_temporal=False)


def completion_shells() -> tuple[str, ...]:
    from gennaker.completion import SHELLS

    return SHELLS


def print_completion(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``gennaker completion SHELL``: Click's completion script, answered by gennaker/completion.py."""
    from gennaker.completion import script

    print(script(args.shell, parser))
    return 0


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
    """The ``gennaker`` console script (it also answers the shell's completion requests, gennaker/completion.py)."""
    parser = build_parser()
    from gennaker.completion import handle_request

    if handle_request(parser):
        sys.exit(0)
    args = parser.parse_args(argv)
    args.lean = True  # `gennaker up` may replace this process with its lean supervisor (not so in `run`, for tests)
    code = _dispatch(parser, args)
    if getattr(args, "uses_temporal", False):
        from gennaker.temporal_client import exit_now

        exit_now(code)  # skip interpreter teardown after a Temporal client (temporalio/sdk-python#300)
    sys.exit(code)


if __name__ == "__main__":
    main()

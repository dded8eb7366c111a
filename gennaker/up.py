"""``gennaker up``'s supervisor loop: start what a plan names (``gennaker.cli.up_plan``), watch it, stop it.

``gennaker up`` reads the settings and plans the stack, then replaces itself (exec) with :func:`main` here, which
imports neither pydantic nor the settings (about 22 MB instead of 39; docs/performance.md, "Footprint"); the
process primitives (spawning so children die with it, bounded stops, the pid file) are gennaker/supervisor.py's.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from gennaker import supervisor


def lean_command(root: Path) -> list[str]:
    """The interpreter command ``gennaker up`` execs into once it has planned the stack (the plan's JSON follows):
    this module's :func:`main`, which imports neither pydantic nor the settings (docs/performance.md,
    "Footprint"). ``-P``: the working directory does not go on the path; ``root`` (the checkout, or a wheel's
    private directory) is where ``core`` lives."""
    code = f"import sys; sys.path.append({str(root)!r}); from gennaker.up import main; main()"
    return [sys.executable, "-P", "-c", code, "up"]


def main() -> None:
    """``gennaker up``'s supervisor after the exec: run the plan given as the last argument."""
    sys.exit(run_up(json.loads(sys.argv[-1])))


def _dev_server(dev: dict[str, Any]) -> Any:
    """The dev server of the plan, without the settings: the command line was computed from them beforehand."""
    from types import SimpleNamespace

    from gennaker.devserver import DevServer

    planned = SimpleNamespace(
        temporal=SimpleNamespace(namespace=dev["namespace"]),
        dev_server=SimpleNamespace(port=dev["port"], ui_port=dev["ui_port"], log_level="", extra_args=[]),
        dev_server_db_path=Path(dev["db_path"]),
    )
    server = DevServer(planned, log_file=Path(dev["log_file"]), grace=float(dev["grace"]))  # type: ignore[arg-type]
    server.command = list(dev["command"])
    return server


def run_up(plan: dict[str, Any]) -> int:
    """Start the plan's dev server and children (``gennaker.cli.up_plan``), print where everything is, and stop it
    all on SIGINT, SIGTERM or SIGHUP or when one of them exits; returns ``gennaker up``'s exit code."""
    from gennaker.devserver import DevServerError

    state_dir = Path(plan["state_dir"])
    stopping = threading.Event()
    hurry = threading.Event()

    def on_signal(*_: object) -> None:
        if stopping.is_set():
            hurry.set()
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    left = supervisor.kill_leftovers(state_dir)
    if left:
        print(f"gennaker: killed what a previous run left behind: {', '.join(left)}", flush=True)
    children: list[supervisor.Child] = []
    dev: Any = None
    failure: str | None = None

    def record_all() -> None:
        dev_child = [supervisor.Child("Temporal dev server", dev.process, dev.grace)] if dev and dev.process else []
        supervisor.record(state_dir, [*children, *dev_child])

    try:
        if plan["dev"] is not None:
            dev = _dev_server(plan["dev"])
            print(f"gennaker: starting the Temporal dev server (state in {plan['dev']['db_path']})", flush=True)
            dev.start()
            record_all()
        for planned in plan["children"]:
            if stopping.is_set():
                break
            env = {**os.environ, **planned["env"]}
            children.append(supervisor.spawn(planned["name"], planned["cmd"], env, planned["grace"], planned["death"]))
            record_all()
        if not stopping.is_set():
            print("gennaker is up:", *plan["lines"], "Press Ctrl-C to stop.", sep="\n", flush=True)
        while not stopping.is_set() and failure is None:
            for child in children:
                if child.process.poll() is not None:
                    failure = f"the {child.name} exited with code {child.process.returncode}"
            if dev is not None and dev.process is not None and dev.process.poll() is not None:
                failure = f"the Temporal dev server exited with code {dev.process.returncode}:\n{dev.output_tail()}"
            stopping.wait(0.2)
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
        supervisor.forget(state_dir)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("gennaker: stopped", flush=True)
    return 1 if failure else 0

"""The processes ``gennaker up`` starts: spawned so they die with it, stopped within a bound, recorded on disk.

Three guarantees, whatever happens to ``gennaker up`` itself:

- a child dies with its supervisor, even a SIGKILLed one: on Linux each child asks the kernel (prctl
  PR_SET_PDEATHSIG) for SIGKILL when the thread that spawned it exits; a crashed supervisor is a crash of the
  stack, and Temporal recovers from a crash (workflows are durable, activities are retried);
- stopping is bounded: SIGTERM to each child's process group, a grace period, then SIGKILL to the group;
- the next ``gennaker up`` on the same state directory first kills what a previous run left behind (a pid file
  names each child with its start time, so a recycled pid is never hit), so no stray process holds the ports or
  polls the task queue.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PID_FILE = "up.pids"
#: the UI server holds no work of its own (its pages and streams reconnect), so it may stop at once
UI_GRACE = 3.0


def ui_command(settings: Any, root: Path) -> list[str] | None:
    """The UI server (``ui.server.main``: Deck's pages on ``ui.port`` in front of the API), or None when
    ``ui.enabled`` is off. ``root`` (the checkout, or a wheel's private directory) goes first on the path, as the
    API runs with ``--app-dir``."""
    if not settings.ui.enabled:
        return None
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(root)!r}); import ui.server; ui.server.main()"]


@dataclass
class Child:
    """A process ``gennaker up`` started and must stop."""

    name: str
    process: subprocess.Popen[bytes]
    grace: float


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel send ``sig`` to the child when the spawning thread dies (Linux).

    The signal follows the spawning *thread*, so only the main thread (which lives as long as the process) uses
    it; elsewhere None. A child whose parent died before prctl took effect exits at once."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()

    def preexec() -> None:
        import ctypes

        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, sig)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def spawn(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    grace: float,
    death_signal: int = signal.SIGKILL,
    **popen: object,
) -> Child:
    """Start ``cmd`` in a process group of its own (Ctrl-C in a terminal reaches only the supervisor, which stops
    the children in order), dying with the supervisor: by ``death_signal``, SIGKILL unless the child has
    children of its own to take down (uvicorn's worker processes: its master stops them on SIGTERM)."""
    process = subprocess.Popen(  # type: ignore[call-overload]
        cmd, env=env, stdin=subprocess.DEVNULL, process_group=0, preexec_fn=die_with_parent(death_signal), **popen
    )
    return Child(name, process, grace)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    """``sig`` to the child's process group (it leads one), so what it started goes too; to the child alone when
    the group is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)


def stop(children: Iterable[Child], *, hurry: threading.Event | None = None) -> dict[str, int]:
    """Stop ``children`` together: SIGTERM to each group, wait up to the longest grace, SIGKILL the rest (at once
    when ``hurry`` is set meanwhile, e.g. by a second Ctrl-C). Returns each child's exit code."""
    children = list(children)
    for child in children:
        if child.process.poll() is None:
            _signal_group(child.process, signal.SIGTERM)
    started = time.monotonic()
    pending = [c for c in children if c.process.poll() is None]
    while pending:
        pending = [c for c in pending if c.process.poll() is None]
        overdue = [c for c in pending if time.monotonic() - started >= c.grace or (hurry and hurry.is_set())]
        for child in overdue:
            _signal_group(child.process, signal.SIGKILL)
            child.process.wait()
            pending.remove(child)
        time.sleep(0.05)
    for child in children:  # the group may hold a grandchild that outlived the leader's graceful exit
        _signal_group(child.process, signal.SIGKILL)
    return {c.name: c.process.wait() for c in children}


# --- the pid file -------------------------------------------------------------------------------------------------


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), None when it is gone
    or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def record(state_dir: Path, children: Iterable[Child]) -> None:
    """Write the pid file: each child's pid and start time."""
    entries = [
        {"name": c.name, "pid": c.process.pid, "start": start_time(c.process.pid)}
        for c in children
        if c.process.poll() is None
    ]
    path = Path(state_dir) / PID_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entries))
    tmp.replace(path)


def forget(state_dir: Path) -> None:
    """Remove the pid file (every child is stopped)."""
    with contextlib.suppress(FileNotFoundError):
        (Path(state_dir) / PID_FILE).unlink()


def kill_leftovers(state_dir: Path, *, timeout: float = 10.0) -> list[str]:
    """Kill (SIGKILL, whole group) the processes a previous run on ``state_dir`` recorded and that still run with
    the recorded start time; returns their names. Waits until they are gone (at most ``timeout`` seconds)."""
    path = Path(state_dir) / PID_FILE
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    killed: list[tuple[str, int, int]] = []
    for entry in entries if isinstance(entries, list) else []:
        try:
            pid, recorded = int(entry["pid"]), entry.get("start")
        except (KeyError, TypeError, ValueError):
            continue
        if recorded is not None and start_time(pid) == recorded:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed.append((str(entry.get("name")), pid, recorded))
    deadline = time.monotonic() + timeout
    while any(start_time(pid) == start for _, pid, start in killed) and time.monotonic() < deadline:
        time.sleep(0.05)
    forget(state_dir)
    return [name for name, _, _ in killed]

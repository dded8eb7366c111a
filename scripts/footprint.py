"""The local stack's memory after one small pipeline: ``make footprint``.

Starts ``gennaker up`` on free ports in a temporary state directory, saves and runs a one-stage ``wait`` pipeline
through Gate's API, waits for it to succeed, then sums the resident set (``VmRSS`` in ``/proc``) of every process
of the stack: the supervisor (``gennaker up`` itself), the Temporal dev server and the worker with the API and the
UI (one process, or three with ``--separate``). It stops the stack with SIGTERM, as Ctrl-C would.
docs/performance.md ("Footprint") keeps the figures.

    .venv/bin/python scripts/footprint.py            # a table, one row per process, and the total
    .venv/bin/python scripts/footprint.py --json     # the same as JSON
    .venv/bin/python scripts/footprint.py --separate # gennaker up --separate: the worker, API and UI apart
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
UP = [sys.executable, "-c", "from gennaker.cli import main; main()", "up"]
PIPELINE = {
    "application": "footprint",
    "name": "wait",
    "id": "footprint-wait",
    "stages": [{"refId": "1", "requisiteStageRefIds": [], "type": "wait", "name": "Wait", "waitTime": 1}],
}
SETTLE_SECONDS = 2.0  # after the pipeline ends, so the figures include what running it allocated and kept


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    what: str, ready: Callable[[], bool], timeout: float, up: subprocess.Popen[str], output: list[str]
) -> None:
    """Wait until ``ready()``; fail early (with its output) when ``gennaker up`` has exited."""
    deadline = time.monotonic() + timeout
    while not ready():
        if up.poll() is not None:
            raise SystemExit(f"footprint: gennaker up exited with {up.returncode} before {what}:\n{''.join(output)}")
        if time.monotonic() > deadline:
            raise SystemExit(f"footprint: no {what} after {timeout:.0f} s")
        time.sleep(0.1)


def children_of() -> dict[int, list[int]]:
    """Every process's children, from /proc/<pid>/stat's ppid field."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(Path(entry, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def rss_mb(pid: int) -> float:
    """The process's resident set in MB (VmRSS), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def role(pid: int, parent_role: str | None = None) -> str:
    """Which part of the stack a process is, from its command line; a process that is none of them by itself (an
    API worker process uvicorn spawned, multiprocessing's resource tracker) counts for its parent's part."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    words = [w.decode(errors="replace") for w in cmd]
    if "start-dev" in words:
        return "Temporal dev server"
    if "uvicorn" in words:
        return "API"
    if any("ui.server" in w for w in words):
        return "UI server"
    if any(w.endswith("worker.py") for w in words) or words[1:3] == ["-m", "worker"]:
        return "worker + API + UI" if "--with-api" in words else "worker"
    if parent_role:
        return f"{parent_role} (child)"
    return " ".join(words)[:40]


def measure(supervisor: int) -> list[dict[str, object]]:
    """One row per process of the stack: the supervisor and everything below it."""
    tree = children_of()
    rows: list[dict[str, object]] = [
        {"process": "gennaker up (supervisor)", "pid": supervisor, "rss_mb": rss_mb(supervisor)}
    ]
    todo: list[tuple[int, str | None]] = [(pid, None) for pid in tree.get(supervisor, [])]
    while todo:
        pid, parent_role = todo.pop()
        name = role(pid, parent_role)
        rows.append({"process": name, "pid": pid, "rss_mb": rss_mb(pid)})
        todo.extend((child, name.split(" (")[0]) for child in tree.get(pid, []))
    return rows


def run_pipeline(api: str, timeout: float) -> str:
    """Save the pipeline, trigger it and wait for SUCCEEDED; returns the execution id."""
    with httpx.Client(base_url=api, timeout=30) as gate:
        gate.post("/pipelines", json=PIPELINE).raise_for_status()
        started = gate.post(f"/pipelines/{PIPELINE['application']}/{PIPELINE['name']}", json={})
        started.raise_for_status()
        execution_id = str(started.json()["ref"]).rsplit("/", 1)[-1]
        deadline = time.monotonic() + timeout
        status = ""
        while time.monotonic() < deadline:
            status = gate.get(f"/pipelines/{execution_id}").json().get("status", "")
            if status == "SUCCEEDED":
                return execution_id
            if status in {"TERMINAL", "CANCELED", "STOPPED"}:
                break
            time.sleep(0.2)
    raise SystemExit(f"footprint: the pipeline ended {status or 'nowhere'} (execution {execution_id})")


def footprint(
    timeout: float = 120, log: Path | None = None, settings: dict[str, str] | None = None, separate: bool = False
) -> list[dict[str, object]]:
    """Start the stack, run the pipeline, measure, stop; the rows of ``measure``. ``log`` keeps the stack's
    output (with ``PYTHONPROFILEIMPORTTIME=1`` in the environment: what each process imported)."""
    api_port = free_port()
    with tempfile.TemporaryDirectory(prefix="gennaker-footprint-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")}
        env.update(
            PYTHONPATH=str(ROOT),
            GENNAKER_STATE_DIR=str(Path(tmp) / "state"),
            GENNAKER_DEV_SERVER__PORT=str(free_port()),
            GENNAKER_DEV_SERVER__UI_PORT=str(free_port()),
            GENNAKER_API__PORT=str(api_port),
        )
        env.update(settings or {})
        up = subprocess.Popen(
            [*UP, "--separate"] if separate else UP,
            env=env,
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            process_group=0,
        )
        output: list[str] = []
        reader = threading.Thread(target=lambda: output.extend(up.stdout or []), daemon=True)
        reader.start()
        try:
            wait_for("worker", lambda: any("worker ready on" in line for line in output), timeout, up, output)
            api = f"http://127.0.0.1:{api_port}"
            wait_for("API", lambda: _answers(api), timeout, up, output)
            run_pipeline(api, timeout)
            time.sleep(SETTLE_SECONDS)
            return measure(up.pid)
        except BaseException:
            print("".join(output[-60:]), file=sys.stderr)  # what the stack said before the failure
            raise
        finally:
            up.send_signal(signal.SIGTERM)
            try:
                up.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                up.wait()
            if log is not None:
                reader.join(5)
                log.write_text("".join(output))


def _answers(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--log", type=Path, help="write the stack's output to this file")
    parser.add_argument(
        "--set", action="append", default=[], metavar="GENNAKER_X=VALUE", help="a setting for the stack (repeatable)"
    )
    parser.add_argument("--separate", action="store_true", help="gennaker up --separate: a process per part")
    args = parser.parse_args(argv)
    rows = footprint(log=args.log, settings=dict(item.split("=", 1) for item in args.set), separate=args.separate)
    total = sum(float(str(r["rss_mb"])) for r in rows)
    if args.json:
        print(json.dumps({"processes": rows, "total_mb": round(total, 1)}, indent=2))
        return 0
    for row in rows:
        print(f"{row['process']:<30} pid {row['pid']:<8} {float(str(row['rss_mb'])):7.1f} MB")
    print(f"{'total':<43} {total:7.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

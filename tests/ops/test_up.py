"""`gennaker up` stops what it started, always: with a SIGKILLed supervisor, on SIGTERM within a bound, and a run
after a crashed one finds nothing left holding the ports or the queue."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from temporalio.client import Client

import worker as worker_module
from core.settings import DevServerSettings, Settings
from gennaker import cli, supervisor
from gennaker.devserver import DevServer
from workflows import operations

from .procs import GENNAKER, ROOT, Running, alive, clean_env, cmdline, descendants, free_port, port_is_free, wait_until

pytestmark = [pytest.mark.temporal, pytest.mark.slow]

# SIGTERM to `up`: the worker and the API within their grace (together), then the dev server within its own.
STOP_BOUND = max(cli.WORKER_GRACE, cli.API_GRACE) + cli.DEV_SERVER_GRACE + 5


def up_env(tmp_path: Path) -> tuple[dict[str, str], list[int]]:
    ports = [free_port(), free_port(), free_port()]
    env = clean_env(
        GENNAKER_STATE_DIR=str(tmp_path / "state"),
        GENNAKER_DEV_SERVER__PORT=str(ports[0]),
        GENNAKER_DEV_SERVER__UI_PORT=str(ports[1]),
        GENNAKER_API__PORT=str(ports[2]),
    )
    return env, ports


def start_up(env: dict[str, str], tmp_path: Path, api_port: int) -> Running:
    up = Running([*GENNAKER, "up"], env, tmp_path, name="gennaker up")
    up.wait_for("Press Ctrl-C to stop.")
    up.wait_for("worker ready on gennaker")
    assert wait_until(lambda: not port_is_free(api_port), 60), f"the API never listened:\n{up.output}"
    return up


def tree(up: Running) -> dict[int, str]:
    """What `up` started (pid → command line): the dev server, the worker, the API (in the worker's process by
    default, gennaker/localstack.py; uvicorn with `up --separate`)."""
    found = {pid: cmdline(pid) for pid in descendants(up.process.pid)}
    kinds = " ".join(found.values())
    assert "start-dev" in kinds and "worker.py" in kinds and ("uvicorn" in kinds or "--with-api" in kinds), found
    return found


async def test_a_sigkilled_up_takes_its_children_with_it_and_the_next_run_starts_clean(tmp_path: Path) -> None:
    env, ports = up_env(tmp_path)
    first = await asyncio.to_thread(start_up, env, tmp_path, ports[2])
    try:
        children = tree(first)
        first.process.send_signal(signal.SIGKILL)  # no handler runs: only the kernel can take the children down
        assert first.finish() == -signal.SIGKILL
        gone = await asyncio.to_thread(wait_until, lambda: not any(alive(pid) for pid in children), 5)
        assert gone, {pid: cmd for pid, cmd in children.items() if alive(pid)}
        assert await asyncio.to_thread(wait_until, lambda: all(port_is_free(p) for p in ports), 5), ports
    finally:
        first.kill()
        for pid in descendants(first.process.pid):
            subprocess.run(["kill", "-9", str(pid)], check=False)

    # The next run on the same ports and state directory comes up, and SIGTERM stops it within the bound.
    second = await asyncio.to_thread(start_up, env, tmp_path, ports[2])
    try:
        children = tree(second)
        assert (tmp_path / "state" / supervisor.PID_FILE).is_file()
        second.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(second.finish, STOP_BOUND)
    finally:
        second.kill()
    assert code == 0, second.output
    assert "gennaker: stopped" in second.output
    assert not [pid for pid in children if alive(pid)], "a child outlived `gennaker up`"
    assert all(port_is_free(p) for p in ports)
    assert not (tmp_path / "state" / supervisor.PID_FILE).exists()


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "300"], process_group=0)


async def test_up_kills_what_a_previous_run_left_behind_and_nothing_else(tmp_path: Path) -> None:
    left, stranger = sleeper(), sleeper()
    try:
        start = supervisor.start_time(left.pid)
        state = tmp_path / "state"
        state.mkdir()
        (state / supervisor.PID_FILE).write_text(
            json.dumps(
                [
                    {"name": "worker", "pid": left.pid, "start": start},
                    # a pid recycled by another process since: its start time differs, so it is left alone
                    {"name": "API", "pid": stranger.pid, "start": (supervisor.start_time(stranger.pid) or 0) - 1},
                ]
            )
        )
        # No dev server and nothing listening at the Temporal address: the worker exits, so `up` ends soon.
        env = clean_env(
            GENNAKER_STATE_DIR=str(state),
            GENNAKER_DEV_SERVER__ENABLED="false",
            GENNAKER_TEMPORAL__ADDRESS=f"127.0.0.1:{free_port()}",
            GENNAKER_API__PORT=str(free_port()),
        )
        up = Running([*GENNAKER, "up"], env, tmp_path, name="gennaker up")
        try:
            await asyncio.to_thread(up.finish, STOP_BOUND + 30)
        finally:
            up.kill()
        assert "killed what a previous run left behind: worker" in up.output, up.output
        assert left.wait(5) == -signal.SIGKILL
        assert stranger.poll() is None
    finally:
        for proc in (left, stranger):
            proc.kill()
            proc.wait()


class Silent:
    """A TCP server that accepts and never answers: a webhook stage's request hangs on it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.held.append(conn)
                self.accepted.set()

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


async def test_the_worker_stops_within_its_bound_when_temporal_is_already_gone(tmp_path: Path) -> None:
    """The incident: SIGTERM reached a worker whose Temporal had gone, while an activity was stuck (here a webhook
    whose server never answers); its graceful shutdown waits for that activity, so only the hard exit bounds it."""
    settings = Settings(state_dir=tmp_path / "state", dev_server=DevServerSettings(port=free_port()))
    server = await asyncio.to_thread(DevServer(settings, db_file=None, headless=True).start)
    silent = Silent()
    env = clean_env(
        GENNAKER_TEMPORAL__ADDRESS=server.address,
        GENNAKER_STATE_DIR=str(tmp_path / "state"),
        GENNAKER_OUTBOUND__ALLOW_CIDRS='["127.0.0.0/8"]',
    )
    worker = Running([sys.executable, str(ROOT / "worker.py")], env, tmp_path, name="worker.py")
    try:
        await asyncio.to_thread(worker.wait_for, "worker ready on gennaker")
        client = await Client.connect(server.address)
        config = {
            "application": "ops",
            "name": "hangs",
            "stages": [{"refId": "1", "type": "webhook", "name": "hook", "url": f"http://127.0.0.1:{silent.port}/"}],
        }
        await operations.start_pipeline(client, config, task_queue="gennaker")
        assert await asyncio.to_thread(silent.accepted.wait, 60), worker.output
        assert server.process is not None
        server.process.kill()  # Temporal is gone first
        server.stop()
        worker.process.send_signal(signal.SIGTERM)
        bound = worker_module.HARD_EXIT_AFTER.total_seconds() + 4  # the webhook's read timeout alone is 20 s
        code = await asyncio.to_thread(worker.finish, bound)
    finally:
        worker.kill()
        server.stop()
        silent.close()
    assert code in (0, 1), worker.output
    assert not descendants(worker.process.pid)

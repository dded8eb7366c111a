"""Durability: SIGKILL the real worker (``worker.py``) mid-execution, or restart the dev server on the
same SQLite file; every execution still finishes with the status it would have had."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from core.settings import load_settings
from gennaker.devserver import DevServer
from tests.conftest import ROOT, stage_named
from workflows import operations

pytestmark = [pytest.mark.temporal, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    """``python worker.py`` in a process of its own, so it can be killed like a crashed host."""

    def __init__(self, address: str, task_queue: str, state_dir: Path) -> None:
        self.env = {
            **os.environ,
            "GENNAKER_TEMPORAL__ADDRESS": address,
            "GENNAKER_TASK_QUEUE": task_queue,
            "GENNAKER_STATE_DIR": str(state_dir),
            # the operator's opt-in for the test's webhook server on loopback (a fresh install refuses it)
            "GENNAKER_OUTBOUND__ALLOW_CIDRS": '["127.0.0.0/8"]',
            "PYTHONPATH": str(ROOT),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.state_dir = state_dir
        self.starts = 0

    def start(self) -> Worker:
        self.starts += 1
        # each run's output is kept beside the test's state, for when a run goes wrong
        with open(self.state_dir / f"worker-{self.starts}.log", "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Hook:
    """A webhook target that counts calls: the create call answers 200, status polls RUNNING until done. The
    ``hold``-th status poll is held unanswered until ``release`` is set, so a test can kill the worker during it."""

    def __init__(self) -> None:
        self.creates = 0
        self.polls = 0
        self.done = False
        self.hold = 0
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.creates += 1
                self._json({"id": "job-1"})

            def do_GET(self) -> None:  # noqa: N802
                hook.polls += 1
                if hook.polls == hook.hold:
                    hook.release.wait(30)
                    with contextlib.suppress(OSError):  # its caller was killed meanwhile
                        self._json({"status": "RUNNING"})
                    return
                self._json({"status": "SUCCESS" if hook.done else "RUNNING"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/job"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = load_settings(state_dir=tmp_path)
    server = DevServer(settings, port=free_port(), headless=True, db_file=tmp_path / "temporal.db").start()
    hook = Hook()
    worker = Worker(server.address, f"durable-{uuid.uuid4()}", tmp_path).start()
    try:
        yield {"server": server, "worker": worker, "hook": hook, "settings": settings, "tmp": tmp_path}
    finally:
        worker.stop()
        hook.release.set()
        hook.close()
        server.stop()
        # shown by pytest when the test failed: what each worker run said
        for log in sorted(tmp_path.glob("worker-*.log")):
            print(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:]))


async def _client(address: str) -> Client:
    for _ in range(100):
        try:
            return await Client.connect(address)
        except RuntimeError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"no Temporal at {address}")


async def _until(client: Client, execution_id: str, check: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    last: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        try:
            last = await operations.get_execution(client, execution_id)
            if check(last):
                return last
        except Exception:  # noqa: BLE001 - no worker to answer the query right now
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not reached: {last}")


def _pipeline() -> dict[str, Any]:
    return {
        "application": "durable",
        "name": "survivor",
        "stages": [
            {"refId": "1", "type": "wait", "name": "wait", "waitTime": 4},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "webhook",
                "name": "hook",
                "method": "POST",
                "url": "HOOK",
                "waitForCompletion": True,
                "statusUrlResolution": "getMethod",
                "statusJsonPath": "$.status",
                "successStatuses": "SUCCESS",
                "payload": {"build": 1},
            },
            {"refId": "3", "requisiteStageRefIds": ["2"], "type": "manualJudgment", "name": "judge"},
        ],
    }


async def test_killing_the_worker_at_every_kind_of_wait_changes_nothing(stack):
    server, worker, hook = stack["server"], stack["worker"], stack["hook"]
    client = await _client(server.address)
    config = json.loads(json.dumps(_pipeline()).replace("HOOK", hook.url))
    execution_id = await operations.start_pipeline(client, config, task_queue=worker.env["GENNAKER_TASK_QUEUE"])

    # 1. during the wait stage's timer
    await _until(client, execution_id, lambda e: stage_named(e, "wait").get("tasks"))
    worker.kill()
    worker.start()
    # 2. during a webhook status poll's call: the second poll is held until the worker is dead
    hook.hold = 2
    await _until(client, execution_id, lambda e: hook.polls >= 2)
    worker.kill()
    hook.done = True
    hook.release.set()
    worker.start()
    # 3. during the manual judgment. The call cut short is made again once its heartbeat timeout (20 s) ends, well
    # before its start-to-close timeout (a minute): this wait is shorter than that.
    running = await _until(client, execution_id, lambda e: stage_named(e, "judge").get("tasks"), timeout=40)
    worker.kill()
    worker.start()
    await operations.patch_stage(
        client, execution_id, stage_named(running, "judge")["id"], {"judgmentStatus": "continue"}, user="survivor"
    )
    done = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 60)
    assert done["status"] == "SUCCEEDED"
    assert [s["status"] for s in done["stages"]] == ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]
    assert hook.creates == 1  # the webhook was called exactly once
    wait = stage_named(done, "wait")
    assert wait["endTime"] - wait["startTime"] >= 4000


async def test_restarting_the_dev_server_resumes_the_execution(stack):
    server, worker = stack["server"], stack["worker"]
    client = await _client(server.address)
    config = {
        "application": "durable",
        "name": "restart",
        "stages": [
            {"refId": "1", "type": "wait", "name": "first", "waitTime": 1},
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "manualJudgment", "name": "judge"},
        ],
    }
    execution_id = await operations.start_pipeline(client, config, task_queue=worker.env["GENNAKER_TASK_QUEUE"])
    await _until(client, execution_id, lambda e: stage_named(e, "judge").get("tasks"))
    server.stop()
    server.start()  # same port, same SQLite file
    client = await _client(server.address)
    running = await _until(client, execution_id, lambda e: stage_named(e, "judge")["status"] == "RUNNING")
    await operations.patch_stage(
        client, execution_id, stage_named(running, "judge")["id"], {"judgmentStatus": "continue"}
    )
    done = await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 60)
    assert done["status"] == "SUCCEEDED" and stage_named(done, "first")["status"] == "SUCCEEDED"

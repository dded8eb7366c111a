"""Interrupting terraform mid-apply: a cancel interrupts it and the state lock is released; a worker SIGKILLed
mid-apply leaves the state locked, the next attempt reports the lock instead of applying again, and an operator
releases it with the force-unlock action."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.terraform.conftest import MAIN_TF, ROOT, TfStack, make_repo, repo_artifact, stage

pytestmark = [pytest.mark.temporal, pytest.mark.slow]


def slow_apply(repo: Path, marker: Path) -> list[dict[str, Any]]:
    return [
        {
            "refId": "apply",
            "name": "Apply",
            "type": "terraform",
            "action": "apply",
            "artifacts": [repo_artifact(repo)],
            "overrides": {"slow": True, "marker": str(marker)},
        }
    ]


async def _until_started(marker: Path, timeout: float = 60) -> None:
    """The slow resource's provisioner writes the marker when terraform is applying (holding the lock)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (marker.exists() and marker.read_text().strip()):
        assert asyncio.get_running_loop().time() < deadline, "terraform never started applying"
        await asyncio.sleep(0.1)


async def _lock(stack: TfStack, app: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        return (await http.get(f"/terraform/state/{app}/default/lock")).json()  # type: ignore[no-any-return]


async def test_cancel_during_apply_interrupts_terraform_and_releases_the_lock(tf_stack: TfStack) -> None:
    repo = make_repo(tf_stack.tmp, {"main.tf": MAIN_TF})
    marker = tf_stack.tmp / "started"
    execution_id = await tf_stack.start(slow_apply(repo, marker), app="cancelme")
    await _until_started(marker)
    held = await _lock(tf_stack, "cancelme")
    assert held["locked"] and held["lock"]["Operation"] == "OperationTypeApply"
    # the heartbeats carry the run's progress: its phase, the lines seen, the last one
    activity = tf_stack.client.get_workflow_handle(f"{execution_id}.stage-apply")
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        pending = (await activity.describe()).raw_description.pending_activities
        details = await tf_stack.client.data_converter.decode(pending[0].heartbeat_details.payloads) if pending else []
        if details and details[0]["phase"] == "apply":
            break
        assert asyncio.get_running_loop().time() < deadline, f"no heartbeat from the apply phase: {details}"
        await asyncio.sleep(0.2)
    assert details[0]["lines"] > 0 and details[0]["last"]
    async with httpx.AsyncClient(base_url=tf_stack.url, timeout=30) as http:
        answer = await http.put(f"/pipelines/{execution_id}/cancel")
        assert answer.status_code in (200, 202), answer.text
    done = await tf_stack.finished(execution_id)
    assert done["status"] == "CANCELED"
    deadline = asyncio.get_running_loop().time() + 60
    while (await _lock(tf_stack, "cancelme"))["locked"]:
        assert asyncio.get_running_loop().time() < deadline, "terraform kept the state locked after the cancel"
        await asyncio.sleep(0.2)
    async with httpx.AsyncClient(base_url=tf_stack.url, timeout=30) as http:
        versions = (await http.get("/terraform/state/cancelme/default/versions")).json()
    # terraform wrote what it had done before it stopped (the greeting; the interrupted resource is tainted)
    assert versions and versions[0]["executionId"] == execution_id
    assert marker.read_text().count("started") == 1


class WorkerProcess:
    """``python worker.py`` on a queue of its own, sharing the stack's store, blobs and state API."""

    def __init__(self, stack: TfStack, queue: str) -> None:
        settings = stack.settings
        self.log_dir = stack.tmp
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GENNAKER_TEMPORAL__ADDRESS": settings.temporal.address,
            "GENNAKER_TASK_QUEUE": queue,
            "GENNAKER_STATE_DIR": str(stack.tmp / "worker-state"),
            "GENNAKER_DATABASE_URL": settings.store_url,
            "GENNAKER_PAYLOADS__DATABASE_URL": settings.payloads.database_url.get_secret_value()
            if hasattr(settings.payloads.database_url, "get_secret_value")
            else str(settings.payloads.database_url),
            "GENNAKER_OUTBOUND__ALLOWED_SCHEMES": '["http", "https", "file"]',
            "GENNAKER_TERRAFORM__STATE_URL": stack.url,
            "GENNAKER_TERRAFORM__WORK_ROOT": str(stack.tmp / "worker-work"),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with open(self.log_dir / f"worker-{self.starts}.log", "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def test_a_worker_killed_mid_apply_leaves_a_lock_reported_and_force_unlocked(tf_stack: TfStack) -> None:
    from workflows import operations

    repo = make_repo(tf_stack.tmp, {"main.tf": MAIN_TF})
    marker = tf_stack.tmp / "started"
    queue = f"tf-killed-{uuid.uuid4()}"
    worker = WorkerProcess(tf_stack, queue)
    worker.start()
    try:
        config = {"application": "killed", "name": "k", "id": str(uuid.uuid4()), "stages": slow_apply(repo, marker)}
        execution_id = await operations.start_pipeline(tf_stack.client, config, {"type": "manual"}, task_queue=queue)
        await _until_started(marker, timeout=90)
        worker.kill()  # terraform dies with it (pdeathsig), holding the lock
        held = await _lock(tf_stack, "killed")
        assert held["locked"]
        lock_id = held["lock"]["ID"]
        worker.start()
        done = await tf_stack.finished(execution_id, timeout=100)
        assert done["status"] == "TERMINAL"
        error = stage(done, "apply")["context"]["exception"]["details"]["error"]
        assert "was interrupted" in error and "does not run it again" in error
        assert f"lock id {lock_id}" in error and "force-unlock" in error
        assert marker.read_text().count("started") == 1  # never a second apply
        assert (await _lock(tf_stack, "killed"))["locked"]  # still locked until an operator decides
        # a new run finds the lock and says so (from terraform's own lock error)
        again = await tf_stack.run(slow_apply(repo, marker), app="killed")
        assert again["status"] == "TERMINAL"
        error = stage(again, "apply")["context"]["exception"]["details"]["error"]
        assert f"the state killed/default is locked (lock id {lock_id})" in error and "force-unlock" in error
        assert marker.read_text().count("started") == 1

        async with httpx.AsyncClient(base_url=tf_stack.url, timeout=30) as http:
            wrong = await http.post("/terraform/state/killed/default/force-unlock", json={"id": "not-the-lock"})
            assert wrong.status_code == 409 and wrong.json()["field"] == "id"
            released = await http.post("/terraform/state/killed/default/force-unlock", json={"id": lock_id})
            assert released.status_code == 200, released.text
            assert released.json()["released"]["ID"] == lock_id
        assert (await _lock(tf_stack, "killed")) == {"locked": False, "lock": None}
    finally:
        worker.stop()


async def test_a_run_longer_than_the_operators_limit_is_interrupted_and_unlocks(tf_stack: TfStack) -> None:
    repo = make_repo(tf_stack.tmp, {"main.tf": MAIN_TF})
    marker = tf_stack.tmp / "started"
    tf_stack.settings.terraform.run_timeout_s = 8.0  # the worker's runner reads these settings
    done = await tf_stack.run(slow_apply(repo, marker), app="slowpoke")
    assert done["status"] == "TERMINAL"
    error = stage(done, "apply")["context"]["exception"]["details"]["error"]
    assert error == "terraform apply took longer than terraform.run_timeout_s (8 s) and was interrupted"
    assert marker.read_text().count("started") == 1
    assert (await _lock(tf_stack, "slowpoke")) == {"locked": False, "lock": None}

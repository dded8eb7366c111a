"""``python worker.py`` registers the reconciler's Schedule when it starts (every worker; the update is idempotent)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError

from core.messages.reconciler import SCHEDULE_ID, WORKFLOW_TYPE

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_worker_registers_the_reconciler_schedule(
    client: Any, tmp_path: Path, payload_settings: dict[str, Any]
) -> None:
    from integrations.schedules import delete_schedule

    queue = f"reconcile-{uuid.uuid4()}"
    env = {
        **os.environ,
        "GENNAKER_TEMPORAL__ADDRESS": client.service_client.config.target_host,
        "GENNAKER_STATE_DIR": str(tmp_path),
        "GENNAKER_TASK_QUEUE": queue,
        "GENNAKER_RECONCILER__INTERVAL_S": "30",
        "GENNAKER_PAYLOADS__DATABASE_URL": payload_settings["database_url"],
        "GENNAKER_CONFIG_FILE": str(tmp_path / "none.yml"),
    }
    (tmp_path / "none.yml").write_text("{}\n")
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=sink
        )
    try:
        handle = client.get_schedule_handle(SCHEDULE_ID)
        description = None
        for _ in range(600):  # until the worker has put it (it migrates the store first)
            try:
                description = await handle.describe()
                if description.schedule.action.task_queue == queue:
                    break
            except RPCError:
                pass
            assert process.poll() is None, log.read_text()
            await asyncio.sleep(0.1)
        assert description is not None
        action = description.schedule.action
        assert action.workflow == WORKFLOW_TYPE and action.task_queue == queue
        assert description.schedule.spec.intervals[0].every.total_seconds() == 30
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        await delete_schedule(client, SCHEDULE_ID)

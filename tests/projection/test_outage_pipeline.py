"""A real pipeline finishing while its database is down: the stage's end, the final record and the downstream
``pipeline`` trigger all land once the database is back, exactly once.

The database (PostgreSQL) sits behind a TCP proxy the test cuts while the pipeline's last stage runs, so every write
around completion fails until it is restored. ``make outage`` runs this with a 60-second outage
(``GENNAKER_TEST_OUTAGE_SECONDS``); ``make test`` with a few seconds.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from temporalio.worker import Worker

from .tcp_proxy import TcpProxy

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.temporal]

OUTAGE_SECONDS = float(os.environ.get("GENNAKER_TEST_OUTAGE_SECONDS", "4"))


async def eventually(check: Any, timeout: float) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        got = await asyncio.to_thread(check)
        if got:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


@pytest.mark.timeout(OUTAGE_SECONDS * 3 + 120)
async def test_a_pipeline_finishing_during_an_outage_is_recorded_and_triggers_once(
    client: Any, postgresql_url: str, tmp_path: Path
) -> None:
    from activities.all import build_activities
    from core.settings import Settings
    from core.store import Store
    from workflows import operations
    from workflows.all import WORKFLOWS, workflow_runner

    direct = Store(postgresql_url)
    direct.migrate()
    url = make_url(postgresql_url)
    tag = uuid.uuid4().hex[:8]
    upstream = {
        "id": f"up-{tag}",
        "application": "outage",
        "name": f"upstream {tag}",
        "limitConcurrent": False,
        "stages": [
            {"refId": "1", "type": "wait", "name": "first", "waitTime": 0},
            {"refId": "2", "requisiteStageRefIds": ["1"], "type": "wait", "name": "last", "waitTime": 2},
        ],
    }
    downstream_id = f"down-{tag}"
    direct.pipelines.save(upstream, "bob")
    direct.pipelines.save(
        {
            "id": downstream_id,
            "application": "outage",
            "name": f"downstream {tag}",
            "limitConcurrent": False,
            "stages": [{"refId": "1", "type": "wait", "name": "w", "waitTime": 0}],
            "triggers": [{"type": "pipeline", "enabled": True, "pipeline": upstream["id"], "status": ["successful"]}],
        },
        "bob",
    )

    def downstream() -> list[dict[str, Any]]:
        return direct.executions.query(pipeline_config_ids=[downstream_id])

    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = Store(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        settings = Settings(state_dir=tmp_path, task_queue=f"outage-{tag}")
        async with Worker(
            client,
            task_queue=settings.task_queue,
            workflows=WORKFLOWS,
            activities=build_activities(settings, client, store=proxied),
            activity_executor=ThreadPoolExecutor(max_workers=20),
            workflow_runner=workflow_runner(),
        ):
            execution_id = await operations.start_pipeline(client, upstream, task_queue=settings.task_queue)

            def last_stage_running() -> bool:
                try:
                    stages = direct.executions.get(execution_id).get("stages") or []
                except Exception:  # noqa: BLE001 - not written yet
                    return False
                return any(s.get("name") == "last" and s.get("status") == "RUNNING" for s in stages)

            await eventually(last_stage_running, 60)
            proxy.cut()  # the last stage ends, and the pipeline finishes, while the database is unreachable
            await asyncio.sleep(OUTAGE_SECONDS)
            assert direct.executions.get(execution_id)["status"] == "RUNNING"  # nothing could be recorded
            assert proxy.refused >= 1
            assert downstream() == []
            proxy.restore()

            def finished() -> bool:
                return direct.executions.get(execution_id)["status"] == "SUCCEEDED"

            await eventually(finished, 60)
            stages = {s["name"]: s["status"] for s in direct.executions.get(execution_id)["stages"]}
            assert stages == {"first": "SUCCEEDED", "last": "SUCCEEDED"}
            started = await eventually(downstream, 60)
            assert len(started) == 1 and started[0]["trigger"]["parentExecution"]["id"] == execution_id
            await eventually(lambda: downstream()[0]["status"] == "SUCCEEDED", 60)
            await asyncio.sleep(1)  # a late duplicate would show up by now
            assert len(downstream()) == 1
        proxied.close()
    direct.close()

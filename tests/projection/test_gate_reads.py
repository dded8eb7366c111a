"""Gate reads executions from the store only, and finishes zombies: executions whose workflow Temporal closed
(terminated, timed out, failed) or forgot while the store still shows them running."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import Settings
from tests.conftest import build_worker_with, venv_bin
from workflows import operations

pytestmark = pytest.mark.asyncio(loop_scope="session")
DONE = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE", "SKIPPED"}


def long_wait(name: str = "zombie") -> dict[str, Any]:
    return {
        "application": "projapp",
        "name": name,
        "id": f"cfg-{name}",
        "stages": [{"refId": "1", "type": "wait", "name": "Long wait", "waitTime": 600}],
    }


class Stack:
    def __init__(self, client: Any, tmp_path: Path, **extra: Any) -> None:
        from core.store import Store

        self.client = client
        self.settings = Settings(state_dir=tmp_path, task_queue=f"proj-{uuid.uuid4()}", **extra)
        self.store = Store(self.settings.store_url)
        self.store.migrate()
        self.worker: Any = None

    @contextlib.asynccontextmanager
    async def running_worker(self) -> AsyncIterator[None]:
        async with build_worker_with(self.client, self.settings, self.store):
            yield

    @contextlib.asynccontextmanager
    async def http(self) -> AsyncIterator[httpx.AsyncClient]:
        from api.main import create_app

        app = create_app(self.settings, temporal=self.client, store=self.store)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
            yield http

    async def start(self, config: dict[str, Any]) -> str:
        return await operations.start_pipeline(
            self.client, config, {"type": "manual"}, task_queue=self.settings.task_queue
        )

    async def stored(self, execution_id: str, check: Any, timeout: float = 60) -> dict[str, Any]:
        """The store's execution once ``check`` holds (polled: the store is what is under test)."""
        from core.store import NotFoundError

        deadline = asyncio.get_running_loop().time() + timeout
        got: dict[str, Any] = {}
        while asyncio.get_running_loop().time() < deadline:
            with contextlib.suppress(NotFoundError):
                got = await asyncio.to_thread(self.store.executions.get, execution_id)
                if check(got):
                    return got
            await asyncio.sleep(0.1)
        raise AssertionError(f"condition not reached; the store has {got}")


@pytest.fixture
def stack(client: Any, tmp_path: Path) -> Any:
    made = Stack(client, tmp_path)
    yield made
    made.store.close()


def terminate_with_cli(client: Any, execution_id: str, reason: str) -> None:
    address = client.service_client.config.target_host
    subprocess.run(
        [
            venv_bin("temporal"),
            "workflow",
            "terminate",
            "--address",
            address,
            "--workflow-id",
            execution_id,
            "--reason",
            reason,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


async def test_reads_answer_from_the_store_while_every_worker_is_down(stack: Stack) -> None:
    async with stack.running_worker():
        execution_id = await stack.start(long_wait("reads"))
        await stack.stored(execution_id, lambda e: e["status"] == "RUNNING")
    # no worker runs now: a query to the workflow would wait for one; the store answers
    async with stack.http() as http:
        got = await http.get(f"/pipelines/{execution_id}")
        assert got.status_code == 200, got.text
        assert got.json() == await asyncio.to_thread(stack.store.executions.get, execution_id)
        assert got.json()["status"] == "RUNNING"
        for path in (
            "/applications/projapp/pipelines",
            "/applications/projapp/pipelines?expand=true",
            f"/executions?executionIds={execution_id}",
            "/executions?pipelineConfigIds=cfg-reads&expand=true",
        ):
            listed = await http.get(path)
            assert listed.status_code == 200, (path, listed.text)
            assert [e["id"] for e in listed.json()] == [execution_id], path
        expanded = (await http.get("/applications/projapp/pipelines?expand=true")).json()[0]
        summary = (await http.get("/applications/projapp/pipelines")).json()[0]
        assert expanded == got.json()
        assert all(s["tasks"] == [] and s["outputs"] == {} for s in summary["stages"])
    await stack.client.get_workflow_handle(execution_id).terminate(reason="test over")


async def test_a_terminated_pipeline_is_finished_by_the_reconciler_and_can_be_deleted(stack: Stack) -> None:
    from activities.reconciler import put_reconciler_schedule
    from core.messages.reconciler import SCHEDULE_ID
    from integrations.schedules import delete_schedule

    stack.settings = stack.settings.model_copy(
        update={"reconciler": stack.settings.reconciler.model_copy(update={"interval_s": 5, "grace_s": 0})}
    )
    async with stack.running_worker(), stack.http() as http:
        execution_id = await stack.start(long_wait())
        await stack.stored(execution_id, lambda e: e["status"] == "RUNNING")
        terminate_with_cli(stack.client, execution_id, "history too large")
        refused = await http.delete(f"/pipelines/{execution_id}")  # before anything reconciles it
        assert refused.status_code in (200, 204), refused.text  # DELETE finishes it on the spot, then deletes
        other = await stack.start(long_wait("other"))
        # its stage running too (the execution shows RUNNING from its first record, before its first stage starts)
        await stack.stored(other, lambda e: e["status"] == "RUNNING" and e["stages"][0]["status"] == "RUNNING")
        terminate_with_cli(stack.client, other, "operator says so")
        # one reconciler per namespace: a run an earlier stack left on its task queue would hold this one back
        # (a Schedule's runs have ids of their own, "<action id>-<time>": end each one the Schedule lists as running)
        with contextlib.suppress(Exception):
            described = await stack.client.get_schedule_handle(SCHEDULE_ID).describe()
            for action in described.info.running_actions:
                await stack.client.get_workflow_handle(action.workflow_id).terminate(reason="an earlier stack's run")
        await put_reconciler_schedule(stack.client, stack.settings)
        try:
            done = await stack.stored(other, lambda e: e["status"] in DONE, timeout=60)
        finally:
            await delete_schedule(stack.client, SCHEDULE_ID)
        assert done["status"] == "TERMINAL"
        assert "operator says so" in done["systemNotifications"][-1]["message"]
        wait = done["stages"][0]
        assert wait["status"] == "TERMINAL"
        assert "operator says so" in wait["context"]["exception"]["details"]["errors"][0]
        got = await http.get(f"/pipelines/{other}")
        assert got.json()["status"] == "TERMINAL"
        assert (await http.delete(f"/pipelines/{other}")).status_code in (200, 204)
        assert (await http.get(f"/pipelines/{other}")).status_code == 404
        assert (await http.get(f"/pipelines/{execution_id}")).status_code == 404


async def test_cancel_of_a_zombie_records_how_it_ended(stack: Stack) -> None:
    async with stack.running_worker(), stack.http() as http:
        execution_id = await stack.start(long_wait("cancel"))
        await stack.stored(execution_id, lambda e: e["status"] == "RUNNING")
        await stack.client.get_workflow_handle(execution_id).terminate(reason="gone wrong")
        answer = await http.put(f"/pipelines/{execution_id}/cancel")
        assert answer.status_code in (200, 202, 204), answer.text
        got = (await http.get(f"/pipelines/{execution_id}")).json()
        assert got["status"] == "TERMINAL" and "gone wrong" in got["systemNotifications"][-1]["message"]
        # a finished execution is refused as before
        assert (await http.put(f"/pipelines/{execution_id}/cancel")).status_code == 409
        # a store row whose workflow Temporal never had (or forgot): finished as gone, then deleted
        ghost = {"id": f"ghost-{uuid.uuid4().hex}", "application": "projapp", "status": "RUNNING", "stages": []}
        await asyncio.to_thread(stack.store.executions.save, ghost)
        assert (await http.delete(f"/pipelines/{ghost['id']}")).status_code in (200, 204)

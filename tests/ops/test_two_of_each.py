"""Two workers (``worker.py``) and two API processes (uvicorn ``api.main:app``, as ``gennaker up`` runs it) against
one Temporal and one fresh PostgreSQL database: concurrent saves leave exactly the Schedules the store asks for,
and executions started through either API run on either worker and read the same through both."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.settings import ApiSettings, Settings
from gennaker import cli
from integrations.triggers.schedules import DIGEST_MARK, schedule_id

from .procs import ROOT, Running, clean_env, free_port, wait_until

pytestmark = [pytest.mark.temporal, pytest.mark.slow]

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
APP = "opsapp"


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A PostgreSQL database of this module's own, dropped afterwards."""
    name = f"gennaker_ops_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Stack:
    """The four processes and an HTTP client for each API."""

    def __init__(self, workers: list[Running], apis: list[Running], urls: list[str], task_queue: str) -> None:
        self.workers, self.apis, self.urls, self.task_queue = workers, apis, urls, task_queue
        self.http = [httpx.AsyncClient(base_url=url, timeout=30) for url in urls]

    @property
    def output(self) -> str:
        return "\n\n".join(f"--- {p.name} ---\n{p.output}" for p in [*self.workers, *self.apis])


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def stack(
    temporal_env: WorkflowEnvironment, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """One stack for the module's tests (starting four processes costs tens of seconds on a loaded CI core): the tests
    use pipelines of their own names and ids, so neither sees what the other saved or ran."""
    tmp_path = tmp_path_factory.mktemp("two-of-each")
    address = temporal_env.client.service_client.config.target_host
    task_queue = f"ops-{uuid.uuid4().hex[:8]}"
    base = clean_env(
        GENNAKER_TEMPORAL__ADDRESS=address,
        GENNAKER_DATABASE_URL=database_url,
        GENNAKER_TASK_QUEUE=task_queue,
        GENNAKER_STATE_DIR=str(tmp_path / "state"),
    )
    ports = [free_port(), free_port()]
    procs: list[Running] = []
    try:
        workers = [
            Running([sys.executable, str(ROOT / "worker.py")], base, tmp_path, name=f"worker {i}") for i in (1, 2)
        ]
        procs += workers
        apis = []
        for i, port in enumerate(ports, 1):
            command = cli.api_command(Settings(api=ApiSettings(port=port)))
            assert command is not None
            apis.append(Running(command, {**base, "GENNAKER_API__PORT": str(port)}, tmp_path, name=f"API {i}"))
        procs += apis
        for worker in workers:
            try:
                await asyncio.to_thread(worker.wait_for, f"worker ready on {task_queue}", 120)
            except AssertionError:
                raise AssertionError("\n\n".join(f"--- {p.name} ---\n{p.output}" for p in procs)) from None
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, api in zip(urls, apis, strict=True):
            up = await asyncio.to_thread(wait_until, lambda u=url: _healthy(u), 60)  # type: ignore[misc]
            assert up, api.output
        result = Stack(workers, apis, urls, task_queue)
        yield result
        for http in result.http:
            await http.aclose()
    finally:
        for proc in procs:
            proc.kill()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def cron(trigger_id: str, minute: int, *, enabled: bool = True) -> dict[str, Any]:
    return {"type": "cron", "id": trigger_id, "enabled": enabled, "cronExpression": f"0 {minute} 3 * * ?"}


def pipeline(pipeline_id: str, name: str, triggers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    stages = [{"refId": "1", "type": "wait", "name": "wait", "waitTime": 0}]
    return {"id": pipeline_id, "application": APP, "name": name, "stages": stages, "triggers": triggers, **extra}


async def schedule_note(client: Client, sid: str) -> str | None:
    try:
        return (await client.get_schedule_handle(sid).describe()).schedule.state.note or ""
    except RPCError as err:
        if "not found" in str(err).lower() or err.status.name == "NOT_FOUND":
            return None
        raise


async def test_concurrent_saves_through_two_apis_leave_exactly_the_right_schedules(
    stack: Stack, client: Client
) -> None:
    pipelines = [f"ops-{uuid.uuid4().hex[:8]}-{i}" for i in range(6)]
    ever: set[str] = set()  # every Schedule id any save asked for

    def version(pid: str, i: int, api: int, rnd: int) -> dict[str, Any]:
        """What API ``api`` saves for pipeline ``i`` in round ``rnd``: triggers of its own, one shared."""
        own = [cron(f"t{api}r{rnd}", (rnd * 7 + api) % 60)]
        shared = [cron("shared", rnd, enabled=(rnd + api) % 2 == 0)]
        if i % 3 == 2 and rnd == 2:
            own, shared = [], []  # this pipeline ends up with no cron trigger at all
        triggers = own + shared
        ever.update(schedule_id(pid, t["id"]) for t in triggers)
        return pipeline(pid, f"p{i}", triggers)

    # Created once each (two creates of one pipeline at once are a conflict Front50 answers too), through both APIs.
    created = [stack.http[i % 2].post("/pipelines", json=pipeline(pid, f"p{i}", [])) for i, pid in enumerate(pipelines)]
    for answer in await asyncio.gather(*created):
        assert answer.status_code == 200, (answer.text, stack.output)
    for rnd in range(3):
        saves = [
            stack.http[api].post("/pipelines", json=version(pid, i, api, rnd))
            for i, pid in enumerate(pipelines)
            for api in (0, 1)
        ]
        for answer in await asyncio.gather(*saves):
            assert answer.status_code == 200, (answer.text, stack.output)

    # What the store holds now decides: read it through both APIs (they agree) and check every id ever asked for.
    stored: dict[str, dict[str, Any]] = {}
    for pid, i in zip(pipelines, itertools.count(), strict=False):
        a, b = [(await http.get(f"/applications/{APP}/pipelineConfigs/p{i}")).json() for http in stack.http]
        assert a == b and a["id"] == pid
        stored[pid] = a
    expected = {
        schedule_id(pid, t["id"]): t.get("enabled") is not False
        for pid, doc in stored.items()
        for t in doc.get("triggers") or []
        if t.get("type") == "cron"
    }
    assert expected, "every pipeline ended without cron triggers: the test would prove nothing"
    for sid in sorted(ever):
        note = await schedule_note(client, sid)
        if sid in expected:
            assert note is not None, f"{sid} is in the store but has no Schedule"
            paused = (await client.get_schedule_handle(sid).describe()).schedule.state.paused
            assert paused is not expected[sid], sid
            assert DIGEST_MARK in note
        else:
            assert note is None, f"{sid} has a Schedule the store no longer asks for"

    # Deleting through one API while the other saves another pipeline: each keeps what the other did.
    gone, kept = pipelines[0], pipelines[1]
    deleting = stack.http[0].delete(f"/pipelines/{APP}/p0")
    saving = stack.http[1].post("/pipelines", json=pipeline(kept, "p1", [cron("late", 5)]))
    for answer in await asyncio.gather(deleting, saving):
        assert answer.status_code in (200, 204), answer.text
    for sid in (s for s in ever if s.startswith(schedule_id(gone, ""))):
        assert await schedule_note(client, sid) is None, sid
    assert await schedule_note(client, schedule_id(kept, "late")) is not None
    for sid in (s for s in ever if s.startswith(schedule_id(kept, ""))):
        assert await schedule_note(client, sid) is None, sid


async def test_executions_through_either_api_run_on_either_worker_and_read_the_same(
    stack: Stack, client: Client
) -> None:
    stages = [
        {"refId": str(n), "type": "wait", "name": f"wait {n}", "waitTime": 0, "requisiteStageRefIds": [str(n - 1)]}
        for n in range(1, 5)
    ]
    stages[0]["requisiteStageRefIds"] = []
    config = {"id": f"run-{uuid.uuid4().hex[:8]}", "application": APP, "name": "run", "stages": stages}
    assert (await stack.http[0].post("/pipelines", json=config)).status_code == 200

    starts = [stack.http[n % 2].post(f"/pipelines/{APP}/run", json={"type": "manual"}) for n in range(10)]
    refs = []
    for answer in await asyncio.gather(*starts):
        assert answer.status_code == 202, answer.text
        refs.append(answer.json()["ref"])

    async def finished(ref: str) -> dict[str, Any]:
        """The execution through API B once its workflow has closed: Temporal's wait for the result, not a poll of
        the API (the engine records the execution before its workflow returns)."""
        try:
            with contextlib.suppress(WorkflowFailureError):
                await asyncio.wait_for(client.get_workflow_handle(ref.rsplit("/", 1)[1]).result(), 120)
        except TimeoutError:
            raise AssertionError(f"{ref} did not finish:\n{stack.output}") from None
        body: dict[str, Any] = (await stack.http[1].get(ref)).json()
        return body

    for ref in refs:
        through_b = await finished(ref)
        assert through_b["status"] == "SUCCEEDED", through_b
        through_a = (await stack.http[0].get(ref)).json()
        assert through_a == through_b

    # Which processes ran the work: a worker's identity is "<pid>@<host>".
    pids = {str(w.process.pid) for w in stack.workers}
    seen: set[str] = set()
    async for wf in client.list_workflows(f'TaskQueue="{stack.task_queue}"'):
        async for event in client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history_events():
            if event.HasField("workflow_task_completed_event_attributes"):
                seen.add(event.workflow_task_completed_event_attributes.identity.split("@")[0])
            if event.HasField("activity_task_started_event_attributes"):
                seen.add(event.activity_task_started_event_attributes.identity.split("@")[0])
    assert seen and seen <= pids, (seen, pids)
    assert seen == pids, f"one worker ran nothing: {seen} of {pids}"

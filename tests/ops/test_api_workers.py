"""The API as ``gennaker up`` runs it with ``api.workers`` = 2: two uvicorn processes share one port and one fresh
PostgreSQL database. Both migrate at once without clashing, the start-up reconciliation of Schedules runs in one of
them (the store's lease), and a pipeline saved through one process is read through the other."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from core.settings import ApiSettings, Settings
from gennaker import cli

from .procs import Running, clean_env, cmdline, descendants, free_port, wait_until

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
APP = "workersapp"
#: uvicorn's --log-config: every line (the API's own INFO lines and the access log) names its process
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"pid": {"format": "pid=%(process)d %(name)s: %(message)s"}},
    "handlers": {"out": {"class": "logging.StreamHandler", "formatter": "pid", "stream": "ext://sys.stdout"}},
    "root": {"handlers": ["out"], "level": "INFO"},
}


@pytest.fixture
def database_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own (never migrated: the two processes do it), dropped afterwards."""
    name = f"gennaker_workers_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _client_port(response: httpx.Response) -> int:
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


def _served_by(api: Running, client_port: int) -> int:
    """The pid whose access log line shows a request from ``client_port``."""
    line = re.compile(rf"^pid=(\d+) uvicorn\.access: 127\.0\.0\.1:{client_port} - ")
    assert wait_until(lambda: any(line.match(x) for x in api.lines), 10), api.output
    return next(int(m.group(1)) for x in api.lines if (m := line.match(x)))


async def _connections_on_two_processes(api: Running, url: str) -> dict[int, httpx.AsyncClient]:
    """Keep-alive connections until two different worker processes hold one each: {pid: client}."""
    found: dict[int, httpx.AsyncClient] = {}
    spare: list[httpx.AsyncClient] = []
    for _ in range(60):
        http = httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=1))
        port = _client_port((await http.get("/health")).raise_for_status())
        pid = await asyncio.to_thread(_served_by, api, port)
        if pid in found:
            spare.append(http)
        else:
            found[pid] = http
        if len(found) == 2:
            break
    for http in spare:
        await http.aclose()
    return found


@pytest.mark.temporal
@pytest.mark.slow
async def test_two_api_processes_share_the_port_and_the_store_and_reconcile_once(
    temporal_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    log_config = tmp_path / "log.json"
    log_config.write_text(json.dumps(LOG_CONFIG))
    command = cli.api_command(Settings(api=ApiSettings(port=port, workers=2)))
    assert command is not None and command[command.index("--workers") + 1] == "2"
    env = clean_env(
        GENNAKER_TEMPORAL__ADDRESS=temporal_env.client.service_client.config.target_host,
        GENNAKER_DATABASE_URL=database_url,
        GENNAKER_TASK_QUEUE=f"workers-{uuid.uuid4().hex[:8]}",
        GENNAKER_STATE_DIR=str(tmp_path / "state"),
        GENNAKER_API__PORT=str(port),
        GENNAKER_API__WORKERS="2",
    )
    api = Running([*command, "--log-config", str(log_config)], env, tmp_path, name="API")
    url = f"http://127.0.0.1:{port}"
    clients: dict[int, httpx.AsyncClient] = {}
    try:
        assert await asyncio.to_thread(wait_until, lambda: _healthy(url), 90), api.output
        workers = {p for p in descendants(api.process.pid) if "spawn_main" in cmdline(p)}
        assert len(workers) == 2, api.output
        # both lifespans have finished their start-up work once each says what it did
        done = ("cron schedules reconciled", "start-up reconciliation: another API process does it")
        assert await asyncio.to_thread(wait_until, lambda: all(d in api.output for d in done), 60), api.output
        assert api.output.count("cron schedules reconciled") == 1, api.output
        assert api.output.count("another API process does it") == 1, api.output

        clients = await _connections_on_two_processes(api, url)
        assert len(clients) == 2 and set(clients) <= workers, api.output
        writer, reader = clients.values()
        config = {"application": APP, "name": "shared", "stages": [], "triggers": []}
        (await writer.post("/pipelines", json=config)).raise_for_status()
        read = (await reader.get(f"/applications/{APP}/pipelineConfigs/shared")).raise_for_status().json()
        assert read["name"] == "shared" and read["id"]
        listed = (await reader.get(f"/applications/{APP}/pipelineConfigs")).json()
        assert [c["name"] for c in listed] == ["shared"]
    finally:
        for http in clients.values():
            await http.aclose()
        api.kill()


def test_several_api_processes_sum_their_metrics_in_a_fresh_directory(tmp_path: Path) -> None:
    """``gennaker up`` gives N > 1 API processes prometheus-client's multiprocess directory, emptied at each start."""
    assert cli.api_env(Settings(state_dir=tmp_path, api=ApiSettings(workers=1)), {"A": "1"}) == {"A": "1"}
    stale = tmp_path / "prometheus-multiproc" / "counter_123.db"
    stale.parent.mkdir()
    stale.write_bytes(b"an earlier run's counts")
    env = cli.api_env(Settings(state_dir=tmp_path, api=ApiSettings(workers=2)), {"A": "1"})
    assert env["A"] == "1" and Path(env["PROMETHEUS_MULTIPROC_DIR"]) == stale.parent.resolve()
    assert stale.parent.is_dir() and not stale.exists()

"""The local Temporal dev server: command line, start-up, WAL-mode SQLite state, search attributes, restarts."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from core.settings import Settings
from gennaker.devserver import DevServer, DevServerError, dev_server_command, temporal_binary, terminate
from workflows import search


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(tmp_path: Path, **dev_server: object) -> Settings:
    return Settings(state_dir=tmp_path / "state", dev_server={"port": free_port(), **dev_server})


def flag_values(cmd: list[str], flag: str) -> list[str]:
    return [cmd[i + 1] for i, arg in enumerate(cmd) if arg == flag]


def test_command_line(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", dev_server={"extra_args": ["--metrics-port", "19090"]})
    cmd = dev_server_command(settings)
    assert cmd[0] == temporal_binary() and cmd[1:3] == ["server", "start-dev"]
    assert Path(cmd[0]).name == "temporal"
    assert flag_values(cmd, "--ip") == ["127.0.0.1"]
    assert flag_values(cmd, "--port") == ["7233"] and flag_values(cmd, "--ui-port") == ["8233"]
    assert flag_values(cmd, "--db-filename") == [str(tmp_path / "state" / "temporal.db")]
    assert (tmp_path / "state").is_dir()  # the SQLite file's directory is created
    assert flag_values(cmd, "--sqlite-pragma") == ["journal_mode=wal", "synchronous=normal"]
    assert flag_values(cmd, "--log-level") == ["warn"]
    assert flag_values(cmd, "--search-attribute") == [f"{key.name}=Keyword" for key in search.ALL]
    assert flag_values(cmd, "--dynamic-config-value") == [
        "matching.numTaskqueueReadPartitions=1",
        "matching.numTaskqueueWritePartitions=1",
        *(f"history.{q}ProcessorMaxPollRPS=10000" for q in ("transfer", "timer", "visibility", "outbound")),
    ]
    assert cmd[-2:] == ["--metrics-port", "19090"]  # extra args come last, so they can override
    assert "--headless" not in cmd and "--namespace" not in cmd


def test_command_line_overrides(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, temporal={"namespace": "deploys"}, dev_server={"log_level": "error"})
    cmd = dev_server_command(settings, port=17000, ui_port=18000, db_file=None, headless=True)
    assert flag_values(cmd, "--port") == ["17000"]
    assert "--headless" in cmd and "--ui-port" not in cmd
    assert "--db-filename" not in cmd and "--sqlite-pragma" not in cmd  # in memory
    assert flag_values(cmd, "--namespace") == ["deploys"]  # the configured namespace exists on the dev server
    assert flag_values(cmd, "--log-level") == ["error"]
    explicit = dev_server_command(settings, db_file=tmp_path / "other" / "t.db")
    assert flag_values(explicit, "--db-filename") == [str(tmp_path / "other" / "t.db")]
    configured = Settings(dev_server={"db_file": tmp_path / "conf" / "x.db"})
    assert flag_values(dev_server_command(configured), "--db-filename") == [str(tmp_path / "conf" / "x.db")]


async def registered_search_attributes(client: Client) -> dict[str, int]:
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return dict(response.custom_attributes)


@pytest.mark.temporal
async def test_state_and_search_attributes_survive_a_restart(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    db = settings.dev_server_db_path
    workflow_id = f"devserver-test-{uuid.uuid4()}"
    async with DevServer(settings, headless=True) as server:
        assert server.address == f"127.0.0.1:{settings.dev_server.port}"
        assert server.ui_url is None
        client = await Client.connect(server.address)
        registered = await registered_search_attributes(client)
        for key in search.ALL:
            assert registered[key.name] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        assert (await client.count_workflows("GennakerApplication = 'x'")).count == 0
        # A workflow nobody runs stays open: it must still be there after the restart.
        await client.start_workflow("NobodyRunsThis", id=workflow_id, task_queue=f"nobody-{uuid.uuid4()}")
        assert db.exists()
        assert db.with_name(db.name + "-wal").exists(), "the SQLite WAL pragma was not applied"

    # Same SQLite file again: registering the same search attributes must not fail, and the state is reused.
    async with DevServer(settings, headless=True) as server:
        client = await Client.connect(server.address)
        assert set(await registered_search_attributes(client)) >= {key.name for key in search.ALL}
        description = await client.get_workflow_handle(workflow_id).describe()
        assert description.workflow_type == "NobodyRunsThis"
        assert (await client.count_workflows("GennakerApplication = 'x'")).count == 0


@pytest.mark.temporal
def test_sync_context_manager_with_ui(tmp_path: Path) -> None:
    import httpx

    settings = settings_for(tmp_path, ui_port=free_port())
    with DevServer(settings, log_file=tmp_path / "server.log") as server:
        assert server.process is not None and server.process.poll() is None
        assert server.ui_url == f"http://127.0.0.1:{settings.dev_server.ui_port}"
        assert httpx.get(server.ui_url, timeout=10).status_code == 200
        with pytest.raises(DevServerError, match="already started"):
            server.start()
        process = server.process
    assert process.poll() is not None  # stopped on leaving the block
    assert server.process is None and server.stop() is None
    assert (tmp_path / "server.log").read_text().startswith("Temporal CLI")


@pytest.mark.temporal
def test_start_failure_shows_the_server_output(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = DevServer(Settings(state_dir=tmp_path), port=port, headless=True, startup_timeout=20)
        with pytest.raises(DevServerError) as info:
            server.start()
    assert "the Temporal dev server exited with code 1" in str(info.value)
    assert "address already in use" in str(info.value)  # the server's own words, from its output
    assert server.process is None


def test_terminate_escalates_to_sigkill() -> None:
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert stubborn.stdout is not None and stubborn.stdout.readline() == b"ready\n"
    assert terminate(stubborn, grace=0.3) == -9
    stubborn.stdout.close()
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert terminate(polite, grace=5) == -15
    assert terminate(polite, grace=5) == -15  # already gone: just the exit code


@pytest.mark.temporal
def test_start_timeout_stops_the_server(tmp_path: Path) -> None:
    server = DevServer(settings_for(tmp_path), headless=True, db_file=None, startup_timeout=0)
    with pytest.raises(DevServerError, match=r"did not answer on 127\.0\.0\.1:\d+ within 0s"):
        server.start()
    assert server.process is None  # stopped, not left running

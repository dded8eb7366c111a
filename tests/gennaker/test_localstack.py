"""`gennaker up`'s one-process stack: the worker, the API and the UI in one process (``worker.py --with-api``,
gennaker/localstack.py), and when `up` runs them apart instead (``--separate``, several API processes)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from core.settings import Settings
from core.store import Store
from gennaker import cli, supervisor
from gennaker.localstack import StackServerError, free_port, serve_with_api
from tests.ops.procs import port_is_free

# --- which processes `up` starts ----------------------------------------------------------------------------------


def test_up_runs_one_api_process_unless_the_settings_name_more() -> None:
    assert cli.up_api_workers(Settings()) == 1  # not the cores-based default of api.workers (issue 19)
    assert Settings().api.workers >= 1
    assert cli.up_api_workers(Settings(api={"workers": 3})) == 3
    assert cli.up_api_workers(Settings(api={"workers": 1})) == 1
    command = cli.api_command(Settings(), cli.up_api_workers(Settings()))
    assert command is not None and command[command.index("--workers") + 1] == "1"


def started_by_up(
    argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, list[str], dict[str, str]]]:
    """What ``gennaker up`` spawns (name, command, environment), with children that exit at once (so `up` stops)."""
    spawned: list[tuple[str, list[str], dict[str, str]]] = []

    def spawn(name: str, cmd: list[str], child_env: dict[str, str], grace: float, *_: Any, **__: Any) -> Any:
        spawned.append((name, cmd, child_env))
        return supervisor.Child(name, subprocess.Popen(["true"]), grace)

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(supervisor, "spawn", spawn)
    assert cli.run(["up", *argv]) == 1  # a child exited on its own: `up` stops the rest and says so
    return spawned


@pytest.mark.parametrize(
    ("argv", "settings", "expected"),
    [
        ([], {}, [("worker", ["--with-api"])]),
        (["--separate"], {}, [("worker", []), ("API", ["--workers", "1"]), ("UI", [])]),
        ([], {"GENNAKER_API__WORKERS": "2"}, [("worker", []), ("API", ["--workers", "2"]), ("UI", [])]),
        ([], {"GENNAKER_UI__ENABLED": "false"}, [("worker", ["--with-api"])]),
        (["--separate"], {"GENNAKER_UI__ENABLED": "false"}, [("worker", []), ("API", ["--workers", "1"])]),
    ],
)
def test_the_processes_up_starts(
    argv: list[str],
    settings: dict[str, str],
    expected: list[tuple[str, list[str]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in [k for k in os.environ if k.startswith("GENNAKER_")]:
        monkeypatch.delenv(key)
    env = {"GENNAKER_STATE_DIR": str(tmp_path / "state"), "GENNAKER_DEV_SERVER__ENABLED": "false", **settings}
    spawned = started_by_up(argv, env, monkeypatch)
    assert [name for name, _, _ in spawned] == [name for name, _ in expected]
    for (name, cmd, _), (_, words) in zip(spawned, expected, strict=True):
        joined = " ".join(cmd)
        assert " ".join(words) in joined, (name, cmd)
        if name == "worker":
            assert cmd[1].endswith("worker.py") and ("--with-api" in cmd) == ("--with-api" in words)


# --- the one process: the API and the UI next to the worker --------------------------------------------------------


def stack_settings(tmp_path: Path, client: Client, **overrides: Any) -> Settings:
    return Settings(
        state_dir=tmp_path,
        task_queue=f"localstack-{uuid.uuid4()}",
        temporal={"address": client.service_client.config.target_host},
        api={"port": free_port()},
        **{"ui": {"port": free_port()}, **overrides},
    )


async def until_answers(http: httpx.AsyncClient, url: str, serving: asyncio.Task[None]) -> httpx.Response:
    """The first answer at ``url`` (the servers start in the background); fails when serving ended first."""
    for _ in range(300):
        assert not serving.done(), serving
        try:
            return await http.get(url)
        except httpx.TransportError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


async def test_the_api_and_the_ui_serve_beside_the_worker_until_stop(tmp_path: Path, client: Client) -> None:
    settings = stack_settings(tmp_path, client)
    store = Store(settings.store_url)
    store.migrate()
    stop = asyncio.Event()
    worker_stopped = asyncio.Event()

    async def worker() -> None:
        await stop.wait()
        worker_stopped.set()

    serving = asyncio.create_task(serve_with_api(settings, client, store, stop, worker()))
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            api = f"http://127.0.0.1:{settings.api.port}"
            ui = f"http://127.0.0.1:{settings.ui.port}"
            assert (await until_answers(http, f"{api}/health", serving)).json()["status"] == "UP"
            page = await until_answers(http, f"{ui}/", serving)
            assert "<title>Gennaker</title>" in page.text
            assert (await http.get(f"{ui}/gate/health")).json()["status"] == "UP"  # the UI's proxy reaches Gate
            assert (await http.get(f"{ui}/config.json")).json()["gate"] == "gate"
        stop.set()
        await asyncio.wait_for(serving, 30)
    finally:
        stop.set()
        store.close()
    assert worker_stopped.is_set()
    assert port_is_free(settings.api.port) and port_is_free(settings.ui.port)


async def test_a_taken_port_stops_the_process(tmp_path: Path, client: Client) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = stack_settings(tmp_path, client, ui={"port": taken.getsockname()[1]})
        store = Store(settings.store_url)
        store.migrate()
        stop = asyncio.Event()
        try:
            with pytest.raises(StackServerError, match="the UI server could not serve"):
                await asyncio.wait_for(serve_with_api(settings, client, store, stop, stop.wait()), 30)
        finally:
            store.close()
    assert stop.is_set()  # the worker was told to stop too
    assert port_is_free(settings.api.port)  # and the API server that did start is closed


async def test_a_failing_worker_stops_the_servers_and_its_error_propagates(tmp_path: Path, client: Client) -> None:
    settings = stack_settings(tmp_path, client, ui={"enabled": False})
    store = Store(settings.store_url)
    store.migrate()
    stop = asyncio.Event()

    async def worker() -> None:
        async with httpx.AsyncClient(timeout=10) as http:  # fail once the API serves
            for _ in range(300):
                try:
                    await http.get(f"http://127.0.0.1:{settings.api.port}/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        raise RuntimeError("the worker failed")

    try:
        with pytest.raises(RuntimeError, match="the worker failed"):
            await asyncio.wait_for(serve_with_api(settings, client, store, stop, worker()), 30)
    finally:
        store.close()
    assert port_is_free(settings.api.port)

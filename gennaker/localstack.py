"""The API and a worker served together in a thread of their own, on loopback.

For the benchmarks and tests that drive Gate over real HTTP while their own event loop stays free:
the thread runs its own event loop, its own Temporal client, the worker (built as ``worker.py``
builds it) and uvicorn on a free 127.0.0.1 port.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .settings import Settings


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
            serving = asyncio.create_task(self._server.serve())
            while not self._server.started and not serving.done():
                await asyncio.sleep(0.01)
            self._ready.set()
            await serving

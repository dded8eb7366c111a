"""A REST listener on loopback (aiohttp): records every JSON body posted, answers 503 while ``down``."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web


class Listener:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.down = False
        self.delay_s = 0.0
        self.refused = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _post(self, request: web.Request) -> web.Response:
        if self.down:
            self.refused += 1
            return web.Response(status=503)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.received.append(await request.json())
        self.headers.append(dict(request.headers))
        return web.Response(status=200, text="{}")

    async def start(self) -> Listener:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._post)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/services/collector/event"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

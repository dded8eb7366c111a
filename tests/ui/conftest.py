"""The UI against the real stack: Gate with its worker (``ServedApi``) on the session's Temporal dev server, the UI
server (``ui.server.ServedUi``) in front of it, and Debian's Chromium driven by playwright (no browser download)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright
from temporalio.testing import WorkflowEnvironment

CHROMIUM = "/usr/bin/chromium"


@dataclass
class Deck:
    """The UI's address, Gate's, and the store behind Gate."""

    url: str
    gate: str
    store: Any

    def http(self, **headers: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.gate, timeout=30, headers=headers)


def _serve(
    temporal_env: WorkflowEnvironment, tmp_path: Path, payload_settings: dict[str, Any], **extra: Any
) -> Iterator[Deck]:
    from core.settings import Settings
    from core.store import Store
    from gennaker.localstack import ServedApi, free_port
    from ui.server import ServedUi

    settings = Settings.model_validate(
        {
            "state_dir": tmp_path,
            "task_queue": f"ui-{uuid.uuid4()}",
            "temporal": {"address": temporal_env.client.service_client.config.target_host},
            "payloads": payload_settings,
            **extra,
        }
    )
    store = Store(settings.store_url)
    store.migrate()
    with ServedApi(settings, store) as api, ServedUi(api.url, port=free_port()) as ui:
        yield Deck(ui.url, api.url, store)
    store.close()


@pytest.fixture
def deck(temporal_env: WorkflowEnvironment, tmp_path: Path, payload_settings: dict[str, Any]) -> Iterator[Deck]:
    yield from _serve(temporal_env, tmp_path, payload_settings)


#: Fiat on behind an authenticating proxy that names the user and roles in headers (the browser sends them here)
PROXY_AUTH = {
    "enabled": True,
    "admin_roles": ["admins"],
    "proxy": {
        "user_header": "X-Forwarded-User",
        "roles_header": "X-Forwarded-Groups",
        "trusted_addresses": ["127.0.0.1"],
    },
}


@pytest.fixture
def locked_deck(temporal_env: WorkflowEnvironment, tmp_path: Path, payload_settings: dict[str, Any]) -> Iterator[Deck]:
    yield from _serve(temporal_env, tmp_path, payload_settings, auth=PROXY_AUTH)


class Chromium:
    """The session's chromium, launched again when it has gone: a crash of its browser process then fails the test
    it happened in, not every UI test after it."""

    def __init__(self, playwright: Any) -> None:
        self._playwright = playwright
        self._browser: Browser | None = None

    async def connected(self) -> Browser:
        if self._browser is None or not self._browser.is_connected():
            self._browser = await self._playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        return self._browser

    async def close(self) -> None:
        if self._browser is not None and self._browser.is_connected():
            await self._browser.close()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def chromium() -> AsyncIterator[Chromium]:
    async with async_playwright() as pw:
        launcher = Chromium(pw)
        yield launcher
        await launcher.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium: Chromium) -> Browser:
    return await chromium.connected()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A 1280x800 page that fails the test on a script error."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    await context.close()
    assert errors == [], f"script errors on the page: {errors}"

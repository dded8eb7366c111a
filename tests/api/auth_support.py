"""What the auth tests share: the API over HTTP (no Temporal needed for these routes) on a SQLite store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from core.settings import Settings
from core.store import Store


class AuthApi:
    def __init__(self, http: httpx.AsyncClient, store: Store, settings: Settings) -> None:
        self.http = http
        self.store = store
        self.settings = settings


@contextlib.asynccontextmanager
async def auth_api(
    tmp_path: Path, *, peer: str = "127.0.0.1", temporal: Any = None, **auth: Any
) -> AsyncIterator[AuthApi]:
    """The app with ``auth`` settings (enabled unless said otherwise), reached from ``peer``."""
    from api.main import create_app

    settings = Settings.model_validate(
        {
            "state_dir": tmp_path,
            "auth": {"enabled": True, **auth},
            "accounts": [
                {"name": "open", "type": "aws"},
                {"name": "prod", "type": "aws", "permissions": {"READ": ["dev", "ops"], "WRITE": ["ops"]}},
            ],
        }
    )
    store = Store(settings.store_url)
    store.migrate()
    app = create_app(settings, temporal=temporal or object(), store=store)
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as http:
        yield AuthApi(http, store, settings)
    store.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

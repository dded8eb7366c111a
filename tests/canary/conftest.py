"""Fixtures of the canary tests: one real Prometheus per session, and Gate's stack with an account on it."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.canary.prometheus_server import Prometheus, serve
from tests.conftest import Gate


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    with serve(Path(tmp_path_factory.mktemp("prometheus"))) as server:
        yield server


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A TCP port that accepts connections and never answers (a metrics store that hangs)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def canary_gate(
    temporal_env: Any, tmp_path: Path, payload_settings: dict[str, Any], prometheus: Prometheus, black_hole: str
) -> Iterator[Gate]:
    """The whole stack (Gate, a worker, the store) with a metrics account on the session's Prometheus ("prom",
    the default) and one that hangs ("hangs")."""
    from core.settings import Settings
    from core.store import Store
    from gennaker.localstack import ServedApi

    settings = Settings.model_validate(
        {
            "state_dir": tmp_path,
            "task_queue": f"canary-{uuid.uuid4()}",
            "temporal": {"address": temporal_env.client.service_client.config.target_host},
            "payloads": payload_settings,
            "canary": {
                "accounts": [
                    {"name": "prom", "base_url": prometheus.url},
                    {"name": "hangs", "base_url": black_hole, "timeout_seconds": 5},
                ]
            },
        }
    )
    store = Store(settings.store_url)
    store.migrate()
    with ServedApi(settings, store) as served:
        yield Gate(served.url, settings, store)
    store.close()

"""A stack whose metrics account is a prometheus scraping live builds (the demo's metrics service): what the
real-time kayentaCanary needs, since its windows start when the stage does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gennaker.demo_canary import CanaryWorld, serve
from tests.conftest import Gate


@pytest.fixture(scope="session")
def live_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CanaryWorld]:
    with serve(Path(tmp_path_factory.mktemp("live-prometheus"))) as world:
        yield world


@pytest.fixture
def live_gate(
    temporal_env: Any, tmp_path: Path, payload_settings: dict[str, Any], live_metrics: CanaryWorld
) -> Iterator[Gate]:
    from core.settings import Settings
    from core.store import Store
    from gennaker.localstack import ServedApi

    settings = Settings.model_validate(
        {
            "state_dir": tmp_path,
            "task_queue": f"canary-live-{uuid.uuid4()}",
            "temporal": {"address": temporal_env.client.service_client.config.target_host},
            "payloads": payload_settings,
            "canary": {"accounts": [live_metrics.account()]},
        }
    )
    store = Store(settings.store_url)
    store.migrate()
    with ServedApi(settings, store) as served:
        yield Gate(served.url, settings, store)
    store.close()


# --- moto's AWS server, for kayentaCanary's deployments (tests/providers/aws_fixtures.py) ---
from tests.providers.aws_fixtures import aws_world, moto_clients, moto_endpoint  # noqa: E402, F401


@pytest.fixture
def aws_gate(
    temporal_env: Any,
    tmp_path: Path,
    payload_settings: dict[str, Any],
    prometheus: Any,
    moto_endpoint: str,  # noqa: F811
) -> Iterator[Gate]:
    """The stack with an AWS account ("test") on moto's server and the metrics account on the test Prometheus."""
    from core.settings import Settings
    from core.store import Store
    from gennaker.localstack import ServedApi
    from tests.providers.aws_fixtures import FAKE_KEY_ID, FAKE_SECRET, REGION

    account = {"name": "test", "type": "aws", "regions": [REGION], "accessKeyId": FAKE_KEY_ID,
               "secretAccessKey": FAKE_SECRET, "endpointUrl": moto_endpoint}  # fmt: skip
    settings = Settings.model_validate(
        {
            "state_dir": tmp_path,
            "task_queue": f"canary-aws-{uuid.uuid4()}",
            "temporal": {"address": temporal_env.client.service_client.config.target_host},
            "payloads": payload_settings,
            "accounts": [account],
            "canary": {"accounts": [{"name": "prom", "base_url": prometheus.url}]},
        }
    )
    store = Store(settings.store_url)
    store.migrate()
    with ServedApi(settings, store) as served:
        yield Gate(served.url, settings, store)
    store.close()

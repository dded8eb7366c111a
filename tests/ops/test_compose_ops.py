"""docker-compose.temporal.yml's server settings (no Docker engine here: the file's content, not a run): the dev
server's latency dynamic config, worker deployment versions, a history shard count chosen for growth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gennaker.devserver import LATENCY_FLAGS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.temporal.yml"
OPERATIONS = ROOT / "docs" / "operations.md"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def dynamic_config(compose: dict[str, Any]) -> dict[str, Any]:
    temporal = compose["services"]["temporal"]
    [mount] = temporal["configs"]
    assert temporal["environment"]["DYNAMIC_CONFIG_FILE_PATH"] == mount["target"]
    content = yaml.safe_load(compose["configs"][mount["source"]]["content"])
    assert isinstance(content, dict)
    return content


def single_value(content: dict[str, Any], key: str) -> Any:
    entries = content[key]
    assert isinstance(entries, list) and len(entries) == 1 and set(entries[0]) == {"value"}, key
    return entries[0]["value"]


def test_the_server_gets_the_dev_servers_latency_dynamic_config(compose: dict[str, Any]) -> None:
    content = dynamic_config(compose)
    flags = [arg for arg in LATENCY_FLAGS if arg != "--dynamic-config-value"]
    assert flags, "LATENCY_FLAGS has no dynamic config values"
    for flag in flags:
        key, value = flag.split("=", 1)
        assert key in content, f"{key} is given to the dev server but not to the compose file's server"
        assert single_value(content, key) == yaml.safe_load(value), key


def test_worker_deployment_versions_are_on(compose: dict[str, Any]) -> None:
    content = dynamic_config(compose)
    assert single_value(content, "system.enableDeploymentVersions") is True
    assert single_value(content, "frontend.workerVersioningWorkflowAPIs") is True


def test_history_shards_are_chosen_for_growth_and_documented(compose: dict[str, Any]) -> None:
    shards = compose["services"]["temporal"]["environment"]["NUM_HISTORY_SHARDS"]
    default = int(str(shards).removeprefix("${TEMPORAL_HISTORY_SHARDS:-").removesuffix("}"))
    assert default >= 512 and default & (default - 1) == 0  # a power of two, far above the images' 4
    docs = OPERATIONS.read_text()
    assert f"NUM_HISTORY_SHARDS={default}" in docs or f"`{default}` history shards" in docs
    assert "history.transferProcessorMaxPollRPS" in docs and "system.enableDeploymentVersions" in docs

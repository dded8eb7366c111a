"""Canary configs, runs and metric sets in the store, on SQLite, PostgreSQL and MariaDB (migration 0012_canary)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from core.store import NotFoundError, Store, ValidationError
from core.store.canary import CONFIG_APPS, CONFIGS, RUNS, SETS, CanaryStore
from tests.store.conftest import mysql_url, postgresql_url  # noqa: F401 - fixtures

MIGRATED: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def canary(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CanaryStore]:
    url = (
        f"sqlite:///{tmp_path / 'g.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue(f"{request.param}_url")
    )
    store = Store(url)
    if url not in MIGRATED:
        store.migrate()
        MIGRATED.add(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in (CONFIG_APPS, CONFIGS, RUNS, SETS):
            conn.execute(table.delete())
    engine.dispose()
    yield store.canary
    store.close()


def _config(name: str = "cfg", apps: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "applications": apps or ["shop"], "metrics": [{"name": "m"}], **extra}


def test_configs_round_trip_and_stay_unique_per_application(canary: CanaryStore) -> None:
    saved = canary.create_config(_config(unknown={"kept": [1, 2]}))
    assert canary.get_config(saved["id"])["unknown"] == {"kept": [1, 2]}
    assert canary.list_configs(["shop"])[0]["id"] == saved["id"]
    assert canary.list_configs(["other"]) == []
    with pytest.raises(ValidationError, match="already exists in the scope of applications"):
        canary.create_config(_config(apps=["other", "shop"]))
    other = canary.create_config(_config(apps=["other"]))  # same name, another application
    assert canary.config_ids_by_name("cfg", "other") == [other["id"]]
    updated = canary.update_config(saved["id"], _config(name="renamed", apps=["shop", "more"]))
    assert updated["updatedTimestamp"] >= saved["updatedTimestamp"]
    assert canary.config_ids_by_name("renamed", "more") == [saved["id"]]
    assert canary.config_ids_by_name("cfg", "shop") == []
    canary.delete_config(saved["id"])
    with pytest.raises(NotFoundError):
        canary.get_config(saved["id"])
    with pytest.raises(NotFoundError):
        canary.delete_config(saved["id"])


def test_runs_and_metric_sets(canary: CanaryStore) -> None:
    canary.create_run({"id": "r1", "application": "shop", "status": "RUNNING", "buildTimeMillis": 1,
                       "stageStatus": {"a": "not_started"}})  # fmt: skip
    canary.create_run({"id": "r2", "application": "shop", "status": "RUNNING", "buildTimeMillis": 2})
    done = canary.update_run("r1", {"status": "SUCCEEDED", "stageStatus": {"b": "succeeded"}}, result={"score": 1})
    assert done["stageStatus"] == {"a": "not_started", "b": "succeeded"}
    assert canary.get_run("r1")["result"] == {"score": 1}
    assert [r["id"] for r in canary.list_runs("shop")] == ["r2", "r1"]
    assert [r["id"] for r in canary.list_runs("shop", statuses=["succeeded"])] == ["r1"]
    assert [r["id"] for r in canary.list_runs("shop", limit=1, page=2)] == ["r1"]
    list_id = canary.save_metric_sets("r1", "metricSetPairList", [{"values": {"control": [1.0, math.nan]}}])
    assert canary.get_metric_sets(list_id, "metricSetPairList") == [{"values": {"control": [1.0, None]}}]
    assert canary.metric_set_run(list_id) == "r1"
    with pytest.raises(NotFoundError):
        canary.get_metric_sets(list_id, "metricSetList")

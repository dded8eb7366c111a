"""Terraform's states, locks and plan files in the store, on SQLite, PostgreSQL and MariaDB (migration
0013_terraform), and the migration's downgrade."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect

from core.store import NotFoundError, Store
from core.store.session import MIGRATIONS
from core.store.terraform import LOCKS, PLANS, STATES, StateLocked, TerraformStore
from tests.store.conftest import mysql_url, postgresql_url  # noqa: F401 - fixtures

MIGRATED: set[str] = set()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def states(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TerraformStore]:
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
        for table in (STATES, LOCKS, PLANS):
            conn.execute(table.delete())
    engine.dispose()
    yield store.terraform
    store.close()


def _state(serial: int, lineage: str = "L1") -> str:
    return json.dumps({"version": 4, "serial": serial, "lineage": lineage, "resources": []})


def test_versions_keep_who_wrote_them_and_deletion_keeps_history(states: TerraformStore) -> None:
    assert states.get_state("app", "default") is None
    states.put_state("app", "default", _state(1), lock_id=None, execution_id="E1", user="olga")
    states.put_state("app", "default", _state(2), lock_id=None, execution_id="E2", user="olga")
    states.put_state("app", "blue", _state(1, "L2"), lock_id=None, execution_id="E3", user="dave")
    got = states.get_state("app", "default")
    assert got is not None and (got["version"], got["serial"], got["executionId"]) == (2, 2, "E2")
    assert [v["executionId"] for v in states.versions("app", "default")] == ["E2", "E1"]
    assert json.loads(states.get_version("app", "default", 1)["body"])["serial"] == 1
    with pytest.raises(NotFoundError):
        states.get_version("app", "default", 9)
    states.delete_state("app", "default", lock_id=None, user="olga")
    assert states.get_state("app", "default") is None
    assert [v["deleted"] for v in states.versions("app", "default")] == [True, False, False]
    assert states.workspaces("app") == ["blue", "default"]


def test_one_lock_per_state_and_only_its_holder_writes(states: TerraformStore) -> None:
    states.lock("app", "default", {"ID": "one", "Who": "a"})
    states.lock("app", "default", {"ID": "one", "Who": "a"})  # the holder again: fine
    with pytest.raises(StateLocked) as taken:
        states.lock("app", "default", {"ID": "two"})
    assert taken.value.lock["ID"] == "one"
    with pytest.raises(StateLocked):
        states.put_state("app", "default", _state(1), lock_id="two", execution_id=None, user="x")
    with pytest.raises(StateLocked):
        states.put_state("app", "default", _state(1), lock_id=None, execution_id=None, user="x")
    states.put_state("app", "default", _state(1), lock_id="one", execution_id=None, user="x")
    with pytest.raises(StateLocked):
        states.unlock("app", "default", "two")
    with pytest.raises(StateLocked):
        states.unlock("app", "default", "two", force=True)
    assert states.unlock("app", "default", "one", force=True) == {"ID": "one", "Who": "a"}
    assert states.get_lock("app", "default") is None
    assert states.unlock("app", "default", "one") is None


def test_concurrent_lockers_one_wins(states: TerraformStore) -> None:
    won: list[str] = []
    lost: list[str] = []
    start = threading.Barrier(8)

    def take(i: int) -> None:
        start.wait()
        try:
            states.lock("app", "race", {"ID": f"id-{i}"})
            won.append(f"id-{i}")
        except StateLocked:
            lost.append(f"id-{i}")

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1 and len(lost) == 7
    assert states.get_lock("app", "race") == {"ID": won[0]}


def test_plan_files_round_trip_byte_for_byte(states: TerraformStore) -> None:
    data = bytes(range(256)) * 100
    saved = states.save_plan("app", "E1", "S1", data, {"add": 1})
    plan = states.get_plan(saved["id"])
    assert plan["planfile"] == data and plan["summary"] == {"add": 1} and plan["sha256"] == saved["sha256"]
    with pytest.raises(NotFoundError):
        states.get_plan("plan-missing")


def test_the_migration_downgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    Store(url).migrate()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0012_canary")
        tables = set(inspect(engine).get_table_names())
        assert not tables & {"terraform_states", "terraform_locks", "terraform_plans"}
        assert "canary_runs" in tables
    finally:
        engine.dispose()

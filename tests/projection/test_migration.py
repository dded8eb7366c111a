"""Migration 0009 moves the stages of executions stored by the previous release into their own rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from core.store import Store
from core.store.session import MIGRATIONS
from tests.store.conftest import MYSQL_ADMIN, PG_ADMIN, _server_database, load_fixture
from workflows.execution import strip_execution


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind (the migration must run from the previous revision)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
    elif request.param == "postgresql":
        yield from _server_database(
            PG_ADMIN, "PostgreSQL", 'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )
    else:
        yield from _server_database(
            MYSQL_ADMIN, "MySQL/MariaDB", "CREATE DATABASE `{name}` CHARACTER SET utf8mb4", "DROP DATABASE `{name}`"
        )


def _upgrade(url: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def _legacy_row(conn: object, execution: dict) -> None:
    """A row as the previous release wrote it: the whole execution, stages included, in ``body``."""
    conn.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO executions (id, application, pipeline_config_id, type, status, name, trigger_type,"
            " build_time, start_time, end_time, body, summary) VALUES (:id, :app, :cfg, :type, :status, :name,"
            " :tt, :bt, :st, :et, :body, :summary)"
        ),
        {
            "id": execution["id"],
            "app": execution["application"].lower(),
            "cfg": execution.get("pipelineConfigId"),
            "type": execution.get("type", "PIPELINE"),
            "status": execution["status"],
            "name": execution.get("name"),
            "tt": (execution.get("trigger") or {}).get("type"),
            "bt": execution.get("buildTime") or execution.get("startTime") or 0,
            "st": execution.get("startTime"),
            "et": execution.get("endTime"),
            "body": json.dumps(execution),
            "summary": json.dumps(strip_execution(execution)),
        },
    )


def test_existing_executions_read_the_same_after_the_migration(fresh_url: str) -> None:
    _upgrade(fresh_url, "0008_auth")
    running = load_fixture("deck/core_manual_execution_pipelines.running.json")[0]
    done = load_fixture("deck/core_manual_execution_pipelines.succeeded.json")[0]
    listed = load_fixture("deck/google_pipelines_list_pipelines.json")
    odd = {**done, "id": "odd", "stages": [{"name": "no id"}, {"id": "dup"}, {"id": "dup", "name": "again"}]}
    docs = list({d["id"]: d for d in [running, done, odd, *listed]}.values())
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        for doc in docs:
            _legacy_row(conn, doc)
    engine.dispose()

    store = Store(fresh_url)
    try:
        store.migrate()
        for doc in docs:
            assert store.executions.get(doc["id"]) == doc
        for expand in (True, False):
            got = {e["id"]: e for e in store.executions.query(type=None, expand=expand)}
            assert got == {d["id"]: d if expand else strip_execution(d) for d in docs}
        # the previous release ran the finished ones' triggers already
        assert store.executions.unhandled_finish(done["id"]) is None
        # and the engine's writes continue on the moved rows
        first = running["stages"][0]
        store.executions.apply_update(
            {"id": running["id"], "version": 1, "stages": [{"seq": 0, "stage": {**first, "status": "SUCCEEDED"}}]}
        )
        assert store.executions.get(running["id"])["stages"][0]["status"] == "SUCCEEDED"
    finally:
        store.close()


def test_downgrade_puts_the_stages_back_into_the_execution(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    store = Store(url)
    store.migrate()
    doc = {"id": "E1", "application": "a", "status": "RUNNING", "stages": [{"id": "s1", "x": 1}, {"id": "s2"}]}
    store.executions.save(doc)
    store.executions.apply_update({"id": "E1", "version": 5, "removeStageIds": ["s2"]})
    store.close()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0008_auth")
        with engine.connect() as conn:
            body = conn.execute(text("SELECT body FROM executions WHERE id = 'E1'")).scalar_one()
        assert json.loads(body) == {**doc, "stages": [{"id": "s1", "x": 1}]}
    finally:
        engine.dispose()

"""Pipeline ids unique without regard to case in the store itself (migration 0011), on every database Gennaker
supports: a clash is a 409-mapped ConflictError naming ``id``, whether the API's check or the index catches it."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, make_url, text

from core.store import ConflictError, Store
from core.store.session import MIGRATIONS

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MYSQL_ADMIN = "mysql+pymysql://root:@127.0.0.1:3306/test"


@contextlib.contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'gennaker.db'}"
        return
    admin_url, create, drop = {
        "postgresql": (PG_ADMIN, 'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'),
        "mysql": (MYSQL_ADMIN, "CREATE DATABASE `{name}` CHARACTER SET utf8mb4", "DROP DATABASE IF EXISTS `{name}`"),
    }[backend]
    name = f"gennaker_authz_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(create.format(name=name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop.format(name=name)))
        admin.dispose()


def _upgrade(url: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_ids_differing_only_in_case_are_refused_by_the_store(backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as url:
        store = Store(url)
        try:
            store.migrate()
            store.pipelines.save({"id": "Deploy", "application": "a", "name": "one", "stages": []}, "u")
            with pytest.raises(ConflictError, match="'id' DEPLOY differs only in case"):
                store.pipelines.save({"id": "DEPLOY", "application": "b", "name": "two", "stages": []}, "u")
            with pytest.raises(ConflictError, match="'id' deploy differs only in case"):
                store.pipelines.check_id("deploy")
            # strategies are another kind: their ids do not clash with pipelines'
            store.pipelines.save({"id": "deploy", "application": "a", "name": "s", "stages": []}, "u", kind="strategy")
            assert [p["id"] for p in store.pipelines.all()] == ["Deploy"]
            # a writer that skipped the check (two saves at once) meets the unique index
            engine = create_engine(url)
            try:
                with pytest.raises(Exception, match="(?i)unique|duplicate"), engine.begin() as conn:
                    conn.execute(
                        text(
                            "INSERT INTO pipeline_configs (kind, id, id_key, application, name, created_at,"
                            " last_modified, body) VALUES ('pipeline', 'dEPLOY', 'deploy', 'c', 'three', 1, 1, '{}')"
                        )
                    )
            finally:
                engine.dispose()
        finally:
            store.close()


def test_the_migration_keeps_ids_that_already_clash(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _upgrade(url, "0010_payload_blobs")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for i, pipeline_id in enumerate(["abc", "ABC", "other"]):
                body = json.dumps({"id": pipeline_id, "application": "a", "name": f"n{i}"})
                conn.execute(
                    text(
                        "INSERT INTO pipeline_configs (kind, id, application, name, created_at, last_modified, body)"
                        " VALUES ('pipeline', :id, 'a', :name, :at, :at, :body)"
                    ),
                    {"id": pipeline_id, "name": f"n{i}", "at": i, "body": body},
                )
        _upgrade(url, "head")
        with engine.connect() as conn:
            keys: dict[str, str] = {
                r.id: r.id_key for r in conn.execute(text("SELECT id, id_key FROM pipeline_configs"))
            }
    finally:
        engine.dispose()
    assert keys["abc"] == "abc" and keys["other"] == "other"
    assert keys["ABC"] != "abc" and keys["ABC"].startswith("abc#")  # kept, and no longer the older one's key
    store = Store(url)
    try:
        assert {p["id"] for p in store.pipelines.all()} == {"abc", "ABC", "other"}
        with pytest.raises(ConflictError):
            store.pipelines.save({"id": "Other", "application": "a", "name": "n9", "stages": []}, "u")
    finally:
        store.close()

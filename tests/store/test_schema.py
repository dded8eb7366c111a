"""Migrations and the error boundary: migrate is idempotent, driver errors never escape untranslated."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from core.store import Store, StoreError, ValidationError
from core.store.models import TABLES

ROOT = Path(__file__).resolve().parents[2]


def test_migrate_twice_is_harmless_and_creates_every_table(store: Store) -> None:
    store.applications.save({"name": "app"}, "bob")
    store.migrate()
    store.migrate()
    assert store.applications.get("app")["name"] == "app"
    engine = create_engine(store.engine.url)  # the same database, looked at from outside
    try:
        names = set(inspect(engine).get_table_names())
        assert {t.name for t in TABLES} | {"alembic_version"} <= names
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [_head()]
    finally:
        engine.dispose()


def _head() -> str:
    """The newest revision in core/store/migrations (one head: migrations chain)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from core.store.session import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    [head] = ScriptDirectory.from_config(cfg).get_heads()
    return str(head)


def test_sqlite_uses_wal_and_creates_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "state" / "nested" / "gennaker.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_alembic_command_line_works_from_any_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"GENNAKER_DATABASE_URL": url, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ROOT / "core/store/alembic.ini"), "upgrade", "head"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    store = Store(url)
    store.migrate()  # already at head: nothing to do
    assert store.applications.all() == []
    store.close()


def test_unmigrated_database_is_a_store_error(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StoreError, match="database error"):
        store.applications.all()
    store.close()


def test_unreachable_server_is_a_store_error() -> None:
    store = Store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreError) as err:
        store.pipelines.get("x")
    assert type(err.value) is StoreError
    store.close()


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(StoreError) as err:
        Store(url)
    if url == "not a url":
        assert isinstance(err.value, ValidationError) and err.value.field == "database_url"


def test_concurrent_migrations_of_a_fresh_database(tmp_path: Path) -> None:
    """An API and a worker starting together both call migrate(); one creates the tables, the other waits."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    stores = [Store(url) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda s: s.migrate(), stores))
    stores[0].applications.save({"name": "app"}, "bob")
    assert [a["name"] for a in stores[3].applications.all()] == ["app"]
    for s in stores:
        s.close()


def test_threads_share_one_store(store: Store) -> None:
    """FastAPI runs sync routes and activities on a thread pool against one Store."""

    def work(i: int) -> None:
        store.executions.save({"id": f"E{i % 5}", "application": "app", "buildTime": i, "status": "RUNNING"})
        store.executions.query(application="app", limit=5)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(80)))
    assert sorted(e["id"] for e in store.executions.query(application="app")) == [f"E{i}" for i in range(5)]


def test_the_switch_to_wal_retries_a_locked_database_only() -> None:
    """Connections opening a new SQLite file at once can deadlock on the WAL switch; SQLite then answers
    "database is locked" without waiting, so the switch is tried again (and only for that error)."""
    import sqlite3

    from core.store.session import _switch_to_wal

    class Cursor:
        def __init__(self, failures: list[str]) -> None:
            self.failures, self.calls = failures, 0

        def execute(self, sql: str) -> None:
            assert sql == "PRAGMA journal_mode=WAL"
            self.calls += 1
            if self.failures:
                raise sqlite3.OperationalError(self.failures.pop(0))

    locked = Cursor(["database is locked", "database is locked"])
    _switch_to_wal(locked)
    assert locked.calls == 3
    other = Cursor(["disk I/O error"])
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _switch_to_wal(other)
    assert other.calls == 1
    stuck = Cursor(["database is locked"] * 5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _switch_to_wal(stuck, attempts=3)
    assert stuck.calls == 3


def test_many_connections_open_a_new_file_at_once(tmp_path: Path) -> None:
    """The race for real: six connections switching fresh files to WAL at once, eighty times, all succeed."""
    import sqlite3
    import threading

    from core.store.session import _switch_to_wal

    errors: list[str] = []
    for i in range(80):
        path = tmp_path / f"new-{i}.db"

        def connect(path: Path = path) -> None:
            try:
                conn = sqlite3.connect(path, timeout=30, isolation_level=None)
                _switch_to_wal(conn.cursor())
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
                conn.execute("COMMIT")
                conn.close()
            except sqlite3.Error as err:
                errors.append(str(err))

        threads = [threading.Thread(target=connect) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []

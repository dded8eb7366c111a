"""Blob stores on real databases: SQLite (a file per test), PostgreSQL and MariaDB (a database per session,
migrated with the store's migrations, as in production). Unreachable servers fail the tests that need them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.store import Store
from gennaker.payloads.blobs import SqlBlobStore, blobs, chunks, refs

PG_ADMIN = os.environ.get("GENNAKER_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_ADMIN = os.environ.get("GENNAKER_TEST_MYSQL_ADMIN_URL", "mysql+pymysql://root:@127.0.0.1:3306/test")


def _database(admin_url: str, create: str, drop: str) -> Iterator[str]:
    name = f"gennaker_payloads_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(create.format(name=name)))
    except Exception as exc:  # noqa: BLE001 - no server to test against
        admin.dispose()
        pytest.fail(f"{make_url(admin_url).render_as_string()} is not reachable: {exc}", pytrace=False)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    store = Store(url)
    store.migrate()
    store.close()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop.format(name=name)))
        admin.dispose()


@pytest.fixture(scope="session")
def postgresql_blob_url() -> Iterator[str]:
    yield from _database(PG_ADMIN, 'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def mysql_blob_url() -> Iterator[str]:
    yield from _database(
        MYSQL_ADMIN, "CREATE DATABASE `{name}` CHARACTER SET utf8mb4", "DROP DATABASE IF EXISTS `{name}`"
    )


def blob_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A migrated, empty database of ``backend``."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'gennaker.db'}"
        store = Store(url)
        store.migrate()
        store.close()
        return url
    server_url: str = request.getfixturevalue(f"{backend}_blob_url")
    engine = create_engine(server_url)
    with engine.begin() as conn:
        for table in (refs, chunks, blobs):
            conn.execute(table.delete())
    engine.dispose()
    return server_url


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlBlobStore]:
    """The default blob store (the store's database) on SQLite and PostgreSQL."""
    store = SqlBlobStore(blob_url(request, request.param, tmp_path))
    yield store
    store.close()

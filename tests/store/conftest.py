"""Store fixtures: one database per backend per session, emptied before each test.

SQLite gets a fresh file per test. PostgreSQL (127.0.0.1:5432) and MariaDB/MySQL (127.0.0.1:3306) get a uniquely
named database created for the session and dropped at the end; an unreachable server FAILS the tests that need it
(set GENNAKER_TEST_POSTGRES_ADMIN_URL / GENNAKER_TEST_MYSQL_ADMIN_URL to point elsewhere).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.store import Store
from core.store.models import TABLES

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "spinnaker"
PG_ADMIN = os.environ.get("GENNAKER_TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN = os.environ.get("GENNAKER_TEST_MYSQL_ADMIN_URL", "mysql+pymysql://root:@127.0.0.1:3306/test")
BACKENDS = ["sqlite", "postgresql", "mysql"]


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _server_database(admin_url: str, what: str, create: str, drop: str) -> Iterator[str]:
    name = f"gennaker_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(create.format(name=name)))
    except Exception as exc:  # noqa: BLE001 - any failure here means "no server to test against"
        admin.dispose()
        pytest.fail(f"{what} is not reachable at {make_url(admin_url).render_as_string()}: {exc}", pytrace=False)
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop.format(name=name)))
        admin.dispose()


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    yield from _server_database(
        PG_ADMIN, "PostgreSQL", 'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    )


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    yield from _server_database(
        MYSQL_ADMIN,
        "MySQL/MariaDB",
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
        "DROP DATABASE IF EXISTS `{name}`",
    )


@pytest.fixture(scope="session")
def migrated() -> set[str]:
    """URLs of server databases already migrated in this session."""
    return set()


def _empty(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for table in reversed(TABLES):
                conn.execute(table.delete())
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, migrated: set[str]) -> Iterator[Store]:
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'gennaker.db'}"
    else:
        url = request.getfixturevalue(f"{backend}_url")
    s = Store(url)
    if url not in migrated:
        s.migrate()
        if backend != "sqlite":
            migrated.add(url)
    else:
        _empty(url)
    yield s
    s.close()

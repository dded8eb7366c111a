"""Fixtures of the event stream's tests: a store on SQLite and on PostgreSQL (tests/store's databases)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store import Store
from core.store.events import CURSORS, OUTBOX
from tests.store.conftest import _empty, migrated, postgresql_url  # noqa: F401 - fixtures shared with tests/store


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, migrated: set[str]) -> Iterator[Store]:  # noqa: F811
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gennaker.db'}"
    else:
        url = request.getfixturevalue("postgresql_url")
    s = Store(url)
    if url not in migrated:
        s.migrate()
        migrated.add(url)
    else:
        _empty(url)
        with s.engine.begin() as conn:
            conn.execute(OUTBOX.delete())
            conn.execute(CURSORS.delete())
    yield s
    s.close()

"""Projection fixtures: the store tests' databases (SQLite, PostgreSQL, MariaDB), reused as they are."""

from __future__ import annotations

from tests.store.conftest import migrated, mysql_url, postgresql_url, store  # noqa: F401 - fixtures

__all__ = ["migrated", "mysql_url", "postgresql_url", "store"]

"""Alembic environment of the store.

`Store.migrate()` hands over a connection inside an open transaction (committed by the caller) in
`config.attributes["connection"]`; run by hand, the URL comes from `sqlalchemy.url` or `GENNAKER_DATABASE_URL`.
Migrations take a database lock first, so an API and a worker starting together do not both create the tables.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from core.store.models import TABLES

config = context.config
target_metadata = TABLES[0].metadata
OUR_TABLES = {t.name for t in TABLES}
LOCK_NAME = "gennaker_store_migrate"
LOCK_KEY = 7_311_502_117  # any constant bigint: the PostgreSQL advisory lock id of the migration


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Autogenerate looks at our tables only (SQLModel's metadata is shared by the whole process)."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or table.name in OUR_TABLES


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    dialect = connection.dialect.name
    if dialect in ("mysql", "mariadb"):
        # MySQL commits DDL implicitly, so a session lock (released below) rather than a transaction one.
        connection.execute(text("SELECT GET_LOCK(:name, 120)"), {"name": LOCK_NAME})
    try:
        with context.begin_transaction():
            if dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            # SQLite: the store begins write transactions with BEGIN IMMEDIATE, which serialises writers.
            context.run_migrations()
    finally:
        if dialect in ("mysql", "mariadb"):
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("GENNAKER_DATABASE_URL")
    if not url:
        raise SystemExit("set GENNAKER_DATABASE_URL (or sqlalchemy.url) to the store's database URL")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            run(connection)
    finally:
        engine.dispose()


main()

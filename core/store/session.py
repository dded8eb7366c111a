"""The one session helper every repository of the store shares: the engine (SQLite, PostgreSQL or MySQL/MariaDB, with
each dialect's quirks), transactions, the retry of a write the database chose as a deadlock victim, the schema
migration, and the translation of driver errors into `core.store.errors` (they never leave the store).

A repository holds a `Database` and opens one `session()` per public method: one method, one transaction.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from .errors import ConflictError, StoreError, ValidationError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ATTEMPTS = 5  # of a write that hit a deadlock or a lock timeout

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class TransientError(StoreError):
    """A deadlock, serialization failure or lock timeout: the whole operation may simply be run again."""


def is_transient(exc: DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in ("40001", "40P01", "55P03"):  # PostgreSQL
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in (1205, 1213):  # MySQL lock wait timeout, deadlock
        return True
    return _sqlite_busy(orig)  # SQLite past busy_timeout ("database is locked")


def _sqlite_busy(err: BaseException | None) -> bool:
    """SQLite's SQLITE_BUSY ("database is locked"), told by its result code (extended codes keep it in the low
    byte), not by the words."""
    code = getattr(err, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == 5  # SQLITE_BUSY


def retrying(method: Callable[P, R]) -> Callable[P, R]:
    """Run a write again (a fresh transaction) when the database chose it as a deadlock victim."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return method(*args, **kwargs)
            except TransientError:
                if attempt == ATTEMPTS:
                    raise
                time.sleep(0.005 * 2**attempt * (1 + random.random()))
        raise AssertionError("unreachable")

    return wrapper


def first_write_retried(write: Callable[[T], R], arg: T) -> R:
    """Run a write again when another process inserted the same row first (a unique key, say an execution's
    header): the next attempt finds the row and updates it."""
    for attempt in range(ATTEMPTS):
        try:
            return write(arg)
        except ConflictError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def short(exc: BaseException) -> str:
    """The first line of a driver error, enough to say what failed without dumping the statement's values."""
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0][:300]


@contextmanager
def translated(conflict: str | None = None) -> Iterator[None]:
    """Driver and SQLAlchemy errors raised in the block become the store's own (`core.store.errors`)."""
    try:
        yield
    except StoreError:
        raise
    except IntegrityError as exc:
        raise ConflictError(conflict or f"conflicting write: {short(exc)}") from None
    except DataError as exc:
        raise ValidationError(f"value rejected by the database: {short(exc)}") from None
    except OverflowError as exc:  # SQLite's driver, for an integer past 64 bits (the others answer DataError)
        raise ValidationError(f"value rejected by the database: {exc}") from None
    except DBAPIError as exc:
        if is_transient(exc):
            raise TransientError(f"database busy: {short(exc)}") from None
        raise StoreError(f"database error: {short(exc)}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {short(exc)}") from None


class Database:
    """The engine of one database URL and its transactions; safe to share between threads (a session per call)."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ValidationError(f"invalid database URL: {exc}", field="database_url") from None
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if parsed.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool
            else:
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except (ArgumentError, ImportError) as exc:  # unknown dialect or driver not installed
            raise StoreError(f"cannot use database URL {parsed.render_as_string(hide_password=True)}: {exc}") from None
        if self.dialect == "sqlite":
            _sqlite_setup(self.engine, wal=bool(parsed.database) and parsed.database != ":memory:")
        self._writer = self.engine.execution_options(gennaker_write=True)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (`alembic upgrade head`); harmless when already there."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
        with translated(), self._writer.begin() as conn:
            _lock_migrations(conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self, *, write: bool = False, conflict: str | None = None) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back (nothing written) when it raises. A write
        on SQLite starts with BEGIN IMMEDIATE; `conflict` is the message of a unique key's violation."""
        with (
            translated(conflict),
            Session(self._writer if write else self.engine) as session,
            session.begin(),
        ):
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read on a Core connection (no ORM): rows read as text, for reads that pass stored JSON through."""
        with translated(), self.engine.connect() as conn:
            yield conn


def upsert(
    conn: Session | Connection, table: Any, values: dict[str, Any], keys: list[str], update: dict[str, Any] | None
) -> Any:
    """One statement that inserts ``values`` or, when a row with the same ``keys`` exists, sets ``update`` on it
    (nothing when None): race-free where a read, then an insert or an update, lets two writers both insert."""
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        mine = mysql_insert(table).values(**values)
        return mine.on_duplicate_key_update(**(update or {keys[0]: table.c[keys[0]]}))  # no update: a no-op one
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    stmt = dialect_insert(table).values(**values)
    if update is None:
        return stmt.on_conflict_do_nothing(index_elements=[table.c[k] for k in keys])
    return stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys], set_=update)


MIGRATION_LOCK = 0x67656E6E  # PostgreSQL advisory lock key of the schema upgrade ("genn")


def _lock_migrations(conn: Connection) -> None:
    """N processes starting together (API workers, workers) upgrade one at a time; the others then find the
    schema at head. SQLite's writer transaction (BEGIN IMMEDIATE) serialises them already."""
    if conn.dialect.name == "postgresql":  # held until the upgrade's transaction ends
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")


def _switch_to_wal(cursor: Any, attempts: int = 100) -> None:
    """``PRAGMA journal_mode=WAL``. On a new file, connections switching at once can deadlock on the switch's locks,
    and SQLite then answers "database is locked" at once (no busy wait): try again, briefly, until one has switched."""
    import sqlite3

    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.01 + random.random() * 0.05)


def _sqlite_setup(engine: Engine, *, wal: bool) -> None:
    """WAL, and writers start with BEGIN IMMEDIATE so concurrent writers queue instead of failing mid-way."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        if wal:
            _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("gennaker_write") else "BEGIN")

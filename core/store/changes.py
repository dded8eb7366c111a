"""Change counters: a number per scope (an application's executions, an application's pipeline or strategy
configs) that every write of that scope moves, in the write's own transaction. A reader that remembers the number
it saw before computing an answer knows the answer still holds while the number has not moved, whichever process
(or host) wrote; the API's answer cache (api/cache.py) validates each hit with one primary-key read of it.

Writers: the execution projection (``Executions.save``, ``apply_update``, ``delete``) bumps
``executions:<application>`` explicitly, as its last statement (on PostgreSQL the row lock is then held only for the
commit); a transaction whose ORM flushes add, change or delete ``PipelineConfig`` rows bumps ``pipeline:<application>``
or ``strategy:<application>`` of each when it commits, in sorted order (session hooks, so Front50's saves, reorders
and deletes and Dinghy's renders are all covered), and the bulk delete of an application's configs bumps both
explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from .models import PipelineConfig
from .session import Database, upsert

_metadata = sa.MetaData()

#: Migration 0019_change_counters creates it; this module is its only reader and writer.
COUNTERS = sa.Table(
    "change_counters",
    _metadata,
    sa.Column("scope", sa.String(255), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
)


def executions_scope(application: str) -> str:
    return f"executions:{application.strip().lower()}"


def configs_scope(application: str, kind: str = "pipeline") -> str:
    return f"{kind}:{application.strip().lower()}"


def bump(conn: Session | sa.Connection, scopes: Iterable[str]) -> None:
    """Move each scope's counter (created at 1) in the caller's transaction, one upsert per scope."""
    for scope in sorted(set(scopes)):  # one order for every writer: no deadlock between two bumping the same pair
        conn.execute(_upsert(conn, scope))


def _upsert(conn: Session | sa.Connection, scope: str) -> Any:
    return upsert(conn, COUNTERS, {"scope": scope, "seq": 1}, ["scope"], {"seq": COUNTERS.c.seq + 1})


class Changes:
    """Reading the counters (the writers bump them through :func:`bump` in their own transactions)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._stmt = select(COUNTERS.c.seq).where(COUNTERS.c.scope == sa.bindparam("scope"))

    def seq(self, scope: str) -> int:
        """The scope's counter now (0 before its first write)."""
        with self._db.connect() as conn:
            found = conn.execute(self._stmt, {"scope": scope}).scalar()
        return int(found or 0)


def _config_scopes(session: Session) -> set[str]:
    scopes: set[str] = set()
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if not isinstance(obj, PipelineConfig):
            continue
        kind = obj.kind or "pipeline"
        if obj.application:
            scopes.add(configs_scope(obj.application, kind))
        history = inspect(obj).attrs.application.history  # a config moved to another application: both change
        for old in history.deleted or ():
            if old:
                scopes.add(configs_scope(old, kind))
    return scopes


PENDING = "gennaker_config_scopes"  # session.info key: scopes flushed in this transaction, bumped at its commit


@event.listens_for(Session, "before_flush")
def _note_config_scopes(session: Session, _context: Any, _instances: Any) -> None:
    scopes = _config_scopes(session)
    if scopes:
        session.info.setdefault(PENDING, set()).update(scopes)


@event.listens_for(Session, "before_commit")
def _bump_config_scopes(session: Session) -> None:
    """Bump every scope the transaction's flushes touched, once each and in one order, as its last statements. A
    bump at each flush locked the counters in flush order: two Dinghy renders writing applications a and b in
    opposite orders deadlocked on PostgreSQL (one was rolled back and run again)."""
    session.flush()  # what is still pending notes its scopes now; the commit's own flush then has nothing to do
    scopes = session.info.pop(PENDING, None)
    if scopes:
        bump(session, scopes)


@event.listens_for(Session, "after_rollback")
def _forget_config_scopes(session: Session) -> None:
    session.info.pop(PENDING, None)

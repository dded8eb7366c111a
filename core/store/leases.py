"""Leases: which one of several processes does a piece of work that must happen once (the API's start-up
reconciliation of Schedules when N API processes start together).

A lease is a row per name: its holder and when it lapses. Claiming succeeds for the current holder, for anyone
once the lease has lapsed, and for the first of several claimants of a new name (the others see the row or
lose the insert). Nothing here is held in memory: every API process asks the database, so N processes on one
host or on several agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import delete, insert, select, update

from .errors import ConflictError
from .session import Database, retrying
from .values import now_ms

_metadata = sa.MetaData()

#: Migration 0017_leases creates it; the repository is its only reader and writer.
LEASES = sa.Table(
    "leases",
    _metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("holder", sa.String(255), nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
)

#: Lapsed leases older than this are removed when another is claimed (names can carry a settings digest).
FORGET_AFTER_MS = 7 * 24 * 3600 * 1000


class Leases:
    """Named, time-bounded claims in the database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim(self, name: str, holder: str, ttl_ms: int) -> bool:
        """Take (or extend) the lease ``name`` for ``ttl_ms``; False while another holder's lease runs."""
        try:
            return self._claim(name, holder, ttl_ms)
        except ConflictError:  # another process inserted the row first: it holds the lease
            return False

    @retrying
    def _claim(self, name: str, holder: str, ttl_ms: int) -> bool:
        now = now_ms()
        with self._db.session(write=True) as s:
            row = s.execute(
                select(LEASES.c.holder, LEASES.c.expires_at).where(LEASES.c.name == name).with_for_update()
            ).first()
            if row is None:
                s.execute(delete(LEASES).where(LEASES.c.expires_at < now - FORGET_AFTER_MS))
                s.execute(insert(LEASES).values(name=name, holder=holder, expires_at=now + ttl_ms))
                return True
            if row.holder != holder and row.expires_at > now:
                return False
            s.execute(update(LEASES).where(LEASES.c.name == name).values(holder=holder, expires_at=now + ttl_ms))
            return True

    @retrying
    def release(self, name: str, holder: str, *, keep_ms: int = 0) -> None:
        """End ``holder``'s lease ``keep_ms`` from now (0: at once); nothing when another holds it."""
        with self._db.session(write=True) as s:
            s.execute(
                update(LEASES)
                .where(LEASES.c.name == name, LEASES.c.holder == holder)
                .values(expires_at=now_ms() + keep_ms)
            )

    def holder(self, name: str) -> str | None:
        """Who holds ``name`` now (None when nobody does)."""
        with self._db.session() as s:
            row = s.execute(select(LEASES.c.holder, LEASES.c.expires_at).where(LEASES.c.name == name)).first()
        return None if row is None or row.expires_at <= now_ms() else str(row.holder)

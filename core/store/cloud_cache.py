"""Clouddriver's cache: what the caching agents last read of each provider's accounts (server groups, load
balancers, images...), Gate's JSON per object, replaced kind by kind in one transaction, with each account's last
refresh and its error."""

from __future__ import annotations

import json

from sqlalchemy import delete, select
from sqlmodel import col

from .models import CloudCacheItem, CloudCacheStatus
from .session import Database
from .values import Doc, dumps, now_ms


class CloudCache:
    """The cached cloud objects and each account's refresh stamp."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def replace(self, provider: str, account: str, kind: str, items: list[Doc], *, error: str | None = None) -> None:
        """Replace everything cached of one kind in one account (one transaction), and stamp the refresh.
        Each item is Gate's JSON with ``region`` and ``name`` (and ``moniker.app``/``cluster`` when known)."""
        rows = [self._cache_row(provider, account, kind, item) for item in items]
        with self._db.session(write=True) as s:
            if error is None:
                s.execute(
                    delete(CloudCacheItem).where(
                        col(CloudCacheItem.provider) == provider,
                        col(CloudCacheItem.account) == account,
                        col(CloudCacheItem.kind) == kind,
                    )
                )
                s.add_all(rows)
            status = s.get(CloudCacheStatus, (provider, account), with_for_update=True)
            if status is None:
                s.add(CloudCacheStatus(provider=provider, account=account, refreshed_at=now_ms(), error=error))
            else:
                status.error = error
                if error is None:
                    status.refreshed_at = now_ms()

    def put_item(self, provider: str, account: str, kind: str, item: Doc) -> None:
        """Write one object through the cache (a deploy just changed it)."""
        row = self._cache_row(provider, account, kind, item)
        with self._db.session(write=True) as s:
            s.merge(row)

    def drop_item(self, provider: str, account: str, kind: str, region: str, name: str) -> None:
        with self._db.session(write=True) as s:
            found = s.get(CloudCacheItem, (provider, account, kind, region, name))
            if found is not None:
                s.delete(found)

    @staticmethod
    def _cache_row(provider: str, account: str, kind: str, item: Doc) -> CloudCacheItem:
        raw = item.get("moniker")
        moniker: Doc = raw if isinstance(raw, dict) else {}
        return CloudCacheItem(
            provider=provider,
            account=account,
            kind=kind,
            region=str(item.get("region") or ""),
            name=str(item.get("name") or item.get("imageId") or ""),
            application=(moniker.get("app") or item.get("application") or None),
            cluster=(moniker.get("cluster") or item.get("cluster") or None),
            body=dumps(item),
        )

    def items(
        self,
        kind: str,
        *,
        application: str | None = None,
        account: str | None = None,
        cluster: str | None = None,
        region: str | None = None,
        name: str | None = None,
        provider: str | None = None,
    ) -> list[Doc]:
        stmt = select(col(CloudCacheItem.body)).where(col(CloudCacheItem.kind) == kind)
        for column, value in (
            (CloudCacheItem.application, application),
            (CloudCacheItem.account, account),
            (CloudCacheItem.cluster, cluster),
            (CloudCacheItem.region, region),
            (CloudCacheItem.name, name),
            (CloudCacheItem.provider, provider),
        ):
            if value is not None:
                stmt = stmt.where(col(column) == value)
        with self._db.session() as s:
            return [json.loads(b) for b in s.scalars(stmt.order_by(col(CloudCacheItem.name)))]

    def status(self) -> list[Doc]:
        with self._db.session() as s:
            rows = s.scalars(select(CloudCacheStatus)).all()
            return [
                {"provider": r.provider, "account": r.account, "refreshedAt": r.refreshed_at, "error": r.error}
                for r in rows
            ]

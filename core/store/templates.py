"""Pipeline templates (MPTv2) as Front50 keeps them: each version a document under its own key (``id``,
``id:tag``, ``id@sha256:<digest>``). This is the storage only; what a save writes (the tag's key, ``id:latest``,
the digest version once) and rendering with stored templates are `templates.stored`'s.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from .session import Database

Doc = dict[str, Any]
_META = sa.MetaData()
KEY = sa.String(255)
TEMPLATES = sa.Table(
    "pipeline_templates", _META, sa.Column("key", KEY, primary_key=True), sa.Column("template_id", KEY),
    sa.Column("body", sa.Text), sa.Column("last_modified", sa.BigInteger),
)  # fmt: skip


def _exists(s: Any, key: str) -> bool:
    return s.execute(sa.select(TEMPLATES.c.key).where(TEMPLATES.c.key == key)).first() is not None


def _row(doc: Doc) -> dict[str, Any]:
    return {"template_id": doc["id"], "body": json.dumps(doc), "last_modified": int(doc.get("lastModified") or 0)}


def _put(s: Any, key: str, doc: Doc) -> None:
    if not _exists(s, key):
        s.execute(TEMPLATES.insert().values(key=key, **_row(doc)))
    else:
        s.execute(TEMPLATES.update().where(TEMPLATES.c.key == key).values(**_row(doc)))


class PipelineTemplates:
    """Stored template versions by key, in the store's database (shares its engine and transactions)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, key: str, doc: Doc, *, create: bool, also: dict[str, Doc], once: dict[str, Doc]) -> None:
        """One transaction: ``doc`` under ``key`` (refused when ``create`` and the key exists), each of ``also``
        written whatever is there, each of ``once`` written only if its key is new (a digest version never changes)."""
        conflict = f"A pipeline template with the id {key} already exists"
        with self._db.session(write=True, conflict=conflict) as s:
            if create:  # an insert, not `_put`: the primary key refuses a create that raced this one and won
                s.execute(TEMPLATES.insert().values(key=key, **_row(doc)))
            else:
                _put(s, key, doc)
            for other, version in also.items():
                _put(s, other, version)
            for other, version in once.items():
                if not _exists(s, other):
                    _put(s, other, version)

    def get(self, key: str) -> Doc | None:
        """The version stored under ``key`` as saved (with ``tag`` and ``digest``), or None."""
        with self._db.session() as s:
            row = s.execute(sa.select(TEMPLATES.c.body).where(TEMPLATES.c.key == key)).first()
        doc: Doc | None = None if row is None else json.loads(row.body)
        return doc

    def all(self) -> list[Doc]:
        """Every stored version, by key."""
        with self._db.session() as s:
            rows = s.execute(sa.select(TEMPLATES.c.body).order_by(TEMPLATES.c.key)).all()
        return [json.loads(row.body) for row in rows]

    def delete(self, key: str) -> bool:
        """Remove one version; False when there was none."""
        with self._db.session(write=True) as s:
            return bool(getattr(s.execute(TEMPLATES.delete().where(TEMPLATES.c.key == key)), "rowcount", 0))

"""Pipeline templates (MPTv2) as Front50 keeps them: each version a document under its own key (``id``,
``id:tag``, ``id@sha256:<digest>``). This is the storage only; what a save writes (the tag's key, ``id:latest``,
the digest version once) and rendering with stored templates are `templates.stored`'s.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from .session import Database, upsert

Doc = dict[str, Any]
_META = sa.MetaData()
KEY = sa.String(255)
TEMPLATES = sa.Table(
    "pipeline_templates", _META, sa.Column("key", KEY, primary_key=True), sa.Column("template_id", KEY),
    sa.Column("body", sa.Text), sa.Column("last_modified", sa.BigInteger),
)  # fmt: skip


def _row(key: str, doc: Doc) -> dict[str, Any]:
    body = json.dumps(doc)
    return {"key": key, "template_id": doc["id"], "body": body, "last_modified": int(doc.get("lastModified") or 0)}


def _put(s: Any, key: str, doc: Doc) -> None:
    """Written whatever is there (one upsert: two saves of the same new key never both insert)."""
    row = _row(key, doc)
    s.execute(upsert(s, TEMPLATES, row, ["key"], {k: v for k, v in row.items() if k != "key"}))


def _put_once(s: Any, key: str, doc: Doc) -> None:
    """Written only if the key is new."""
    s.execute(upsert(s, TEMPLATES, _row(key, doc), ["key"], None))


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
                s.execute(TEMPLATES.insert().values(**_row(key, doc)))
            else:
                _put(s, key, doc)
            for other, version in also.items():
                _put(s, other, version)
            for other, version in once.items():
                _put_once(s, other, version)

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

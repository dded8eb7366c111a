"""Rosco's bake store: every bake by id, and the cache (the newest successful bake for a key).

:class:`BakeStore` is the interface; :class:`SqliteBakeStore` keeps it in one SQLite file under the
state dir (``bakery/bakes.db``) until the store in ``api/store`` has a ``bakes`` table with the same
columns. The cache reuses a key's newest ``COMPLETED``/``SUCCESS`` bake that is still ``reusable``;
a rebake retires the key's earlier bakes (Rosco's ``deleteBakeByKeyPreserveDetails``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

RUNNING, COMPLETED, CANCELED = "RUNNING", "COMPLETED", "CANCELED"
SUCCESS, FAILURE = "SUCCESS", "FAILURE"


@dataclass
class BakeRecord:
    """One bake (one packer run). ``id`` is Rosco's status id and bake id: the bake workflow's run id."""

    id: str
    key: str
    workflow_id: str
    region: str
    cloud_provider: str
    state: str = RUNNING
    result: str | None = None
    image_name: str | None = None
    #: the image in the bake's region: an AMI id (AWS) or the image name (GCE)
    ami: str | None = None
    #: every image packer reported, region → image (AWS ``ami_regions`` copies included)
    images: dict[str, str] = field(default_factory=dict)
    base_ami: str | None = None
    app_version: str | None = None
    package: str = ""
    base_os: str = ""
    account: str | None = None
    error: str | None = None
    reusable: bool = True
    #: the stages (``executionId/stageId``) that asked for this bake
    requested_by: list[str] = field(default_factory=list)
    created_ms: int = 0
    updated_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.state == COMPLETED and self.result == SUCCESS

    def status_json(self) -> dict[str, Any]:
        """Orca's ``BakeStatus`` as it keeps it in the stage context."""
        return {"id": self.id, "state": self.state, "result": self.result, "resourceId": self.id}

    def bake_json(self) -> dict[str, Any]:
        """Rosco's ``Bake`` (``GET /api/v1/{region}/bake/{bakeId}``) for the bake's region."""
        artifact = {
            "type": f"{self.cloud_provider}/image",
            "name": self.image_name,
            "location": self.region,
            "reference": self.ami,
            "uuid": self.id,
        }
        out: dict[str, Any] = {
            "id": self.id,
            "ami": self.ami,
            "image_name": self.image_name,
            "regions": sorted(self.images or {}),
        }
        out["artifact"] = artifact
        if self.base_ami:
            out["base_ami"] = self.base_ami
        return out


class BakeStore(Protocol):
    """Where bakes are kept; implemented by :class:`SqliteBakeStore` (and later by ``api/store``)."""

    def put(self, record: BakeRecord) -> None: ...

    def create(self, record: BakeRecord) -> bool:
        """Add a bake unless one with its id exists; True if added."""
        ...

    def get(self, bake_id: str) -> BakeRecord | None: ...

    def cached(self, key: str) -> BakeRecord | None:
        """The key's newest reusable successful bake."""
        ...

    def for_key(self, key: str) -> list[BakeRecord]:
        """Every bake of a key, newest first."""
        ...

    def retire(self, key: str) -> int:
        """Stop reusing the key's finished bakes (a rebake); returns how many were retired."""
        ...

    def add_requester(self, bake_id: str, requester: str) -> None: ...

    def update(self, bake_id: str, **changes: Any) -> None:
        """Change some fields of a bake (its state and results), leaving the others as they are."""
        ...


_COLUMNS = [f.name for f in fields(BakeRecord)]
_JSON = {"images", "requested_by"}
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS bakes (
    {", ".join(f"{c} {'INTEGER' if c in ('created_ms', 'updated_ms', 'reusable') else 'TEXT'}" for c in _COLUMNS)},
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS bakes_by_key ON bakes (key, created_ms);
"""


class SqliteBakeStore:
    """:class:`BakeStore` in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._prepared = threading.Lock()
        self._ready = False  # the file is made on first use: a worker that never bakes leaves none

    def _prepare(self) -> None:
        with self._prepared:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
            finally:
                db.close()
            self._ready = True

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self._prepare()
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    @staticmethod
    def _row(values: tuple[Any, ...]) -> BakeRecord:
        data = dict(zip(_COLUMNS, values, strict=True))
        for name in _JSON:
            data[name] = json.loads(data[name] or ("{}" if name == "images" else "[]"))
        data["reusable"] = bool(data["reusable"])
        return BakeRecord(**data)

    def put(self, record: BakeRecord) -> None:
        self._insert("INSERT OR REPLACE", record)

    def create(self, record: BakeRecord) -> bool:
        return self._insert("INSERT OR IGNORE", record) > 0

    def _insert(self, verb: str, record: BakeRecord) -> int:
        data = asdict(record)
        for name in _JSON:
            data[name] = json.dumps(data[name])
        data["reusable"] = int(record.reusable)
        marks = ", ".join("?" for _ in _COLUMNS)
        sql = f"{verb} INTO bakes ({', '.join(_COLUMNS)}) VALUES ({marks})"
        with self._lock, self._connect() as db:
            return db.execute(sql, [data[c] for c in _COLUMNS]).rowcount

    def _select(self, where: str, args: tuple[Any, ...]) -> list[BakeRecord]:
        with self._connect() as db:
            rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM bakes WHERE {where}", args).fetchall()
        return [self._row(r) for r in rows]

    def get(self, bake_id: str) -> BakeRecord | None:
        found = self._select("id = ?", (bake_id,))
        return found[0] if found else None

    def for_key(self, key: str) -> list[BakeRecord]:
        return self._select("key = ? ORDER BY created_ms DESC, rowid DESC", (key,))

    def cached(self, key: str) -> BakeRecord | None:
        found = self._select(
            "key = ? AND state = ? AND result = ? AND reusable = 1 ORDER BY created_ms DESC, rowid DESC LIMIT 1",
            (key, COMPLETED, SUCCESS),
        )
        return found[0] if found else None

    def retire(self, key: str) -> int:
        with self._lock, self._connect() as db:
            # a bake still running is the one a rebake joins: it stays reusable
            sql = "UPDATE bakes SET reusable = 0 WHERE key = ? AND reusable = 1 AND state != ?"
            return db.execute(sql, (key, RUNNING)).rowcount

    def update(self, bake_id: str, **changes: Any) -> None:
        unknown = set(changes) - set(_COLUMNS) - {"id"}
        if unknown or "id" in changes:
            raise ValueError(f"cannot update bake fields {sorted(unknown | ({'id'} & set(changes)))}")
        values = [json.dumps(v) if k in _JSON else int(v) if k == "reusable" else v for k, v in changes.items()]
        assignments = ", ".join(f"{k} = ?" for k in changes)
        with self._lock, self._connect() as db:
            db.execute(f"UPDATE bakes SET {assignments} WHERE id = ?", [*values, bake_id])

    def add_requester(self, bake_id: str, requester: str) -> None:
        # read and write in one IMMEDIATE transaction: stages joining a bake at once (threads or processes)
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT requested_by FROM bakes WHERE id = ?", (bake_id,)).fetchone()
            if row is None:
                return
            requesters = json.loads(row[0] or "[]")
            if requester not in requesters:
                requesters.append(requester)
                db.execute("UPDATE bakes SET requested_by = ? WHERE id = ?", (json.dumps(requesters), bake_id))

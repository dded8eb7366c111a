"""Where claim-checked payloads live: the store's database (rows of 512 KiB chunks) or a directory of files.

Every blob is written once under its key (the sha256 of its bytes) and records which workflows referred to it and
when it was last referred to, so the collector (``gc.py``) can tell garbage from blobs a running workflow needs.
Both stores are synchronous and thread-safe; the codec calls them from threads, off the event loop.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from core.errors import IntegrationError

#: rows stay far below MariaDB's and MySQL's max_allowed_packet (16 MiB and 64 MiB by default, 1 MiB at the least)
CHUNK_BYTES = 512 * 1024
#: workflow ids are kept up to this length (Gennaker's are far shorter); longer ones are cut, see ``is_live``
WORKFLOW_ID_CHARS = 255


class BlobStoreError(IntegrationError, RuntimeError):
    """The blob store cannot be read or written; the message names the store and the key."""


class BlobStore(Protocol):
    """What the codec and the collector need of a blob store."""

    description: str

    def put(self, key: str, data: bytes, workflow_id: str) -> None:
        """Keep ``data`` under ``key`` (once), note that ``workflow_id`` ("" when unknown) refers to it now."""

    def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, None when there are none."""

    def candidates(self, cutoff_ms: int, after: str, limit: int) -> dict[str, list[str]]:
        """Up to ``limit`` keys above ``after`` that nobody referred to since ``cutoff_ms``, in key order, each with
        the workflow ids that ever referred to it."""

    def delete(self, key: str, cutoff_ms: int) -> int:
        """Remove the blob unless it was referred to since ``cutoff_ms``; its size when removed, else 0."""

    def close(self) -> None: ...


def now_ms() -> int:
    return int(time.time() * 1000)


# ---- the database --------------------------------------------------------------------------------------------

metadata = sa.MetaData()
KEY = sa.String(64).with_variant(mysql.VARCHAR(64, charset="ascii", collation="ascii_bin"), "mysql", "mariadb")
WORKFLOW_ID = sa.String(WORKFLOW_ID_CHARS).with_variant(
    mysql.VARCHAR(WORKFLOW_ID_CHARS, collation="utf8mb4_bin"), "mysql", "mariadb"
)
CHUNK = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}

blobs = sa.Table(
    "payload_blobs",
    metadata,
    sa.Column("key", KEY, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("chunks", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_used_at", sa.BigInteger, nullable=False, index=True),
    **MYSQL,
)
chunks = sa.Table(
    "payload_blob_chunks",
    metadata,
    sa.Column("key", KEY, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("data", CHUNK, nullable=False),
    **MYSQL,
)
refs = sa.Table(
    "payload_blob_refs",
    metadata,
    sa.Column("key", KEY, primary_key=True),
    sa.Column("workflow_id", WORKFLOW_ID, primary_key=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    **MYSQL,
)


class SqlBlobStore:
    """Blobs in the tables of migration 0010 (the store runs the migrations; this class only reads and writes)."""

    def __init__(self, url: str, *, own_schema: bool = False) -> None:
        parsed = make_url(url)
        self.description = f"database {parsed.render_as_string(hide_password=True)}"
        kwargs: dict[str, object] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}}
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._engine = sa.create_engine(parsed, **kwargs)  # type: ignore[arg-type]
        # a database of its own (not the store's, whose migrations make these tables) gets them on first use
        self._schema_missing = own_schema
        self._schema_lock = threading.Lock()

    def _ensure_schema(self) -> None:
        if self._schema_missing:
            with self._schema_lock:
                if self._schema_missing:
                    metadata.create_all(self._engine, checkfirst=True)
                    self._schema_missing = False

    def put(self, key: str, data: bytes, workflow_id: str) -> None:
        at = now_ms()
        try:
            self._ensure_schema()
            with self._engine.begin() as conn:
                touched = conn.execute(blobs.update().where(blobs.c.key == key).values(last_used_at=at)).rowcount
            if not touched:
                self._insert(key, data, at)
            self._refer(key, workflow_id, at)
        except sa.exc.SQLAlchemyError as exc:
            raise BlobStoreError(f"cannot write payload blob {key} to {self.description}: {_short(exc)}") from None

    def _insert(self, key: str, data: bytes, at: int) -> None:
        parts = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    blobs.insert().values(key=key, size=len(data), chunks=len(parts), created_at=at, last_used_at=at)
                )
                for seq, part in enumerate(parts):  # one row per statement: each packet stays one chunk big
                    conn.execute(chunks.insert().values(key=key, seq=seq, data=part))
        except IntegrityError:
            pass  # another process stored the same bytes first (the insert waited for its commit)

    def _refer(self, key: str, workflow_id: str, at: int) -> None:
        workflow_id = workflow_id[:WORKFLOW_ID_CHARS]
        with self._engine.begin() as conn:
            done = conn.execute(
                refs.update().where(refs.c.key == key, refs.c.workflow_id == workflow_id).values(at=at)
            ).rowcount
        if not done:
            try:
                with self._engine.begin() as conn:
                    conn.execute(refs.insert().values(key=key, workflow_id=workflow_id, at=at))
            except IntegrityError:
                pass

    def get(self, key: str) -> bytes | None:
        try:
            self._ensure_schema()
            with self._engine.connect() as conn:
                count = conn.execute(sa.select(blobs.c.chunks).where(blobs.c.key == key)).scalar()
                if count is None:
                    return None
                rows = conn.execute(
                    sa.select(chunks.c.seq, chunks.c.data).where(chunks.c.key == key).order_by(chunks.c.seq)
                ).all()
        except sa.exc.SQLAlchemyError as exc:
            raise BlobStoreError(f"cannot read payload blob {key} from {self.description}: {_short(exc)}") from None
        if [seq for seq, _ in rows] != list(range(count)):
            raise BlobStoreError(f"payload blob {key} in {self.description} is incomplete ({len(rows)}/{count} chunks)")
        return b"".join(bytes(data) for _, data in rows)

    def candidates(self, cutoff_ms: int, after: str, limit: int) -> dict[str, list[str]]:
        self._ensure_schema()
        with self._engine.connect() as conn:
            keys = conn.execute(
                sa.select(blobs.c.key)
                .where(blobs.c.last_used_at < cutoff_ms, blobs.c.key > after)
                .order_by(blobs.c.key)
                .limit(limit)
            ).scalars()
            found: dict[str, list[str]] = {key: [] for key in keys}
            if found:
                for key, workflow_id in conn.execute(
                    sa.select(refs.c.key, refs.c.workflow_id).where(refs.c.key.in_(list(found)))
                ):
                    found[key].append(workflow_id)
        return found

    def delete(self, key: str, cutoff_ms: int) -> int:
        with self._engine.begin() as conn:
            size = conn.execute(sa.select(blobs.c.size).where(blobs.c.key == key)).scalar()
            gone = conn.execute(blobs.delete().where(blobs.c.key == key, blobs.c.last_used_at < cutoff_ms)).rowcount
            if not gone:  # referred to again meanwhile: the encoder's update won
                return 0
            conn.execute(chunks.delete().where(chunks.c.key == key))
            conn.execute(refs.delete().where(refs.c.key == key))
        return int(size or 0)

    def close(self) -> None:
        self._engine.dispose()


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0][:300]


# ---- a directory ---------------------------------------------------------------------------------------------


class DirectoryBlobStore:
    """Blobs as files ``<dir>/<k[:2]>/<key>``; the file's mtime is its last use, ``<key>.refs`` lists referrers.

    Files are written to a temporary name and renamed, so readers never see half a blob, on a local disk or a
    shared mount (NFS, an object-store FUSE mount) alike.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()
        self.description = f"directory {self.root}"
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise BlobStoreError(f"not a payload blob key: {key!r}")
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes, workflow_id: str) -> None:
        path = self._path(key)
        try:
            try:
                os.utime(path)
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
            with open(path.with_suffix(".refs"), "a", encoding="utf-8") as out:
                out.write(workflow_id[:WORKFLOW_ID_CHARS].replace("\n", " ") + "\n")
        except OSError as exc:
            raise BlobStoreError(f"cannot write payload blob {key} to {self.description}: {exc.strerror}") from None

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BlobStoreError(f"cannot read payload blob {key} from {self.description}: {exc.strerror}") from None

    def _files(self) -> Iterator[Path]:
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                yield from (p for p in sorted(folder.iterdir()) if not p.suffix and not p.name.startswith("."))

    def candidates(self, cutoff_ms: int, after: str, limit: int) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for path in self._files():
            if len(found) >= limit:
                break
            if path.name > after and path.stat().st_mtime * 1000 < cutoff_ms:
                try:
                    lines = path.with_suffix(".refs").read_text(encoding="utf-8").splitlines()
                except FileNotFoundError:
                    lines = []
                found[path.name] = sorted(set(lines))
        return found

    def delete(self, key: str, cutoff_ms: int) -> int:
        path = self._path(key)
        try:
            stat = path.stat()
            if stat.st_mtime * 1000 >= cutoff_ms:
                return 0
            path.unlink()
        except FileNotFoundError:
            return 0
        path.with_suffix(".refs").unlink(missing_ok=True)
        return stat.st_size

    def close(self) -> None:
        pass


def key_of(data: bytes) -> str:
    """The content address of ``data``."""
    return hashlib.sha256(data).hexdigest()

"""Terraform's state in Gennaker's store: every version of a state per application and workspace (with the
execution that wrote it), the lock terraform's ``http`` backend takes, and the plan files plan stages saved.

Each method is one transaction returning plain dicts. A state's body is kept as terraform sent it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import sqlalchemy as sa

from core.errors import GennakerError

from .errors import ConflictError, NotFoundError
from .session import Database

Doc = dict[str, Any]
_META = sa.MetaData()
KEY = sa.String(255)
STATES = sa.Table(
    "terraform_states", _META, sa.Column("application", KEY, primary_key=True),
    sa.Column("workspace", KEY, primary_key=True), sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("serial", sa.BigInteger), sa.Column("lineage", KEY), sa.Column("body", sa.Text),
    sa.Column("deleted", sa.Boolean), sa.Column("execution_id", KEY), sa.Column("written_by", KEY),
    sa.Column("created_at", sa.BigInteger),
)  # fmt: skip
LOCKS = sa.Table(
    "terraform_locks", _META, sa.Column("application", KEY, primary_key=True),
    sa.Column("workspace", KEY, primary_key=True), sa.Column("lock_id", KEY), sa.Column("info", sa.Text),
    sa.Column("created_at", sa.BigInteger),
)  # fmt: skip
PLANS = sa.Table(
    "terraform_plans", _META, sa.Column("id", KEY, primary_key=True), sa.Column("application", KEY),
    sa.Column("execution_id", KEY), sa.Column("stage_id", KEY), sa.Column("sha256", sa.String(64)),
    sa.Column("body", sa.Text), sa.Column("summary", sa.Text), sa.Column("created_at", sa.BigInteger),
)  # fmt: skip


class StateLocked(GennakerError):
    """The state is locked by another lock id; ``lock`` is the holder's lock info (terraform shows it)."""

    def __init__(self, lock: Doc) -> None:
        super().__init__(f"state is locked by lock id {lock.get('ID')}")
        self.lock = lock


def now_ms() -> int:
    return int(time.time() * 1000)


def _mark(body: str) -> tuple[int, str]:
    try:
        state = json.loads(body)
    except ValueError:
        return 0, ""
    if not isinstance(state, dict):
        return 0, ""
    return int(state.get("serial") or 0), str(state.get("lineage") or "")


class TerraformStore:
    """Terraform's objects in the store's database (shares its engine and transactions)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _session(self, write: bool = False, conflict: str | None = None) -> Any:
        return self._db.session(write=write, conflict=conflict)

    # ---- states ----------------------------------------------------------------------------------------------

    def _latest(self, s: Any, app: str, workspace: str) -> Any:
        query = (
            sa.select(STATES)
            .where(STATES.c.application == app, STATES.c.workspace == workspace)
            .order_by(STATES.c.version.desc())
            .limit(1)
        )
        return s.execute(query).first()

    def get_state(self, app: str, workspace: str) -> Doc | None:
        """The newest version of the state, or None when there is none (or it was deleted)."""
        with self._session() as s:
            row = self._latest(s, app, workspace)
        if row is None or row.deleted:
            return None
        return self._version(row, body=True)

    @staticmethod
    def _version(row: Any, body: bool = False) -> Doc:
        doc = {
            "application": row.application,
            "workspace": row.workspace,
            "version": row.version,
            "serial": row.serial,
            "lineage": row.lineage,
            "deleted": bool(row.deleted),
            "executionId": row.execution_id,
            "writtenBy": row.written_by,
            "createdAt": row.created_at,
        }
        if body:
            doc["body"] = row.body
        return doc

    def _check_lock(self, s: Any, app: str, workspace: str, lock_id: str | None) -> None:
        held = s.execute(sa.select(LOCKS).where(LOCKS.c.application == app, LOCKS.c.workspace == workspace)).first()
        if held is not None and held.lock_id != lock_id:
            raise StateLocked(json.loads(held.info))

    def put_state(
        self, app: str, workspace: str, body: str, *, lock_id: str | None, execution_id: str | None, user: str
    ) -> Doc:
        """A new version of the state; refused (:class:`StateLocked`) when another lock id holds the state."""
        serial, lineage = _mark(body)
        with self._session(write=True, conflict="the state was written concurrently") as s:
            self._check_lock(s, app, workspace, lock_id)
            latest = self._latest(s, app, workspace)
            version = (latest.version if latest is not None else 0) + 1
            row = {
                "application": app,
                "workspace": workspace,
                "version": version,
                "serial": serial,
                "lineage": lineage,
                "body": body,
                "deleted": False,
                "execution_id": execution_id,
                "written_by": user,
                "created_at": now_ms(),
            }
            s.execute(sa.insert(STATES).values(**row))
        return {"version": version, "serial": serial, "lineage": lineage}

    def delete_state(self, app: str, workspace: str, *, lock_id: str | None, user: str) -> None:
        """Terraform's ``DELETE``: the history stays, the newest version says the state is gone."""
        with self._session(write=True, conflict="the state was written concurrently") as s:
            self._check_lock(s, app, workspace, lock_id)
            latest = self._latest(s, app, workspace)
            if latest is None or latest.deleted:
                return
            s.execute(
                sa.insert(STATES).values(
                    application=app, workspace=workspace, version=latest.version + 1, serial=0, lineage="",
                    body="", deleted=True, execution_id=None, written_by=user, created_at=now_ms(),
                )
            )  # fmt: skip

    def versions(self, app: str, workspace: str) -> list[Doc]:
        """Every version, newest first, without bodies."""
        query = (
            sa.select(STATES)
            .where(STATES.c.application == app, STATES.c.workspace == workspace)
            .order_by(STATES.c.version.desc())
        )
        with self._session() as s:
            return [self._version(r) for r in s.execute(query)]

    def get_version(self, app: str, workspace: str, version: int) -> Doc:
        query = sa.select(STATES).where(
            STATES.c.application == app, STATES.c.workspace == workspace, STATES.c.version == version
        )
        with self._session() as s:
            row = s.execute(query).first()
        if row is None:
            raise NotFoundError(f"no version {version} of state {app}/{workspace}")
        return self._version(row, body=True)

    def workspaces(self, app: str) -> list[str]:
        query = sa.select(STATES.c.workspace).where(STATES.c.application == app).distinct()
        with self._session() as s:
            return sorted(s.scalars(query))

    # ---- locks -----------------------------------------------------------------------------------------------

    def get_lock(self, app: str, workspace: str) -> Doc | None:
        query = sa.select(LOCKS).where(LOCKS.c.application == app, LOCKS.c.workspace == workspace)
        with self._session() as s:
            row = s.execute(query).first()
        return json.loads(row.info) if row is not None else None

    def lock(self, app: str, workspace: str, info: Doc) -> None:
        """Take the lock for ``info['ID']``; :class:`StateLocked` with the holder's info when another id has it."""
        lock_id = str(info.get("ID") or "")
        try:
            with self._session(write=True, conflict="locked concurrently") as s:
                held = s.execute(
                    sa.select(LOCKS).where(LOCKS.c.application == app, LOCKS.c.workspace == workspace)
                ).first()  # one read: under READ COMMITTED a second one could see another locker's commit
                if held is not None:
                    if held.lock_id != lock_id:
                        raise StateLocked(json.loads(held.info))
                    return
                s.execute(
                    sa.insert(LOCKS).values(
                        application=app, workspace=workspace, lock_id=lock_id, info=json.dumps(info),
                        created_at=now_ms(),
                    )
                )  # fmt: skip
        except ConflictError:  # another locker inserted first
            current = self.get_lock(app, workspace)
            raise StateLocked(current or {}) from None

    def unlock(self, app: str, workspace: str, lock_id: str | None, *, force: bool = False) -> Doc | None:
        """Release the lock held by ``lock_id`` (any id when ``force``); returns the lock released, if any."""
        with self._session(write=True) as s:
            row = s.execute(sa.select(LOCKS).where(LOCKS.c.application == app, LOCKS.c.workspace == workspace)).first()
            if row is None:
                return None
            if not force and row.lock_id != lock_id:
                raise StateLocked(json.loads(row.info))
            if force and lock_id and row.lock_id != lock_id:
                raise StateLocked(json.loads(row.info))
            s.execute(sa.delete(LOCKS).where(LOCKS.c.application == app, LOCKS.c.workspace == workspace))
            return json.loads(row.info)  # type: ignore[no-any-return]

    # ---- plan files ------------------------------------------------------------------------------------------

    def save_plan(self, app: str, execution_id: str, stage_id: str, planfile: bytes, summary: Doc) -> Doc:
        """Keep a plan file; returns ``{id, sha256}`` (the artifact a plan stage produces names them)."""
        plan_id = f"plan-{uuid.uuid4().hex}"
        digest = hashlib.sha256(planfile).hexdigest()
        with self._session(write=True) as s:
            s.execute(
                sa.insert(PLANS).values(
                    id=plan_id, application=app, execution_id=execution_id, stage_id=stage_id, sha256=digest,
                    body=base64.b64encode(planfile).decode(), summary=json.dumps(summary), created_at=now_ms(),
                )
            )  # fmt: skip
        return {"id": plan_id, "sha256": digest}

    def get_plan(self, plan_id: str) -> Doc:
        with self._session() as s:
            row = s.execute(sa.select(PLANS).where(PLANS.c.id == plan_id)).first()
        if row is None:
            raise NotFoundError(f"no terraform plan {plan_id}")
        return {
            "id": row.id,
            "application": row.application,
            "executionId": row.execution_id,
            "stageId": row.stage_id,
            "sha256": row.sha256,
            "planfile": base64.b64decode(row.body),
            "summary": json.loads(row.summary),
            "createdAt": row.created_at,
        }

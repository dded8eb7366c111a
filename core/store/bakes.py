"""Rosco's bake store: each bake (its cache key, state, result and images) and who waits for it; the newest
reusable successful bake of a key is the cache a repeated bake answers from."""

from __future__ import annotations

import json

from sqlalchemy import select, update
from sqlmodel import col

from .errors import ConflictError, NotFoundError, ValidationError
from .models import Bake
from .session import Database, retrying
from .values import Doc, as_int, dumps, now_ms, required_text


class Bakes:
    """Bakes by id and by cache key."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @retrying
    def create(self, bake: Doc) -> bool:
        """Add a bake (``bake_doc`` fields) unless one with its id exists; True if added now."""
        row = _bake_row(bake)
        try:
            with self._db.session(write=True) as s:
                if s.get(Bake, row.id) is not None:
                    return False
                s.add(row)
        except ConflictError:  # the same bake stored at the same moment by another worker
            return False
        return True

    def get(self, bake_id: str) -> Doc | None:
        with self._db.session() as s:
            row = s.get(Bake, bake_id)
            return _bake_doc(row) if row is not None else None

    def for_key(self, key: str) -> list[Doc]:
        """Every bake of a cache key, newest first."""
        stmt = select(Bake).where(col(Bake.bake_key) == key).order_by(col(Bake.created_at).desc(), col(Bake.id).desc())
        with self._db.session() as s:
            return [_bake_doc(r) for r in s.scalars(stmt)]

    def cached(self, key: str) -> Doc | None:
        """The cache: the key's newest successful bake that is still reusable."""
        stmt = (
            select(Bake)
            .where(
                col(Bake.bake_key) == key,
                col(Bake.state) == "COMPLETED",
                col(Bake.result) == "SUCCESS",
                col(Bake.reusable).is_(True),
            )
            .order_by(col(Bake.created_at).desc(), col(Bake.id).desc())
            .limit(1)
        )
        with self._db.session() as s:
            row = s.scalars(stmt).first()
            return _bake_doc(row) if row is not None else None

    @retrying
    def retire(self, key: str) -> int:
        """A rebake: stop reusing the key's finished bakes (a running one stays: the rebake joins it)."""
        stmt = (
            update(Bake)
            .where(col(Bake.bake_key) == key, col(Bake.reusable).is_(True), col(Bake.state) != "RUNNING")
            .values(reusable=False)
        )
        with self._db.session(write=True) as s:
            return int(getattr(s.execute(stmt), "rowcount", 0) or 0)

    @retrying
    def update(self, bake_id: str, changes: Doc) -> None:
        """Change some fields of a bake (its state, results, log), leaving the others as they are."""
        unknown = sorted(set(changes) - set(BAKE_UPDATABLE))
        if unknown:
            raise ValidationError(f"cannot update bake fields {unknown}", field=unknown[0])
        with self._db.session(write=True) as s:
            row = s.get(Bake, bake_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no bake '{bake_id}'")
            for name, value in changes.items():
                column = BAKE_UPDATABLE[name]
                json_column = column in ("images", "request", "log_ref") and value is not None
                setattr(row, column, dumps(value) if json_column else value)
            row.updated_at = as_int(changes.get("updatedAt") or now_ms(), "updatedAt")

    @retrying
    def add_requester(self, bake_id: str, requester: str) -> None:
        """Record that a stage (``executionId/stageId/start``) waits for this bake; each requester once."""
        with self._db.session(write=True) as s:
            row = s.get(Bake, bake_id, with_for_update=True)
            if row is None:
                return
            requesters = json.loads(row.requested_by)
            if requester not in requesters:
                row.requested_by = dumps([*requesters, requester])


#: the bake fields ``update_bake`` may change, and their columns
BAKE_UPDATABLE = {
    "state": "state",
    "result": "result",
    "reusable": "reusable",
    "imageName": "image_name",
    "imageId": "image_id",
    "images": "images",
    "request": "request",
    "logRef": "log_ref",
    "error": "error",
    "updatedAt": "updated_at",
}


def _bake_row(bake: Doc) -> Bake:
    now = now_ms()
    requesters = bake.get("requestedBy") or []
    if not isinstance(requesters, list):
        raise ValidationError("'requestedBy' must be a list", field="requestedBy")
    return Bake(
        id=required_text(bake, "id", "a bake"),
        bake_key=required_text(bake, "key", "a bake"),
        workflow_id=required_text(bake, "workflowId", "a bake"),
        region=required_text(bake, "region", "a bake"),
        cloud_provider=required_text(bake, "cloudProvider", "a bake"),
        state=str(bake.get("state") or "RUNNING"),
        result=bake.get("result"),
        reusable=bool(bake.get("reusable", True)),
        image_name=bake.get("imageName"),
        image_id=bake.get("imageId"),
        images=dumps(bake.get("images") or {}),
        request=dumps(bake.get("request") or {}),
        requested_by=dumps([str(r) for r in requesters]),
        log_ref=dumps(bake["logRef"]) if bake.get("logRef") is not None else None,
        error=bake.get("error"),
        created_at=as_int(bake.get("createdAt") or now, "createdAt"),
        updated_at=as_int(bake.get("updatedAt") or now, "updatedAt"),
    )


def _bake_doc(row: Bake) -> Doc:
    return {
        "id": row.id,
        "key": row.bake_key,
        "workflowId": row.workflow_id,
        "region": row.region,
        "cloudProvider": row.cloud_provider,
        "state": row.state,
        "result": row.result,
        "reusable": bool(row.reusable),
        "imageName": row.image_name,
        "imageId": row.image_id,
        "images": json.loads(row.images),
        "request": json.loads(row.request),
        "requestedBy": json.loads(row.requested_by),
        "logRef": json.loads(row.log_ref) if row.log_ref else None,
        "error": row.error,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }

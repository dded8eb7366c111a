"""Rosco's bake store: every bake by id, and the cache (the newest successful bake for a key).

The bakes live in the shared store's ``bakes`` table (``core/store``), so every bakery worker, on any
machine, sees the same cache. :class:`BakeStore` gives the bakery typed :class:`BakeRecord` objects
over the store's plain documents. The cache reuses a key's newest ``COMPLETED``/``SUCCESS`` bake that
is still ``reusable``; a rebake retires the key's earlier bakes (Rosco's ``deleteBakeByKeyPreserveDetails``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    #: where packer's log was written: ``{"host", "path", "url"}`` (logs stay on the baking worker)
    log_ref: dict[str, str] | None = None
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


#: BakeRecord fields kept in the store's ``request`` summary (what was asked for)
_REQUEST = {
    "base_ami": "baseAmi",
    "app_version": "appVersion",
    "package": "package",
    "base_os": "baseOs",
    "account": "account",
}
#: the other BakeRecord fields and their names in the store's documents
_COLUMNS = {
    "state": "state",
    "result": "result",
    "reusable": "reusable",
    "image_name": "imageName",
    "ami": "imageId",
    "images": "images",
    "log_ref": "logRef",
    "error": "error",
    "updated_ms": "updatedAt",
}


def _to_doc(record: BakeRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "key": record.key,
        "workflowId": record.workflow_id,
        "region": record.region,
        "cloudProvider": record.cloud_provider,
        **{doc: getattr(record, name) for name, doc in _COLUMNS.items()},
        "request": {doc: getattr(record, name) for name, doc in _REQUEST.items()},
        "requestedBy": list(record.requested_by),
        "createdAt": record.created_ms,
    }


def _from_doc(doc: dict[str, Any] | None) -> BakeRecord | None:
    if doc is None:
        return None
    request = doc.get("request") or {}
    return BakeRecord(
        id=doc["id"],
        key=doc["key"],
        workflow_id=doc["workflowId"],
        region=doc["region"],
        cloud_provider=doc["cloudProvider"],
        **{name: doc.get(key) for name, key in _COLUMNS.items()},  # type: ignore[arg-type]
        **{name: request.get(key) for name, key in _REQUEST.items() if key in request},  # type: ignore[arg-type]
        requested_by=list(doc.get("requestedBy") or []),
        created_ms=doc["createdAt"],
    )


class BakeStore:
    """The bakes in the shared store (``core.store.Store``: SQLite, PostgreSQL or MySQL), as records.

    Safe to share between threads; each call is one transaction of the store."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def create(self, record: BakeRecord) -> bool:
        """Add a bake unless one with its id exists; True if added."""
        return bool(self.store.bakes.create(_to_doc(record)))

    def get(self, bake_id: str) -> BakeRecord | None:
        return _from_doc(self.store.bakes.get(bake_id))

    def cached(self, key: str) -> BakeRecord | None:
        """The key's newest reusable successful bake."""
        return _from_doc(self.store.bakes.cached(key))

    def for_key(self, key: str) -> list[BakeRecord]:
        """Every bake of a key, newest first."""
        return [r for r in map(_from_doc, self.store.bakes.for_key(key)) if r is not None]

    def retire(self, key: str) -> int:
        """Stop reusing the key's finished bakes (a rebake); returns how many were retired."""
        return int(self.store.bakes.retire(key))

    def add_requester(self, bake_id: str, requester: str) -> None:
        self.store.bakes.add_requester(bake_id, requester)

    def update(self, bake_id: str, **changes: Any) -> None:
        """Change some fields of a bake (its state and results), leaving the others as they are."""
        unknown = sorted(set(changes) - set(_COLUMNS))
        if unknown:
            raise ValueError(f"cannot update bake fields {unknown}")
        self.store.bakes.update(bake_id, {_COLUMNS[k]: v for k, v in changes.items()})

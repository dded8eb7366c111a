"""The terraform ``http`` state backend's documents: state versions, terraform's lock info, the operator's
force-unlock, and the outputs as ``terraform output -json`` shows them.

The state itself (``GET``/``POST`` of the state path) is terraform's own JSON, passed through byte for byte;
terraform sends its lock info with Go's field names (``ID``, ``Operation``...), kept as they are.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import SpinnakerDocument


class LockInfo(SpinnakerDocument):
    """terraform's ``statemgr.LockInfo``: who holds the state, for which operation, since when."""

    id: str | None = Field(None, alias="ID")
    operation: str | None = Field(None, alias="Operation")
    info: str | None = Field(None, alias="Info")
    who: str | None = Field(None, alias="Who")
    version: str | None = Field(None, alias="Version")
    created: str | None = Field(None, alias="Created")
    path: str | None = Field(None, alias="Path")


class StateVersion(SpinnakerDocument):
    """One version of a workspace's state, with the execution and the caller that wrote it."""

    application: str
    workspace: str
    version: int
    serial: int | None = None
    lineage: str | None = None
    deleted: bool
    execution_id: str | None = None
    written_by: str | None = None
    created_at: int | None = None


class StateVersionWithBody(StateVersion):
    """A version with the state it holds (``null`` for a deletion)."""

    state: dict[str, Any] | None


class StateDeleted(SpinnakerDocument):
    deleted: bool


class LockState(SpinnakerDocument):
    """Whether the state is locked, and terraform's lock info while it is."""

    locked: bool
    lock: LockInfo | None = None


class ForceUnlock(SpinnakerDocument):
    """The operator's ``terraform force-unlock``: the id of the lock to release."""

    id: str | None = None


class Released(SpinnakerDocument):
    released: LockInfo


class Output(SpinnakerDocument):
    value: Any = None
    type: Any = None
    sensitive: bool

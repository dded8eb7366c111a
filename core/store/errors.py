"""The store's one exception tree; the API translates it into Spinnaker's error shape (404, 409, 400).

Driver and SQLAlchemy exceptions never leave the store: `session.py` turns them into these.
"""

from __future__ import annotations

from core.errors import GennakerError


class StoreError(GennakerError):
    """Base of every store error; a bare `StoreError` means the database itself failed (unreachable, locked)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(StoreError):
    """The named application, pipeline, project or execution does not exist."""


class ExecutionDeletedError(NotFoundError):
    """The execution was deleted through the API (its tombstone is kept, so Temporal's copy is not served)."""


class ConflictError(StoreError):
    """The save would break a uniqueness rule (a pipeline name taken in its application, a project name taken)."""


class StaleError(StoreError):
    """`staleCheck` save whose `lastModified` differs from the stored one: someone saved in between."""


class ValidationError(StoreError):
    """The document is missing a required field or has an invalid one; `field` names it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

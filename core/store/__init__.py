"""Gennaker's store: what Spinnaker keeps in Front50 (applications, pipeline and strategy configs with their
history, projects) plus the engine's projection of executions, in SQLite, PostgreSQL or MySQL. See docs/store.md.
"""

from .errors import ConflictError, ExecutionDeletedError, NotFoundError, StaleError, StoreError, ValidationError
from .root import Store

__all__ = [
    "ConflictError",
    "ExecutionDeletedError",
    "NotFoundError",
    "StaleError",
    "Store",
    "StoreError",
    "ValidationError",
]

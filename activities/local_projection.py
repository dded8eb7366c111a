"""The store a worker without one keeps its executions' projection in.

The engine writes every execution's projection to a store and reads it back for expressions; a
worker built without a store (an embedded worker, a test of one provider) still needs one. This is
a SQLite file in a temporary directory, one per process, created on first use and removed when the
process exits. Only the engine's own activities use it: what the composition root switches on by
having a store (bakes, triggers, the reconciler) stays off.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_store: list[Any] = []


def local_projection_store() -> Any:
    """The process's fallback store (migrated once)."""
    with _lock:
        if not _store:
            from core.store import Store

            folder = Path(tempfile.mkdtemp(prefix="gennaker-projection-"))
            store = Store(f"sqlite:///{folder / 'projection.db'}")
            store.migrate()
            _store.append(store)
            atexit.register(_remove, store, folder)
        return _store[0]


def _remove(store: Any, folder: Path) -> None:
    store.close()
    shutil.rmtree(folder, ignore_errors=True)

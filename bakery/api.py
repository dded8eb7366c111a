"""What ``GET /bakery/...`` routes call: reads of the image config, the bake store and bake logs.

Each function takes the settings it needs and raises :class:`~bakery.errors.NotFoundError`
subclasses for a 404 (Gate's bodies: ``bake.options.not.found``, ``logs.not.found``).
"""

from __future__ import annotations

import functools
import socket
from pathlib import Path
from typing import Any

from core.settings.bakery import BakerySettings

from .errors import BakeNotFoundError
from .images import ImageConfig, load_images
from .logs import LogChunk, gate_logs, read_log
from .options import bake_options
from .store import BakeStore

__all__ = ["bake_status", "image_config", "logs", "logs_from", "options"]


@functools.lru_cache(maxsize=4)
def _images(path: Path, mtime_ns: int) -> ImageConfig:
    return load_images(path)


def image_config(settings: BakerySettings) -> ImageConfig:
    """``images.yml``, read again only when the file changes."""
    path = settings.images_path
    return _images(path, path.stat().st_mtime_ns)


def options(settings: BakerySettings, cloud_provider: str | None = None) -> list[dict[str, Any]] | dict[str, Any]:
    """``GET /bakery/options`` and ``GET /bakery/options/{cloudProvider}`` (raises BakeOptionsNotFoundError)."""
    return bake_options(image_config(settings), cloud_provider)


def logs(state_dir: Path | str, status_id: str, store: Any = None) -> str:
    """``GET /bakery/logs/{region}/{statusId}``: Gate's ``<pre>...</pre>`` (raises BakeNotFoundError).

    The log is under ``state_dir``, or where the bake's log reference in the store says, when a worker
    on this host with another state dir baked it. A log kept on another host is not fetched from there."""
    try:
        return gate_logs(state_dir, status_id)
    except BakeNotFoundError:
        if store is None:
            raise
    record = BakeStore(store).get(status_id)
    ref = (record.log_ref if record is not None else None) or {}
    path = Path(ref.get("path") or "")
    if ref.get("host") == socket.gethostname():
        if path.name == f"{status_id}.log" and len(path.parents) > 2:
            return gate_logs(path.parents[2], status_id)
    elif ref.get("host"):
        raise BakeNotFoundError(f"the log of bake '{status_id}' is kept by the bakery worker on {ref['host']}")
    raise BakeNotFoundError(f"no bake log for '{status_id}'")


def logs_from(state_dir: Path | str, status_id: str, offset: int = 0) -> LogChunk:
    """A bake's log from a byte offset, for followers (``?offset=``); ``to_json()`` for the body."""
    return read_log(state_dir, status_id, offset)


def bake_status(store: Any, status_id: str) -> dict[str, Any]:
    """Rosco's ``GET /api/v1/{region}/status/{statusId}`` with the bake's details (raises BakeNotFoundError)."""
    record = BakeStore(store).get(status_id)
    if record is None:
        raise BakeNotFoundError(f"Unable to retrieve status for '{status_id}'.")
    return {**record.status_json(), "bake": record.bake_json(), "error": record.error}

"""What ``GET /bakery/...`` routes call: pure reads of the image config, the bake store and bake logs.

Each function takes the settings it needs and raises :class:`~bakery.errors.NotFoundError`
subclasses for a 404 (Gate's bodies: ``bake.options.not.found``, ``logs.not.found``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .errors import BakeNotFoundError
from .images import ImageConfig, load_images
from .logs import LogChunk, bakery_dir, gate_logs, read_log
from .options import bake_options
from .settings import BakerySettings
from .store import SqliteBakeStore

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


def logs(state_dir: Path | str, status_id: str) -> str:
    """``GET /bakery/logs/{region}/{statusId}``: Gate's ``<pre>...</pre>`` (raises BakeNotFoundError)."""
    return gate_logs(state_dir, status_id)


def logs_from(state_dir: Path | str, status_id: str, offset: int = 0) -> LogChunk:
    """A bake's log from a byte offset, for followers (``?offset=``); ``to_json()`` for the body."""
    return read_log(state_dir, status_id, offset)


def bake_status(state_dir: Path | str, status_id: str) -> dict[str, Any]:
    """Rosco's ``GET /api/v1/{region}/status/{statusId}`` with the bake's details (raises BakeNotFoundError)."""
    record = SqliteBakeStore(bakery_dir(state_dir) / "bakes.db").get(status_id)
    if record is None:
        raise BakeNotFoundError(f"Unable to retrieve status for '{status_id}'.")
    return {**record.status_json(), "bake": record.bake_json(), "error": record.error}

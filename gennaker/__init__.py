"""Gennaker: Spinnaker's pipelines on Temporal. This package holds the settings, the CLI and the Python SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _app_path
from ._version import __version__

_app_path.add_for_library()  # a wheel's core/, api/, ... (gennaker_app/) after the user's own modules

if TYPE_CHECKING:
    from gennaker.client import ApiConnectionError, AsyncClient, BadRequest, Client, Conflict, GateError, NotFound

__all__ = [
    "ApiConnectionError",
    "GateError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "NotFound",
    "__version__",
]
# The SDK client, exported lazily: `import gennaker` stays free of httpx and temporalio.
_CLIENT_EXPORTS = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    if name in _CLIENT_EXPORTS:
        from gennaker import client

        return getattr(client, name)
    raise AttributeError(f"module 'gennaker' has no attribute {name!r}")

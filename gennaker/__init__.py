"""Gennaker: Spinnaker's pipelines on Temporal. This package holds the settings, the CLI and the Python SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gennaker.client import ApiConnectionError, ApiError, AsyncClient, BadRequest, Client, Conflict, NotFound

__all__ = [
    "ApiConnectionError",
    "ApiError",
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

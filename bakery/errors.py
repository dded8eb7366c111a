"""The bakery's exceptions, one tree. Activities turn them into stage results; routes into HTTP errors.

``BakeryError`` (under core.errors.GennakerError)
├── ``BakeRequestError``        the bake request (stage fields) cannot be baked; names the field (→ TERMINAL)
├── ``ImageConfigError``        ``images.yml`` is invalid; names the entry and the field (→ worker start fails)
├── ``BakeryNotFoundError``     what a route asked for does not exist (→ 404)
│   ├── ``BakeOptionsNotFoundError``   no bake options for that cloud provider (Rosco's ``bake.options.not.found``)
│   └── ``BakeNotFoundError``          no bake, status or log with that id
└── ``PackerUnavailableError``  the packer binary is missing (→ non-retryable: install Debian's ``packer``)
"""

from __future__ import annotations

from core.errors import GennakerError


class BakeryError(GennakerError):
    """Base of every bakery error."""


class BakeRequestError(BakeryError, ValueError):
    """A bake request that cannot be baked. ``field`` is the stage field at fault (Spinnaker's name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ImageConfigError(BakeryError, ValueError):
    """``images.yml`` (Rosco's image config) is invalid; the message names the entry and the field."""


class BakeryNotFoundError(BakeryError, LookupError):
    """Something a caller asked for by name or id does not exist."""


class BakeOptionsNotFoundError(BakeryNotFoundError):
    """No bake options for a cloud provider (or base image)."""


class BakeNotFoundError(BakeryNotFoundError):
    """No bake, bake status or bake log with the id asked for."""


class PackerUnavailableError(BakeryError):
    """The ``packer`` binary is not installed where the bake runs."""

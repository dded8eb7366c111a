"""Igor's build services beyond Jenkins: one interface (:mod:`.base`), a client per type (Travis API v3,
GitHub Actions, GitLab CI), the registry by name (:mod:`.services`), and the pure rules shared by every
type: the build monitor's cursors (:mod:`.polling`) and Echo's build-trigger matching (:mod:`.triggers`)."""

from .base import (
    BuildResult,
    BuildService,
    CiAuthError,
    CiBuild,
    CiConfigError,
    CiError,
    CiNotFoundError,
    CiRequestError,
    CiResponseError,
    CiUnreachableError,
    StartedRun,
    UnknownBuildServiceError,
)

__all__ = [
    "BuildResult",
    "BuildService",
    "CiAuthError",
    "CiBuild",
    "CiConfigError",
    "CiError",
    "CiNotFoundError",
    "CiRequestError",
    "CiResponseError",
    "CiUnreachableError",
    "StartedRun",
    "UnknownBuildServiceError",
]

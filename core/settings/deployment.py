"""Worker versioning settings (``GENNAKER_DEPLOYMENT__*``) and the build id of this code (gennaker/versioning.py
uses them to poll as a version of the worker deployment)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

#: The build id of this code. A release that changes workflow code incompatibly (anything a stored history of the
#: previous build would not replay on: tests/replay says) bumps it; activity-only changes need not.
BUILD_ID = "2026.12.06-5"


class DeploymentSettings(BaseModel):
    """Worker versioning (``GENNAKER_DEPLOYMENT__*``)."""

    model_config = {"extra": "forbid"}

    #: poll as a version of the worker deployment (workflows PINNED); off: an unversioned worker, as before
    versioning: bool = True
    #: the worker deployment's name in the namespace (one per Gennaker installation sharing a namespace)
    name: str = Field(default="gennaker", min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    #: this worker's build id; the default is the code's BUILD_ID
    build_id: str = Field(default=BUILD_ID, min_length=1, pattern=r"^[A-Za-z0-9_\-.]+$")
    #: when a starting worker makes its build the current one: ``if-none`` (only the first install; later
    #: builds are promoted by the operator), ``always`` (`gennaker up`: the newest build started is current),
    #: ``never``
    promote: Literal["if-none", "always", "never"] = "if-none"

"""Settings of the reconciler (``reconciler:`` in gennaker.yml, ``GENNAKER_RECONCILER__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ReconcilerSettings(BaseModel):
    """How often the reconciler's Schedule looks for executions whose workflow closed without a final record."""

    #: register the Schedule when a worker starts
    enabled: bool = True
    #: seconds between runs
    interval_s: float = Field(default=60.0, ge=5)
    #: executions built less than this many seconds ago are left alone
    grace_s: float = Field(default=10.0, ge=0)

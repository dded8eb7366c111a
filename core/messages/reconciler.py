"""The reconciler's Schedule, workflow type, input and result (``workflows/reconciler.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEDULE_ID = "gennaker-reconciler"
WORKFLOW_TYPE = "ReconcileExecutions"


@dataclass
class ReconcileInput:
    #: executions built less than this long ago are left alone (their first writes may be in flight)
    grace_s: float = 60.0
    #: store rows looked at per page
    page: int = 200


@dataclass
class ReconcileResult:
    checked: int = 0
    #: ``{execution id: the status recorded}``
    reconciled: dict[str, str] = field(default_factory=dict)

"""Spinnaker's ExecutionStatus, with the behaviour Orca attaches to it.

One enum for pipelines, stages and tasks. ``complete`` means the thing will not run again
unless restarted; ``halt`` means nothing downstream of it may run.
"""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    SUSPENDED = "SUSPENDED"
    SUCCEEDED = "SUCCEEDED"
    FAILED_CONTINUE = "FAILED_CONTINUE"
    TERMINAL = "TERMINAL"
    CANCELED = "CANCELED"
    REDIRECT = "REDIRECT"
    STOPPED = "STOPPED"
    SKIPPED = "SKIPPED"
    BUFFERED = "BUFFERED"

    @property
    def is_complete(self) -> bool:
        return self in COMPLETED

    @property
    def is_halt(self) -> bool:
        return self in HALT

    @property
    def is_successful(self) -> bool:
        return self in SUCCESSFUL

    @property
    def is_failure(self) -> bool:
        return self in FAILURE


#: Orca's ``COMPLETED`` set: the statuses for which ``isComplete`` is true.
COMPLETED = frozenset(
    {
        ExecutionStatus.CANCELED,
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.STOPPED,
        ExecutionStatus.SKIPPED,
        ExecutionStatus.TERMINAL,
        ExecutionStatus.FAILED_CONTINUE,
    }
)
#: statuses that stop everything downstream of a stage.
HALT = frozenset({ExecutionStatus.TERMINAL, ExecutionStatus.CANCELED, ExecutionStatus.STOPPED})
SUCCESSFUL = frozenset({ExecutionStatus.SUCCEEDED, ExecutionStatus.STOPPED, ExecutionStatus.SKIPPED})
FAILURE = frozenset({ExecutionStatus.TERMINAL, ExecutionStatus.STOPPED, ExecutionStatus.FAILED_CONTINUE})
#: statuses after which downstream stages may start.
PROCEED = frozenset({ExecutionStatus.SUCCEEDED, ExecutionStatus.SKIPPED, ExecutionStatus.FAILED_CONTINUE})


def pipeline_trigger_status(status: ExecutionStatus) -> str:
    """The word a downstream ``pipeline`` trigger matches for an upstream execution's status."""
    return {
        ExecutionStatus.CANCELED: "canceled",
        ExecutionStatus.SUSPENDED: "suspended",
        ExecutionStatus.SUCCEEDED: "successful",
    }.get(status, "failed")


def end_event_word(status: str, kind: str) -> str:
    """Orca's word for a finished execution, stage or task, in its Echo events (``orca:<kind>:<word>``) and so in
    the notifications Echo sends for them. EchoNotifyingStageListener.afterStage: SKIPPED is ``skipped``,
    SUCCEEDED ``complete``, anything else (STOPPED and FAILED_CONTINUE too: "still failures in terms of the stage")
    ``failed``; afterTask and EchoNotifyingExecutionListener.afterExecution: ``complete`` when the status is
    successful (SUCCEEDED, STOPPED, SKIPPED), else ``failed`` (FAILED_CONTINUE, TERMINAL, CANCELED)."""
    status = str(status).upper()
    if kind == "stage":
        return "skipped" if status == "SKIPPED" else "complete" if status == "SUCCEEDED" else "failed"
    return "complete" if status in SUCCESSFUL else "failed"

"""Spinnaker's status rules as pure functions (orca ``CompleteExecutionHandler``, ``Stage.failureStatus``)."""

from __future__ import annotations

from collections.abc import Iterable

from core.fields import truthy
from core.status import ExecutionStatus as S

from .execution import StageState

_PASS = {S.SUCCEEDED, S.SKIPPED, S.FAILED_CONTINUE}


def pipeline_status(stages: Iterable[StageState], *, canceled: bool = False) -> S:
    """The final status of an execution from its top-level stages, once nothing more can run.

    All stages passed (SUCCEEDED, SKIPPED, FAILED_CONTINUE) → SUCCEEDED; else any TERMINAL →
    TERMINAL; else canceled → CANCELED; else a STOPPED branch → SUCCEEDED, unless that stage asked
    to ``completeOtherBranchesThenFail`` → TERMINAL. Stages left NOT_STARTED behind a halted branch
    do not count.
    """
    top = [s for s in stages if s.parent_stage_id is None]
    statuses = [s.status for s in top]
    if S.TERMINAL in statuses:
        return S.TERMINAL
    if canceled or S.CANCELED in statuses:
        return S.CANCELED
    if all(st in _PASS for st in statuses):
        return S.SUCCEEDED
    stopped = [s for s in top if s.status == S.STOPPED]
    if any(truthy(s.context.get("completeOtherBranchesThenFail")) for s in stopped):
        return S.TERMINAL
    return S.SUCCEEDED

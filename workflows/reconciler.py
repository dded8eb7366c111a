"""The reconciler: a Schedule starts this workflow every ``reconciler.interval_s`` to find executions the store
still shows unfinished whose workflow has closed (terminated, timed out, failed, canceled without a final record)
or is gone, and to record the final status Orca would show. The work is one activity (activities/reconciler.py)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from core.messages.reconciler import WORKFLOW_TYPE, ReconcileInput, ReconcileResult


@workflow.defn(name=WORKFLOW_TYPE)
class ReconcileExecutionsWorkflow:
    @workflow.run
    async def run(self, inp: ReconcileInput) -> ReconcileResult:
        return await workflow.execute_activity(
            "reconcile_executions",
            inp,
            result_type=ReconcileResult,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
            summary="close executions whose workflow has closed",
        )

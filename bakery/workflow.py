"""The bake workflow: one packer run, shared by every stage that asks for the same bake.

Its workflow id is ``bake-<cache key>``. The ``createBake`` task starts it with signal-with-start
(signal ``attach``, the stage's ``executionId/stageId``) and id conflict policy ``USE_EXISTING``, so
two identical bakes requested at once are one workflow and one packer run: Temporal de-duplicates,
no lock is needed. Its run id is the bake's id (Rosco's status id).

A stage that is canceled sends ``detach``; when every stage that attached has left, the workflow
cancels the packer activity (which stops packer) and ends ``CANCELED`` as ``abandoned``. Canceling
the workflow itself (an operator) stops packer too.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from .messages import BAKE_WORKFLOW, RUN_PACKER, RunBakeInput, RunBakeResult

#: errors the packer activity raises that another attempt would not fix
NON_RETRYABLE = ["BakeRequestError", "PackerUnavailable"]
#: a worker that died mid-bake: the next attempt stops the old packer and bakes again
MAX_ATTEMPTS = 3


@workflow.defn(name=BAKE_WORKFLOW)
class BakeWorkflow:
    def __init__(self) -> None:
        self.waiting: set[str] = set()
        self.left: set[str] = set()

    @workflow.signal
    def attach(self, requester: str) -> None:
        self.waiting.add(requester)
        self.left.discard(requester)

    @workflow.signal
    def detach(self, requester: str) -> None:
        if requester in self.waiting:
            self.waiting.discard(requester)
            self.left.add(requester)

    @workflow.query
    def waiters(self) -> list[str]:
        return sorted(self.waiting)

    def _abandoned(self) -> bool:
        return bool(self.left) and not self.waiting

    @workflow.run
    async def run(self, inp: RunBakeInput) -> RunBakeResult:
        recipe = inp.recipe
        packer = workflow.start_activity(
            RUN_PACKER,
            inp,
            result_type=RunBakeResult,
            task_queue=inp.activity_queue,
            start_to_close_timeout=timedelta(seconds=inp.timeout_s + inp.kill_grace_s + 60),
            heartbeat_timeout=timedelta(seconds=inp.heartbeat_timeout_s),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=1),
                maximum_attempts=MAX_ATTEMPTS,
                non_retryable_error_types=NON_RETRYABLE,
            ),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=f"packer build {recipe.image_name} ({recipe.cloud_provider} {recipe.region})",
        )
        bake_id = workflow.info().run_id
        try:
            await workflow.wait_condition(lambda: packer.done() or self._abandoned())
        except asyncio.CancelledError:
            packer.cancel()
            with contextlib.suppress(ActivityError, asyncio.CancelledError):
                await packer
            raise
        if not packer.done():
            workflow.logger.info("bake %s abandoned by every stage waiting for it: stopping packer", bake_id)
            packer.cancel()
            with contextlib.suppress(ActivityError, asyncio.CancelledError):
                await packer
            return RunBakeResult(
                bake_id, "CANCELED", "FAILURE", error="every stage waiting for this bake was canceled", abandoned=True
            )
        try:
            return packer.result()
        except ActivityError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            return RunBakeResult(bake_id, "COMPLETED", "FAILURE", error=message)

"""The workflow a cron trigger's Temporal Schedule starts: it starts the pipeline, once per scheduled time.

A Schedule starts this small workflow rather than the pipeline itself, so that the pipeline runs
its config as saved at fire time (not at schedule time), disabled pipelines and triggers are
checked when they would fire, and the execution gets a ULID id like every other execution.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

from core.messages.triggers import CronTriggerInput, StartCronPipelineInput

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn(name="CronTrigger")
class CronTriggerWorkflow:
    @workflow.run
    async def run(self, inp: CronTriggerInput) -> dict[str, object]:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        return await workflow.execute_activity(  # type: ignore[no-any-return]
            "start_cron_pipeline",
            StartCronPipelineInput(inp.application, inp.pipeline_id, inp.trigger_id, scheduled.isoformat()),
            result_type=dict,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(seconds=30)),
            summary=f"start pipeline {inp.pipeline_id}",
        )

"""One workflow per REST endpoint (``events-delivery:<name>``), started or found at worker start: it runs the
``deliver_events`` activity from its cursor again and again, carrying the cursor in its state (and over
continue-as-new), so an endpoint receives every event in order, however long it was down or the workers were. With
versioned workers each run continues as new on the deployment's current build, so an upgrade moves it along."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from core.messages.events import DELIVER_EVENTS, WORKFLOW_TYPE, DeliverEventsInput, DeliverEventsResult

#: an endpoint that is down is tried again with backoff up to a minute apart, for as long as it takes
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
)
TURNS_BEFORE_CONTINUE = 200


@workflow.defn(name=WORKFLOW_TYPE)
class DeliverEchoEventsWorkflow:
    def __init__(self) -> None:
        self.state = DeliverEventsInput(endpoint="")

    @workflow.query
    def progress(self) -> DeliverEventsInput:
        return self.state

    @workflow.run
    async def run(self, inp: DeliverEventsInput) -> DeliverEventsInput:
        self.state = inp
        for _ in range(TURNS_BEFORE_CONTINUE):
            result = await workflow.execute_activity(
                DELIVER_EVENTS,
                DeliverEventsInput(endpoint=inp.endpoint, cursor=self.state.cursor),
                result_type=DeliverEventsResult,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=20),
                retry_policy=DELIVERY_RETRY,
                summary=f"deliver events to {inp.endpoint}",
            )
            self.state.cursor = result.cursor
            self.state.delivered += result.delivered
            self.state.dropped += result.dropped
            if result.gone:
                return self.state
            if workflow.info().is_continue_as_new_suggested():
                break
        if self.state.versioned:  # each run on the build current when it starts: a retired build strands no listener
            workflow.continue_as_new(
                self.state, initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE
            )
        workflow.continue_as_new(self.state)

"""One workflow per deployment (``notifications-delivery:<task queue>``), started or found at worker start: Echo's
notification agents on the outbox (activities/notification_events.py).

It runs ``read_notifications`` from its cursor again and again and starts one ``send_notification`` activity per
notification the events ask for, in the background (a channel that is down holds back nobody else's
notifications), with a few retries; a send that still fails adds a ``systemNotifications`` entry to its execution
(Deck's banner). The cursor moves once the sends are started: they are in this workflow's history, so a worker's
death loses none, and a read retried after it reads the same events again without starting anything twice.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from core.messages.notifications import (
    READ_NOTIFICATIONS,
    RECORD_NOTIFICATION_FAILURE,
    WORKFLOW_TYPE,
    DeliverNotificationsInput,
    NotificationFailure,
)

with workflow.unsafe.imports_passed_through():
    from activities.notification_events import ReadNotificationsResult
    from activities.notify import SendNotificationInput

    from .notifications import RETRY, SEND_NOTIFICATION

#: a read that fails (the store is down) is tried again, up to a minute apart, for as long as it takes
READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
)
#: sends in flight at most: the reader waits for some to end before reading on (Temporal's limit is 2,000)
MAX_PENDING = 500
#: reads and sends of one run before it continues as new (its history stays a few thousand events)
TURNS_BEFORE_CONTINUE = 200
SENDS_BEFORE_CONTINUE = 500


@workflow.defn(name=WORKFLOW_TYPE)
class DeliverNotificationsWorkflow:
    def __init__(self) -> None:
        self.state = DeliverNotificationsInput(task_queue="")
        self.pending = 0

    @workflow.query
    def progress(self) -> DeliverNotificationsInput:
        return self.state

    @workflow.run
    async def run(self, inp: DeliverNotificationsInput) -> None:
        self.state = inp
        started = 0
        for _ in range(TURNS_BEFORE_CONTINUE):
            await workflow.wait_condition(lambda: self.pending < MAX_PENDING)
            result = await workflow.execute_activity(
                READ_NOTIFICATIONS,
                DeliverNotificationsInput(task_queue=inp.task_queue, cursor=self.state.cursor),
                result_type=ReadNotificationsResult,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=20),
                retry_policy=READ_RETRY,
                summary="read the engine's events",
            )
            for send in result.sends:
                self.pending += 1
                asyncio.ensure_future(self._send(send))  # in the background, each on its own
            self.state.cursor = result.cursor
            self.state.started += len(result.sends)
            started += len(result.sends)
            if started >= SENDS_BEFORE_CONTINUE or workflow.info().is_continue_as_new_suggested():
                break
        await workflow.wait_condition(lambda: self.pending == 0)  # a new run does not know about these
        if self.state.versioned:  # each run on the build current when it starts: a retired build strands no reader
            workflow.continue_as_new(
                self.state, initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE
            )
        workflow.continue_as_new(self.state)

    async def _send(self, send: SendNotificationInput) -> None:
        try:
            await workflow.execute_activity(
                SEND_NOTIFICATION,
                send,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RETRY,
                summary=f"{send.notification.get('type')} notification: {send.when}",
            )
        except ActivityError as err:
            self.state.failed += 1
            cause = getattr(err.cause, "message", None) or str(err.cause or err)
            failure = NotificationFailure(
                execution_id=send.execution.execution_id,
                message=f"{send.notification.get('type')} notification for {send.when} failed: {cause}",
                created_at=int(workflow.now().timestamp() * 1000),
            )
            await workflow.execute_activity(
                RECORD_NOTIFICATION_FAILURE,
                failure,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=READ_RETRY,
                summary=f"record a failed notification of {failure.execution_id}",
            )
        finally:
            self.pending -= 1

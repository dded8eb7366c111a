"""The body every build monitor's poll workflow shares (``jenkins_poll.py``, ``ci_poll.py``; Igor's build monitors):
find the builds that finished since the last poll, hand each to the trigger matching, then move the cursors on,
only once every event was handled (a poll that dies half-way posts its events again next time; the store's
trigger-event claims start no pipeline twice). Each workflow names its activities and messages in a ``PollSteps``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy


@dataclass(frozen=True)
class PollSteps:
    """One build monitor's activities and messages."""

    #: the result's key for the polled source: ``master`` (Jenkins) or ``service``
    source_key: str
    #: how the poll's activity summary names the source: ``Jenkins master``, ``build service``
    label: str
    poll: str
    trigger: str
    save: str
    poll_result: type
    trigger_result: type
    #: (source name, cursors) -> the save activity's input
    save_input: Callable[[str, dict[str, Any]], Any]


async def poll_builds(steps: PollSteps, inp: Any, source: str) -> dict[str, Any]:
    retry = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=30))
    polled = await workflow.execute_activity(
        steps.poll,
        inp,
        result_type=steps.poll_result,
        start_to_close_timeout=timedelta(minutes=5),
        heartbeat_timeout=timedelta(minutes=2),
        retry_policy=RetryPolicy(maximum_attempts=2),
        summary=f"poll {steps.label} {source}",
    )
    launched: list[dict[str, Any]] = []
    for event in polled.events:
        outcome = await workflow.execute_activity(
            steps.trigger,
            event,
            result_type=steps.trigger_result,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=retry,
            summary=f"{event.job} #{event.number} {event.result}",
        )
        launched.extend(outcome.launched)
    if polled.cursors:
        await workflow.execute_activity(
            steps.save,
            steps.save_input(source, polled.cursors),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=retry,
            summary=f"save {len(polled.cursors)} cursors",
        )
    return {
        steps.source_key: source,
        "builds": [f"{e.job} #{e.number} {e.result}" for e in polled.events],
        "launched": launched,
        "errors": polled.errors,
    }

"""The workflow a build service's poll Schedule starts every ``ci.polling.interval_s`` (Igor's Travis,
GitLab CI and GitHub build monitors): find the builds that finished since the last poll, hand each to the
trigger matching, then move the service's cursors on, only once every event was handled (a poll that dies
half-way posts its events again; the store's trigger-event claims start no pipeline twice)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from core.messages.ci_poll import (
    POLL_BUILD_SERVICE,
    SAVE_CI_CURSORS,
    TRIGGER_CI_BUILD,
    PollBuildServiceInput,
    PollBuildServiceResult,
    SaveCiCursorsInput,
    TriggerCiBuildResult,
)

from .build_poll import PollSteps, poll_builds

STEPS = PollSteps(
    source_key="service",
    label="build service",
    poll=POLL_BUILD_SERVICE,
    trigger=TRIGGER_CI_BUILD,
    save=SAVE_CI_CURSORS,
    poll_result=PollBuildServiceResult,
    trigger_result=TriggerCiBuildResult,
    save_input=SaveCiCursorsInput,
)


@workflow.defn(name="CiPoll")
class CiPollWorkflow:
    @workflow.run
    async def run(self, inp: PollBuildServiceInput) -> dict[str, Any]:
        return await poll_builds(STEPS, inp, inp.service)

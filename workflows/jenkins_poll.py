"""The workflow a Jenkins master's poll Schedule starts every ``jenkins.polling.interval_s`` (Igor's
``JenkinsBuildMonitor``): find the builds that finished since the last poll, hand each to the trigger
matching (Echo's ``BuildEventHandler``), then move the master's cursors on.

The cursors move only after every event was handled, as Igor commits its delta after posting: a poll
that dies half-way sends its events again next time, and the store's trigger-event claims make sure no
pipeline starts twice for one build.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from core.messages.jenkins_poll import (
    POLL_JENKINS_MASTER,
    SAVE_JENKINS_CURSORS,
    TRIGGER_JENKINS_BUILD,
    PollJenkinsMasterInput,
    PollJenkinsMasterResult,
    SaveJenkinsCursorsInput,
    TriggerJenkinsBuildResult,
)

from .build_poll import PollSteps, poll_builds

STEPS = PollSteps(
    source_key="master",
    label="Jenkins master",
    poll=POLL_JENKINS_MASTER,
    trigger=TRIGGER_JENKINS_BUILD,
    save=SAVE_JENKINS_CURSORS,
    poll_result=PollJenkinsMasterResult,
    trigger_result=TriggerJenkinsBuildResult,
    save_input=SaveJenkinsCursorsInput,
)


@workflow.defn(name="JenkinsPoll")
class JenkinsPollWorkflow:
    @workflow.run
    async def run(self, inp: PollJenkinsMasterInput) -> dict[str, Any]:
        return await poll_builds(STEPS, inp, inp.master)

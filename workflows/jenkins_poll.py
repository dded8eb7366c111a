"""The workflow a Jenkins master's poll Schedule starts every ``jenkins.polling.interval_s`` (Igor's
``JenkinsBuildMonitor``): find the builds that finished since the last poll, hand each to the trigger
matching (Echo's ``BuildEventHandler``), then move the master's cursors on.

The cursors move only after every event was handled, as Igor commits its delta after posting: a poll
that dies half-way sends its events again next time, and the store's trigger-event claims make sure no
pipeline starts twice for one build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

POLL_JENKINS_MASTER = "poll_jenkins_master"
TRIGGER_JENKINS_BUILD = "trigger_jenkins_build"
SAVE_JENKINS_CURSORS = "save_jenkins_cursors"
ACTIVITY_NAMES = (POLL_JENKINS_MASTER, TRIGGER_JENKINS_BUILD, SAVE_JENKINS_CURSORS)


@dataclass
class PollJenkinsMasterInput:
    master: str


@dataclass
class JenkinsBuildEvent:
    """Igor's build event (``BuildContent``: the master, the job and its finished build), as Echo receives it."""

    master: str
    #: Spinnaker's job name (folders as ``folder/job/name``)
    job: str
    number: int
    result: str | None
    building: bool = False
    url: str | None = None

    @property
    def key(self) -> str:
        """The trigger-event key of this build: one execution per pipeline, however often it is seen."""
        return f"jenkins:{self.master}:{self.job}:{self.number}"


@dataclass
class PollJenkinsMasterResult:
    #: finished builds not posted before, oldest first per job
    events: list[JenkinsBuildEvent] = field(default_factory=list)
    #: job → the cursor to save once the events are handled, ``{"lastBuild": n, "posted": [numbers]}``
    cursors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: jobs that could not be read this time (logged; polled again next time)
    errors: list[str] = field(default_factory=list)


@dataclass
class TriggerJenkinsBuildResult:
    #: what became of each matching pipeline (``Launched.to_json``)
    launched: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class SaveJenkinsCursorsInput:
    master: str
    cursors: dict[str, dict[str, Any]] = field(default_factory=dict)


@workflow.defn(name="JenkinsPoll")
class JenkinsPollWorkflow:
    @workflow.run
    async def run(self, inp: PollJenkinsMasterInput) -> dict[str, Any]:
        retry = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=30))
        polled: PollJenkinsMasterResult = await workflow.execute_activity(
            POLL_JENKINS_MASTER,
            inp,
            result_type=PollJenkinsMasterResult,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=2),
            summary=f"poll Jenkins master {inp.master}",
        )
        launched: list[dict[str, Any]] = []
        for event in polled.events:
            outcome: TriggerJenkinsBuildResult = await workflow.execute_activity(
                TRIGGER_JENKINS_BUILD,
                event,
                result_type=TriggerJenkinsBuildResult,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=retry,
                summary=f"{event.job} #{event.number} {event.result}",
            )
            launched.extend(outcome.launched)
        if polled.cursors:
            await workflow.execute_activity(
                SAVE_JENKINS_CURSORS,
                SaveJenkinsCursorsInput(inp.master, polled.cursors),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=retry,
                summary=f"save {len(polled.cursors)} cursors",
            )
        return {
            "master": inp.master,
            "builds": [f"{e.job} #{e.number} {e.result}" for e in polled.events],
            "launched": launched,
            "errors": polled.errors,
        }

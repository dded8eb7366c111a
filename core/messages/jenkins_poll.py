"""A Jenkins master's poll (``workflows/jenkins_poll.py``): its activities' names, inputs and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

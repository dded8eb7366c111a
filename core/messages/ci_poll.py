"""A build service's poll (``workflows/ci_poll.py``, Igor's Travis/GitLab/GitHub build monitors): its
activities' names, inputs and results. Jenkins keeps its own (``jenkins_poll.py``): its masters are polled by
job tree, these by the service's build lists, but both move the same cursors by the same rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

POLL_BUILD_SERVICE = "poll_build_service"
TRIGGER_CI_BUILD = "trigger_ci_build"
SAVE_CI_CURSORS = "save_ci_cursors"
ACTIVITY_NAMES = (POLL_BUILD_SERVICE, TRIGGER_CI_BUILD, SAVE_CI_CURSORS)


@dataclass
class PollBuildServiceInput:
    service: str


@dataclass
class CiBuildEvent:
    """Igor's ``GenericBuildEvent``: a finished build of a job on a build service, as Echo receives it."""

    service: str
    #: the trigger type it fires: ``travis``, ``github-actions``, ``gitlab-ci``
    type: str
    #: the job the cursor is kept for (a Travis repository slug, a workflow, a GitLab project)
    job: str
    number: int
    build_id: str
    result: str | None
    #: every job name a trigger may use for this build (Travis: ``owner/repo`` and ``owner/repo/<branch>``)
    names: list[str] = field(default_factory=list)
    building: bool = False
    url: str | None = None
    branch: str | None = None

    @property
    def key(self) -> str:
        """The trigger-event key of this build: one execution per pipeline, however often it is seen."""
        return f"{self.type}:{self.service}:{self.job}:{self.number}"


@dataclass
class PollBuildServiceResult:
    #: finished builds not posted before, oldest first per job
    events: list[CiBuildEvent] = field(default_factory=list)
    #: job → the cursor to save once the events are handled, ``{"lastBuild": n, "posted": [numbers]}``
    cursors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: jobs that could not be read this time (logged; polled again next time)
    errors: list[str] = field(default_factory=list)


@dataclass
class TriggerCiBuildResult:
    launched: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class SaveCiCursorsInput:
    service: str
    cursors: dict[str, dict[str, Any]] = field(default_factory=dict)

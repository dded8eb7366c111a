"""Echo's automated triggers: cron, webhook, pipeline, git and jenkins."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from integrations.triggers.cron_calendar import compile_quartz
from integrations.triggers.cron_quartz import ECHO_TIME_ZONE, CronError

from .checks import JSON, _fail, _strings, _text
from .pipeline import Pipeline
from .trigger import BuildTrigger, Trigger, _constraints


def _check_cron(expression: Any, where: str, trigger_id: Any) -> str:
    """The engine's check (``compile_quartz``, which a pipeline save runs), after two mistakes people make
    often, explained in the SDK's words: five fields (Unix cron) and the ``?`` rule."""
    text = _text(expression, where) or ""
    parts = text.split()
    if len(parts) not in (6, 7):
        hint = " (Spinnaker uses Quartz cron: seconds first, e.g. '0 0 12 ? * MON-FRI')" if len(parts) == 5 else ""
        raise _fail(where, f"must have 6 or 7 fields, got {len(parts)} in {text!r}{hint}")
    if (parts[3] == "?") == (parts[5] == "?"):
        raise _fail(where, f"exactly one of day-of-month and day-of-week must be '?' (Quartz), got {text!r}")
    try:
        # the engine hashes Echo's H from the trigger id, as the save does (an id not yet given reads as "")
        compile_quartz(text, trigger_id=trigger_id if isinstance(trigger_id, str) else "", time_zone=ECHO_TIME_ZONE)
    except CronError as err:
        raise _fail(where, f"{err} (in {text!r})") from None
    return text


@dataclass(eq=False)
class CronTrigger(Trigger):
    """``cron``: a Quartz expression (``sec min hour day-of-month month day-of-week [year]``)."""

    TYPE: ClassVar[str] = "cron"

    cron_expression: str
    id: str | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        out: JSON = {"cronExpression": _check_cron(self.cron_expression, self._where("cron_expression"), self.id)}
        if self.id is not None:
            out["id"] = _text(self.id, self._where("id"))
        return out


@dataclass(eq=False)
class WebhookTrigger(Trigger):
    """``webhook``: fired by ``POST /webhooks/webhook/<source>`` when the payload matches the constraints."""

    TYPE: ClassVar[str] = "webhook"

    source: str
    payload_constraints: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def _fields(self) -> JSON:
        source = _text(self.source, self._where("source")) or ""
        if "/" in source:
            raise _fail(self._where("source"), f"is one URL path segment, got {source!r}")
        out: JSON = {"source": source}
        if self.payload_constraints:
            out["payloadConstraints"] = _constraints(self.payload_constraints, self._where("payload_constraints"))
        return out


_PIPELINE_STATUSES = ("successful", "failed", "canceled")


@dataclass(eq=False)
class PipelineTrigger(Trigger):
    """``pipeline``: run when another pipeline (config id, or a :class:`Pipeline` with an id) ends with ``status``."""

    TYPE: ClassVar[str] = "pipeline"

    application: str
    pipeline: str | Pipeline
    status: Sequence[str] = field(default=("successful",), kw_only=True)

    def _fields(self) -> JSON:
        target = self.pipeline
        if isinstance(target, Pipeline):
            if not target.id:
                raise _fail(self._where("pipeline"), f"Pipeline {target.name!r} has no id")
            target = target.id
        statuses = _strings(self.status, self._where("status"))
        if not statuses:
            raise _fail(self._where("status"), f"needs at least one of {list(_PIPELINE_STATUSES)}")
        for i, s in enumerate(statuses):
            if s not in _PIPELINE_STATUSES:
                raise _fail(self._where(f"status[{i}]"), f"must be one of {list(_PIPELINE_STATUSES)}, got {s!r}")
        return {
            "application": _text(self.application, self._where("application")),
            "pipeline": _text(target, self._where("pipeline")),
            "status": statuses,
        }


_GIT_SOURCES = ("github", "gitlab", "bitbucket", "stash")


@dataclass(eq=False)
class GitTrigger(Trigger):
    """``git``: a push to ``project/slug`` on ``source``; ``branch`` is a regex (empty = any branch)."""

    TYPE: ClassVar[str] = "git"

    source: str
    project: str
    slug: str
    branch: str | None = field(default=None, kw_only=True)
    secret: str | None = field(default=None, kw_only=True)
    events: Sequence[str] = field(default=(), kw_only=True)

    def _fields(self) -> JSON:
        if self.source not in _GIT_SOURCES:
            raise _fail(self._where("source"), f"must be one of {list(_GIT_SOURCES)}, got {self.source!r}")
        out: JSON = {
            "source": self.source,
            "project": _text(self.project, self._where("project")),
            "slug": _text(self.slug, self._where("slug")),
        }
        if self.branch is not None:
            if not isinstance(self.branch, str):
                raise _fail(self._where("branch"), f"must be a string (a regex), got {self.branch!r}")
            try:
                re.compile(self.branch)
            except re.error as err:
                raise _fail(self._where("branch"), f"is not a valid regex: {err}") from None
            out["branch"] = self.branch
        if self.secret is not None:
            out["secret"] = _text(self.secret, self._where("secret"))
        events = _strings(self.events, self._where("events"))
        if events:
            out["events"] = events
        return out


@dataclass(eq=False)
class JenkinsTrigger(BuildTrigger):
    """``jenkins``: a successful build of ``job`` on the Jenkins ``master`` (as Igor names it)."""

    TYPE: ClassVar[str] = "jenkins"

"""Gate's small answers: health, version, expression capabilities, cron validation, the stage types."""

from __future__ import annotations

from .base import SpinnakerDocument, SpinnakerPart


class Health(SpinnakerDocument):
    status: str


class Version(SpinnakerDocument):
    version: str


class ExpressionFunction(SpinnakerPart):
    name: str
    description: str


class ExpressionCapabilities(SpinnakerDocument):
    """The functions the expression evaluator knows, and the evaluator versions (Orca's ``v4``)."""

    functions: list[ExpressionFunction]
    spel_evaluators: list[str]


class CronValidation(SpinnakerDocument):
    """Gate's cron check: ``valid`` with a ``description``, or not with a ``message``; ``nextRuns`` (UTC) is ours."""

    valid: bool
    description: str | None = None
    message: str | None = None
    next_runs: list[str] | None = None


class StageType(SpinnakerDocument):
    """A stage type the engine runs (the UI's pipeline editor lists them): its ``type`` and the ``aliases`` it
    also answers to (Orca's ``StageDefinitionBuilder.aliases``)."""

    type: str
    aliases: list[str]

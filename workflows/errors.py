"""The engine's exception tree. Routes translate these to Gate's error shape; activities to
non-retryable ``ApplicationError``s."""

from __future__ import annotations

from core.errors import EngineError, InvalidInputError


class InvalidPipelineError(EngineError, InvalidInputError):
    """A pipeline config (or one of its stages) is malformed.

    ``field`` is the JSON path of the offending value, e.g. ``stages[2].requisiteStageRefIds``,
    so a user can find it without reading a stack trace.
    """

    def __init__(self, message: str, *, field: str | None = None, stage: str | None = None) -> None:
        self.field = field
        self.stage = stage
        where = []
        if stage:
            where.append(f"stage {stage}")
        if field:
            where.append(f"field '{field}'")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.message = message


class UnknownStageTypeError(InvalidPipelineError):
    """A stage names a type that no registered stage (or alias) provides."""


class ExpressionError(EngineError):
    """An expression could not be parsed or evaluated."""


class ExecutionFinishingError(EngineError, ValueError):
    """A restart asked of an execution that is finishing (its update validator refuses; Temporal carries the
    class name as the failure's type, which the client reads instead of the message)."""


class StageNotFinishedError(EngineError, ValueError):
    """A restart asked of a stage that has not finished (yet: readers may see it finished a moment earlier)."""

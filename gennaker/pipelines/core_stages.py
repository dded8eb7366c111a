"""Orca's core stages: wait, manual judgment, evaluate variables, check preconditions, run a pipeline."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from core import fields
from core.status import ExecutionStatus

from .checks import JSON, PipelineBuildError, _fail, _flag, _is_expression, _jsonable, _seconds, _strings, _text
from .pipeline import Pipeline
from .stage import Stage


@dataclass(eq=False)
class Wait(Stage):
    """``wait``: hold the branch ``wait_time`` seconds (int, timedelta, or an expression string)."""

    TYPE: ClassVar[str] = "wait"
    DEFAULT_NAME: ClassVar[str] = "Wait"

    wait_time: int | float | timedelta | str
    skip_wait_text: str | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        value: Any = self.wait_time
        where = self._where("wait_time")
        if isinstance(value, timedelta):
            value = _seconds(value, where)
        elif isinstance(value, str):
            if not _is_expression(value):
                number = fields.number(value)  # the engine's reading of waitTime
                if number is None:
                    raise _fail(where, f"must be seconds or an expression '${{...}}', got {value!r}")
                if number < 0:
                    raise _fail(where, f"must not be negative, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(where, f"must be seconds (int, timedelta or an expression), got {value!r}")
        elif not math.isfinite(value) or value < 0:
            raise _fail(where, f"must not be negative, got {value!r}")
        out: JSON = {"waitTime": value}
        if self.skip_wait_text is not None:
            out["skipWaitText"] = _text(self.skip_wait_text, self._where("skip_wait_text"))
        return out


@dataclass(eq=False)
class ManualJudgment(Stage):
    """``manualJudgment``: wait for a person to continue or stop; ``inputs`` are the options offered,
    ``roles`` the roles allowed to judge (``selectedStageRoles``)."""

    TYPE: ClassVar[str] = "manualJudgment"
    DEFAULT_NAME: ClassVar[str] = "Manual Judgment"

    name: str | None = "Manual Judgment"
    instructions: str | None = field(default=None, kw_only=True)
    inputs: Sequence[str] = field(default=(), kw_only=True)
    roles: Sequence[str] = field(default=(), kw_only=True)
    propagate_authentication: bool | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        out: JSON = {}
        if self.instructions is not None:
            out["instructions"] = _text(self.instructions, self._where("instructions"))
        inputs = _strings(self.inputs, self._where("inputs"))
        if len(set(inputs)) != len(inputs):
            raise self._error("inputs", f"has duplicates: {inputs}")
        out["judgmentInputs"] = [{"value": v} for v in inputs]
        roles = _strings(self.roles, self._where("roles"))
        if roles:
            out["selectedStageRoles"] = roles
        if self.propagate_authentication is not None:
            out["propagateAuthenticationContext"] = _flag(
                self.propagate_authentication, self._where("propagate_authentication")
            )
        return out

    def _notification_kind(self) -> str:
        return "manualJudgment"


@dataclass(frozen=True)
class Variable:
    """One ``evaluateVariables`` entry. ``value`` may use ``${...}`` and earlier variables."""

    key: str
    value: Any
    description: str | None = None

    def __post_init__(self) -> None:
        self.to_json(f"Variable({self.key!r})")

    def to_json(self, where: str) -> JSON:
        out: JSON = {"key": _text(self.key, f"{where}.key"), "value": _jsonable(self.value, f"{where}.value")}
        if self.description is not None:
            out["description"] = _text(self.description, f"{where}.description")
        return out


@dataclass(eq=False)
class EvaluateVariables(Stage):
    """``evaluateVariables``: a list of :class:`Variable`, or a dict ``{key: value}`` (kept in order)."""

    TYPE: ClassVar[str] = "evaluateVariables"
    DEFAULT_NAME: ClassVar[str] = "Evaluate Variables"

    variables: Sequence[Variable] | Mapping[str, Any]

    def _fields(self) -> JSON:
        where = self._where("variables")
        items: list[Any]
        if isinstance(self.variables, Mapping):
            try:
                items = [Variable(k, v) for k, v in self.variables.items()]
            except PipelineBuildError as err:
                raise _fail(where, str(err)) from None
        elif isinstance(self.variables, (str, bytes)) or not isinstance(self.variables, Iterable):
            raise _fail(where, f"must be a list of Variable or a dict, got {self.variables!r}")
        else:
            items = list(self.variables)
        if not items:
            raise _fail(where, "needs at least one variable")
        out = []
        for i, v in enumerate(items):
            if not isinstance(v, Variable):
                raise _fail(f"{where}[{i}]", f"must be a Variable, got {v!r}")
            out.append(v.to_json(f"{where}[{i}]"))
        keys = [v["key"] for v in out]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise _fail(where, f"duplicate keys: {dupes}")
        return {"variables": out}


@dataclass(frozen=True)
class Precondition:
    """A ``checkPreconditions`` entry of any type, e.g. ``Precondition("clusterSize", {...})``."""

    type: str
    context: Mapping[str, Any] = field(default_factory=dict)
    fail_pipeline: bool | None = None

    def __post_init__(self) -> None:
        self.to_json(type(self).__name__)

    def to_json(self, where: str) -> JSON:
        out: JSON = {"type": _text(self.type, f"{where}.type"), "context": self._context(where)}
        if self.fail_pipeline is not None:
            out["failPipeline"] = _flag(self.fail_pipeline, f"{where}.fail_pipeline")
        return out

    def _context(self, where: str) -> JSON:
        value = _jsonable(self.context, f"{where}.context")
        if not isinstance(value, dict):
            raise _fail(f"{where}.context", "must be a dict")
        return value


@dataclass(frozen=True)
class ExpressionPrecondition(Precondition):
    """Passes when ``expression`` (written without ``${}``) is true; ``fail_pipeline=False`` only stops the branch."""

    type: str = field(default="expression", init=False)
    context: Mapping[str, Any] = field(default_factory=dict, init=False, repr=False)
    expression: str
    failure_message: str | None = None
    fail_pipeline: bool | None = field(default=None, kw_only=True)

    def _context(self, where: str) -> JSON:
        out: JSON = {"expression": _text(self.expression, f"{where}.expression")}
        if self.failure_message is not None:
            out["failureMessage"] = _text(self.failure_message, f"{where}.failure_message")
        return out


# the engine's statuses, in Spinnaker's order
_STATUSES = tuple(status.value for status in ExecutionStatus)


@dataclass(frozen=True)
class StageStatusPrecondition(Precondition):
    """Passes when the stage named ``stage`` (a name or a stage object) has ``status`` (e.g. ``"SUCCEEDED"``)."""

    type: str = field(default="stageStatus", init=False)
    context: Mapping[str, Any] = field(default_factory=dict, init=False, repr=False)
    stage: str | Stage
    status: str = "SUCCEEDED"
    fail_pipeline: bool | None = field(default=None, kw_only=True)

    def _context(self, where: str) -> JSON:
        name = self.stage.display_name if isinstance(self.stage, Stage) else self.stage
        status = _text(self.status, f"{where}.status") or ""
        if status.upper() not in _STATUSES:
            raise _fail(f"{where}.status", f"must be one of {list(_STATUSES)}, got {self.status!r}")
        return {"stageName": _text(name, f"{where}.stage"), "stageStatus": status.upper()}


@dataclass(eq=False)
class CheckPreconditions(Stage):
    """``checkPreconditions``: all preconditions must pass (they run in parallel)."""

    TYPE: ClassVar[str] = "checkPreconditions"
    DEFAULT_NAME: ClassVar[str] = "Check Preconditions"

    preconditions: Sequence[Precondition]

    def _fields(self) -> JSON:
        where = self._where("preconditions")
        if isinstance(self.preconditions, Precondition) or not isinstance(self.preconditions, Iterable):
            raise _fail(where, f"must be a list of preconditions, got {self.preconditions!r}")
        items = list(self.preconditions)
        if not items:
            raise _fail(where, "needs at least one precondition")
        out = []
        for i, p in enumerate(items):
            if not isinstance(p, Precondition):
                raise _fail(f"{where}[{i}]", f"must be a Precondition, got {p!r}")
            out.append(p.to_json(f"{where}[{i}]"))
        return {"preconditions": out}


@dataclass(eq=False)
class RunPipeline(Stage):
    """``pipeline``: run another pipeline (by config id, or a :class:`Pipeline` with an ``id``)."""

    TYPE: ClassVar[str] = "pipeline"
    DEFAULT_NAME: ClassVar[str] = "Pipeline"

    application: str
    pipeline: str | Pipeline
    parameters: Mapping[str, Any] = field(default_factory=dict, kw_only=True)
    wait_for_completion: bool = field(default=True, kw_only=True)

    def _fields(self) -> JSON:
        target = self.pipeline
        if isinstance(target, Pipeline):
            if not target.id:
                raise self._error("pipeline", f"Pipeline {target.name!r} has no id; give it id=... or pass the id")
            target = target.id
        out: JSON = {
            "application": _text(self.application, self._where("application")),
            "pipeline": _text(target, self._where("pipeline")),
        }
        if not isinstance(self.parameters, Mapping):
            raise self._error("parameters", f"must be a dict, got {self.parameters!r}")
        out["pipelineParameters"] = _jsonable(self.parameters, self._where("parameters"))
        out["waitForCompletion"] = _flag(self.wait_for_completion, self._where("wait_for_completion"))
        return out

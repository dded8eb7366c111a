"""Pipelines as Python: typed builders that write Spinnaker pipeline JSON, as Deck would.

::

    from gennaker.pipelines import Pipeline, Parameter, CronTrigger, Wait, ManualJudgment

    p = Pipeline(
        "deploy",
        application="demo",
        parameters=[Parameter("env", default="staging", options=["staging", "prod"], required=True)],
        triggers=[CronTrigger("0 0 12 ? * MON-FRI")],
        stages=[Wait(30, name="Settle"), ManualJudgment("Approve", inputs=["ship", "hold"])],
    )
    p.to_json()  # a dict, ready for json.dumps / the API / `gennaker run`

Layout: the entries of ``stages=[...]`` run one after the other. ``Parallel(a, b, ...)`` runs its
branches side by side (a branch is a stage or a list of stages) and the entry after it waits for
all of them. A stage given ``after=[...]`` depends on exactly those stages instead (``after=[]``
makes it a root), wherever it sits in the list. refIds are ``"1"``, ``"2"``, ... in list order.

Every builder checks its fields when it is created and raises :class:`PipelineBuildError` naming
the field; :meth:`Pipeline.to_json` checks the layout (unknown ``after`` targets, a stage object
used twice, cycles). This module deliberately imports nothing from ``workflows`` (or Temporal).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from enum import Enum, IntEnum
from typing import Any, ClassVar

__all__ = [
    "CheckPreconditions",
    "CronTrigger",
    "Day",
    "EvaluateVariables",
    "ExecutionWindow",
    "ExpressionPrecondition",
    "FailureOption",
    "GitTrigger",
    "JenkinsTrigger",
    "Jitter",
    "ManualJudgment",
    "Notification",
    "Parallel",
    "Parameter",
    "Pipeline",
    "PipelineBuildError",
    "PipelineTrigger",
    "Precondition",
    "RunPipeline",
    "Stage",
    "StageStatusPrecondition",
    "TimeWindow",
    "Trigger",
    "Variable",
    "WEEKDAYS",
    "WEEKEND",
    "Wait",
    "Webhook",
    "WebhookTrigger",
    "expr",
]

JSON = dict[str, Any]


class PipelineBuildError(ValueError):
    """A builder was given something Spinnaker would not accept; the message names the field."""


# --------------------------------------------------------------------------------------------
# small helpers


def expr(expression: str) -> str:
    """Wrap a bare pipeline expression: ``expr("parameters.env")`` -> ``"${parameters.env}"``."""
    if not isinstance(expression, str) or not expression.strip():
        raise PipelineBuildError(f"expr() needs a non-empty expression string, got {expression!r}")
    if "${" in expression:
        raise PipelineBuildError(f"expr() wraps a bare expression; {expression!r} already contains '${{'")
    return "${" + expression.strip() + "}"


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _fail(where: str, message: str) -> PipelineBuildError:
    return PipelineBuildError(f"{where}: {message}")


def _jsonable(value: Any, where: str) -> Any:
    """A deep copy of ``value`` made of JSON types only (tuples become lists); refuses anything else."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(where, f"must be a finite number, got {value!r}")
        return value
    if isinstance(value, Mapping):
        out: JSON = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _fail(where, f"keys must be strings, got {key!r}")
            out[key] = _jsonable(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise _fail(where, f"must be JSON data (dict, list, str, number, bool, None), got {type(value).__name__}")


def _text(value: Any, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"must be a non-empty string, got {value!r}")
    return value


def _strings(values: Any, where: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise _fail(where, f"must be a list of strings, got {values!r}")
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, str) or not v.strip():
            raise _fail(f"{where}[{i}]", f"must be a non-empty string, got {v!r}")
        out.append(v)
    return out


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"must be True or False, got {value!r}")
    return value


def _seconds(value: Any, where: str) -> int:
    """Whole, non-negative seconds from an int or a timedelta."""
    if isinstance(value, timedelta):
        total = value.total_seconds()
        if total != int(total):
            raise _fail(where, f"must be whole seconds, got {value!r}")
        value = int(total)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"must be whole seconds (an int or a timedelta), got {value!r}")
    if value < 0:
        raise _fail(where, f"must not be negative, got {value!r}")
    return value


def _status_codes(values: Any, where: str) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise _fail(where, f"must be a list of HTTP status codes, got {values!r}")
    out = []
    for i, code in enumerate(values):
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise _fail(f"{where}[{i}]", f"must be an HTTP status code (100-599), got {code!r}")
        out.append(code)
    return out


def _merge_extra(out: JSON, extra: Mapping[str, Any] | None, where: str, reserved: Iterable[str]) -> None:
    if not extra:
        return
    if not isinstance(extra, Mapping):
        raise _fail(where, f"must be a dict, got {type(extra).__name__}")
    for key in extra:
        if key in reserved:
            raise _fail(f"{where}.{key}", "is set by the builder and cannot be overridden")
    out.update(_jsonable(dict(extra), where))


# --------------------------------------------------------------------------------------------
# failure options, windows, notifications


class FailureOption(Enum):
    """Deck's "If stage fails" choices (``OverrideFailure.tsx``) and the three flags each one writes."""

    #: halt the entire pipeline (Spinnaker's default)
    HALT_PIPELINE = "fail"
    #: halt this branch of the pipeline
    HALT_BRANCH = "stop"
    #: halt this branch and fail the pipeline once other branches complete
    HALT_BRANCH_FAIL_PIPELINE = "faileventual"
    #: ignore the failure (stage ends FAILED_CONTINUE, downstream runs)
    IGNORE = "ignore"

    def to_json(self) -> JSON:
        fail_pipeline, continue_pipeline, complete_then_fail = _FAILURE_FLAGS[self]
        return {
            "failPipeline": fail_pipeline,
            "continuePipeline": continue_pipeline,
            "completeOtherBranchesThenFail": complete_then_fail,
        }


_FAILURE_FLAGS: dict[FailureOption, tuple[bool, bool, bool]] = {
    FailureOption.HALT_PIPELINE: (True, False, False),
    FailureOption.HALT_BRANCH: (False, False, False),
    FailureOption.HALT_BRANCH_FAIL_PIPELINE: (False, False, True),
    FailureOption.IGNORE: (False, True, False),
}


class Day(IntEnum):
    """Days as Spinnaker numbers them (``java.util.Calendar``): 1 = Sunday ... 7 = Saturday."""

    SUNDAY = 1
    MONDAY = 2
    TUESDAY = 3
    WEDNESDAY = 4
    THURSDAY = 5
    FRIDAY = 6
    SATURDAY = 7


#: Deck's "Weekdays" and "Weekend" buttons.
WEEKDAYS: tuple[Day, ...] = (Day.MONDAY, Day.TUESDAY, Day.WEDNESDAY, Day.THURSDAY, Day.FRIDAY)
WEEKEND: tuple[Day, ...] = (Day.SUNDAY, Day.SATURDAY)

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _clock(value: Any, where: str) -> tuple[int, int]:
    if isinstance(value, time):
        if value.second or value.microsecond:
            raise _fail(where, f"must be a whole minute, got {value!r}")
        return value.hour, value.minute
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 23:
            raise _fail(where, f"hour must be between 0 and 23, got {value}")
        return value, 0
    if isinstance(value, str):
        m = _HHMM.match(value.strip())
        if m:
            hour, minute = int(m.group(1)), int(m.group(2))
            if hour > 23 or minute > 59:
                raise _fail(where, f"must be a time between 00:00 and 23:59, got {value!r}")
            return hour, minute
    raise _fail(where, f"must be 'HH:MM', a datetime.time or an hour (0-23), got {value!r}")


@dataclass(frozen=True)
class TimeWindow:
    """A daily window, both ends included at minute precision. ``TimeWindow("22:00", "05:00")`` runs overnight."""

    start: str | time | int
    end: str | time | int

    def __post_init__(self) -> None:
        self.to_json()

    def to_json(self) -> JSON:
        start_hour, start_min = _clock(self.start, "TimeWindow.start")
        end_hour, end_min = _clock(self.end, "TimeWindow.end")
        return {"startHour": start_hour, "startMin": start_min, "endHour": end_hour, "endMin": end_min}


@dataclass(frozen=True)
class Jitter:
    """A random extra wait (whole seconds in ``[min_delay, max_delay]``) once the window opens."""

    min_delay: int | timedelta = 0
    max_delay: int | timedelta = 600
    skip_manual: bool = False

    def __post_init__(self) -> None:
        self.to_json()

    def to_json(self) -> JSON:
        low = _seconds(self.min_delay, "Jitter.min_delay")
        high = _seconds(self.max_delay, "Jitter.max_delay")
        if low > high:
            raise _fail("Jitter.min_delay", f"must not exceed max_delay ({low} > {high})")
        return {
            "enabled": True,
            "minDelay": low,
            "maxDelay": high,
            "skipManual": _flag(self.skip_manual, "Jitter.skip_manual"),
        }


@dataclass(frozen=True)
class ExecutionWindow:
    """Deck's "Restrict execution to specific time windows": allowed times of day and days.

    ``days`` use Spinnaker's numbers (:class:`Day`; 1 = Sunday); empty means every day. Empty
    ``windows`` means all day (on the allowed days). The time zone is the server's
    (``GENNAKER_EXECUTION_WINDOW_TIMEZONE``), not part of the pipeline.
    """

    windows: Sequence[TimeWindow] = ()
    days: Sequence[int] = ()
    jitter: Jitter | None = None
    skip_window_text: str | None = None

    def __post_init__(self) -> None:
        self.to_json()

    def to_json(self) -> JSON:
        if isinstance(self.windows, TimeWindow):
            raise _fail("ExecutionWindow.windows", "must be a list of TimeWindow, got a single TimeWindow")
        whitelist = []
        for i, w in enumerate(self.windows):
            if not isinstance(w, TimeWindow):
                raise _fail(f"ExecutionWindow.windows[{i}]", f"must be a TimeWindow, got {w!r}")
            whitelist.append(w.to_json())
        days: set[int] = set()
        for i, d in enumerate(self.days):
            if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7:
                raise _fail(f"ExecutionWindow.days[{i}]", f"must be a day 1-7 (1 = Sunday, see Day), got {d!r}")
            days.add(int(d))
        if not whitelist and not days:
            raise _fail("ExecutionWindow", "restricts nothing: give at least one of windows or days")
        window: JSON = {"whitelist": whitelist}
        if days:
            window["days"] = sorted(days)
        if self.jitter is not None:
            if not isinstance(self.jitter, Jitter):
                raise _fail("ExecutionWindow.jitter", f"must be a Jitter, got {self.jitter!r}")
            window["jitter"] = self.jitter.to_json()
        out: JSON = {"restrictExecutionDuringTimeWindow": True, "restrictedExecutionWindow": window}
        if self.skip_window_text is not None:
            out["skipWindowText"] = _text(self.skip_window_text, "ExecutionWindow.skip_window_text")
        return out


_WHEN: dict[str, tuple[str, ...]] = {
    "pipeline": ("pipeline.starting", "pipeline.complete", "pipeline.failed"),
    "stage": ("stage.starting", "stage.complete", "stage.failed"),
    "manualJudgment": (
        "stage.starting",
        "stage.complete",
        "stage.failed",
        "manualJudgment",
        "manualJudgmentContinue",
        "manualJudgmentStop",
    ),
}


@dataclass(frozen=True)
class Notification:
    """One ``notifications[]`` entry (Echo): where to send, and on which events.

    ``when`` takes Spinnaker's event names: ``pipeline.starting|complete|failed`` on a pipeline,
    ``stage.starting|complete|failed`` on a stage, plus ``manualJudgment``, ``manualJudgmentContinue``,
    ``manualJudgmentStop`` on a manual judgment. ``message`` maps an event to custom text.
    ``level`` is filled in from where the notification is used.
    """

    type: str
    address: str
    when: Sequence[str]
    message: Mapping[str, str] | None = None
    cc: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _text(self.type, "Notification.type")
        _text(self.address, "Notification.address")
        _strings(self.when, "Notification.when")
        if not self.when:
            raise _fail("Notification.when", "needs at least one event")

    def to_json(self, level: str = "pipeline", allowed: str | None = None) -> JSON:
        where = "Notification"
        events = _strings(self.when, f"{where}.when")
        known = _WHEN[allowed or level]
        for i, event in enumerate(events):
            if event not in known:
                raise _fail(f"{where}.when[{i}]", f"{event!r} is not a {level}-level event; use one of {list(known)}")
        out: JSON = {"type": self.type, "address": self.address, "level": level, "when": events}
        if self.cc is not None:
            out["cc"] = _text(self.cc, f"{where}.cc")
        if self.message:
            messages: JSON = {}
            for event, text in self.message.items():
                if event not in events:
                    raise _fail(f"{where}.message.{event}", f"is not one of the events in when ({events})")
                messages[event] = {"text": _text(text, f"{where}.message.{event}")}
            out["message"] = messages
        _merge_extra(out, self.extra, f"{where}.extra", ("type", "level", "when"))
        return out


def _notifications(items: Any, where: str, level: str, allowed: str | None = None) -> list[JSON]:
    if isinstance(items, Notification) or not isinstance(items, Iterable):
        raise _fail(where, f"must be a list of Notification, got {items!r}")
    out = []
    for i, n in enumerate(items):
        if not isinstance(n, Notification):
            raise _fail(f"{where}[{i}]", f"must be a Notification, got {n!r}")
        try:
            out.append(n.to_json(level, allowed))
        except PipelineBuildError as err:
            raise PipelineBuildError(f"{where}[{i}]: {err}") from None
    return out


# --------------------------------------------------------------------------------------------
# stages

_RESERVED_STAGE_KEYS = ("refId", "requisiteStageRefIds", "type")


@dataclass(eq=False, init=False)
class Stage:
    """A stage. ``Stage("deployManifest", name="Deploy", account="k8s", ...)`` writes any stage type:
    extra keywords become stage fields verbatim (Spinnaker spelling). The typed builders
    (:class:`Wait`, :class:`ManualJudgment`, ...) subclass it and share the common fields:

    * ``name``: display name (defaults to Deck's name for the type);
    * ``after``: the stages this one waits for (``[]`` = a root); ``None`` = the previous entry of
      the list it sits in;
    * ``fail``: a :class:`FailureOption`; ``None`` writes nothing (Spinnaker then halts the pipeline);
    * ``enabled_if``: a condition, written without ``${}``; the stage is skipped when it is false;
    * ``timeout``: overrides the stage timeout;
    * ``window``: an :class:`ExecutionWindow`;
    * ``notifications``: stage notifications (``sendNotifications`` is set for you);
    * ``comments``: text shown in the execution;
    * ``extra``: any other stage keys, merged last.

    Stages compare by identity: one object is one stage (two stages may share a name).
    """

    TYPE: ClassVar[str] = ""
    DEFAULT_NAME: ClassVar[str] = ""

    name: str | None = field(default=None, kw_only=True)
    after: Stage | Sequence[Stage] | None = field(default=None, kw_only=True, repr=False)
    fail: FailureOption | None = field(default=None, kw_only=True)
    enabled_if: str | None = field(default=None, kw_only=True)
    timeout: timedelta | None = field(default=None, kw_only=True)
    window: ExecutionWindow | None = field(default=None, kw_only=True)
    notifications: Sequence[Notification] = field(default=(), kw_only=True)
    comments: str | None = field(default=None, kw_only=True)
    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True)

    def __init__(
        self,
        type: str,
        /,
        *,
        name: str | None = None,
        after: Stage | Sequence[Stage] | None = None,
        fail: FailureOption | None = None,
        enabled_if: str | None = None,
        timeout: timedelta | None = None,
        window: ExecutionWindow | None = None,
        notifications: Sequence[Notification] = (),
        comments: str | None = None,
        extra: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        self._type = _text(type, "Stage.type")
        self.fields: JSON = dict(fields)
        self.name = name
        self.after = after
        self.fail = fail
        self.enabled_if = enabled_if
        self.timeout = timeout
        self.window = window
        self.notifications = notifications
        self.comments = comments
        self.extra = dict(extra or {})
        self.__post_init__()

    def __repr__(self) -> str:
        if type(self) is Stage:
            return f"Stage({self._type!r}, name={self.name!r}, fields={self.fields!r})"
        return f"{type(self).__name__}(name={self.display_name!r})"

    def __post_init__(self) -> None:
        # check everything now, so that a mistake is reported where the stage is written
        self._render()

    # -- what subclasses provide

    @property
    def stage_type(self) -> str:
        """The Spinnaker ``type`` this stage writes."""
        return getattr(self, "_type", None) or self.TYPE

    @property
    def display_name(self) -> str:
        return self.name if self.name is not None else (self.DEFAULT_NAME or self.stage_type)

    def _fields(self) -> JSON:
        """The type-specific fields (validated). The generic stage writes its keywords verbatim."""
        for key in self.fields:
            if key in _RESERVED_STAGE_KEYS:
                raise self._error(key, "is set by the builder; use name=/after= or a builder for the type")
        return _jsonable(self.fields, self._where("fields"))

    # -- rendering

    def _where(self, attr: str | None = None) -> str:
        label = f"{type(self).__name__}({self.display_name!r})"
        return f"{label}.{attr}" if attr else label

    def _error(self, attr: str, message: str) -> PipelineBuildError:
        return _fail(self._where(attr), message)

    def _after_list(self) -> list[Stage] | None:
        if self.after is None:
            return None
        items: Sequence[Any] = [self.after] if isinstance(self.after, Stage) else self.after
        if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            raise self._error("after", f"must be a list of stages, got {self.after!r}")
        out = []
        for i, s in enumerate(items):
            if not isinstance(s, Stage):
                raise self._error(f"after[{i}]", f"must be a stage object, got {s!r}")
            out.append(s)
        return out

    def _render(self) -> JSON:
        out: JSON = {"type": self.stage_type, "name": _text(self.display_name, self._where("name"))}
        out.update(self._fields())
        out.update(self._common())
        _merge_extra(out, self.extra, self._where("extra"), _RESERVED_STAGE_KEYS + ("name",))
        return out

    def _common(self) -> JSON:
        out: JSON = {}
        self._after_list()
        if self.fail is not None:
            if not isinstance(self.fail, FailureOption):
                raise self._error("fail", f"must be a FailureOption, got {self.fail!r}")
            out.update(self.fail.to_json())
        if self.enabled_if is not None:
            condition = _text(self.enabled_if, self._where("enabled_if"))
            out["stageEnabled"] = {"type": "expression", "expression": condition}
        if self.timeout is not None:
            if not isinstance(self.timeout, timedelta) or self.timeout <= timedelta():
                raise self._error("timeout", f"must be a positive timedelta, got {self.timeout!r}")
            ms = self.timeout // timedelta(milliseconds=1)
            out["stageTimeoutMs"] = ms
            out["overrideTimeout"] = True
        if self.window is not None:
            if not isinstance(self.window, ExecutionWindow):
                raise self._error("window", f"must be an ExecutionWindow, got {self.window!r}")
            try:
                out.update(self.window.to_json())
            except PipelineBuildError as err:
                raise self._error("window", str(err)) from None
        notes = _notifications(self.notifications, self._where("notifications"), "stage", self._notification_kind())
        if notes:
            out["notifications"] = notes
            out["sendNotifications"] = True
        if self.comments is not None:
            out["comments"] = _text(self.comments, self._where("comments"))
        return out

    def _notification_kind(self) -> str:
        return "stage"


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
                try:
                    number = float(value)
                except ValueError:
                    raise _fail(where, f"must be seconds or an expression '${{...}}', got {value!r}") from None
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


_STATUSES = (
    "NOT_STARTED",
    "RUNNING",
    "PAUSED",
    "SUSPENDED",
    "SUCCEEDED",
    "FAILED_CONTINUE",
    "TERMINAL",
    "CANCELED",
    "REDIRECT",
    "STOPPED",
    "SKIPPED",
    "BUFFERED",
)


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


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
_RESOLUTIONS = ("getMethod", "locationHeader", "webhookResponse")


@dataclass(eq=False)
class Webhook(Stage):
    """``webhook``: call ``url``; with ``wait_for_completion``, poll a status URL (see docs/stages/webhook.md).

    Status lists (``success_statuses`` ...) take a list of words or Spinnaker's comma-separated
    string. ``retries`` maps a status code to its maximum polling attempts.
    """

    TYPE: ClassVar[str] = "webhook"
    DEFAULT_NAME: ClassVar[str] = "Webhook"

    url: str
    method: str = field(default="POST", kw_only=True)
    payload: Any = field(default=None, kw_only=True)
    headers: Mapping[str, str | Sequence[str]] | None = field(default=None, kw_only=True)
    fail_fast_status_codes: Sequence[int] | None = field(default=None, kw_only=True)
    webhook_retry_status_codes: Sequence[int] | None = field(default=None, kw_only=True)
    wait_for_completion: bool = field(default=False, kw_only=True)
    status_url_resolution: str | None = field(default=None, kw_only=True)
    status_url_json_path: str | None = field(default=None, kw_only=True)
    status_json_path: str | None = field(default=None, kw_only=True)
    progress_json_path: str | None = field(default=None, kw_only=True)
    success_statuses: str | Sequence[str] | None = field(default=None, kw_only=True)
    canceled_statuses: str | Sequence[str] | None = field(default=None, kw_only=True)
    terminal_statuses: str | Sequence[str] | None = field(default=None, kw_only=True)
    retry_status_codes: Sequence[int] | None = field(default=None, kw_only=True)
    retries: Mapping[int, int] | None = field(default=None, kw_only=True)
    wait_before_monitor: int | timedelta | None = field(default=None, kw_only=True)
    monitor_only: bool = field(default=False, kw_only=True)
    status_endpoint: str | None = field(default=None, kw_only=True)
    cancel_endpoint: str | None = field(default=None, kw_only=True)
    cancel_method: str | None = field(default=None, kw_only=True)
    cancel_payload: Any = field(default=None, kw_only=True)

    _MONITOR_FIELDS: ClassVar[tuple[str, ...]] = (
        "status_url_resolution",
        "status_url_json_path",
        "status_json_path",
        "progress_json_path",
        "success_statuses",
        "canceled_statuses",
        "terminal_statuses",
        "retry_status_codes",
        "retries",
        "wait_before_monitor",
        "status_endpoint",
    )

    def _url(self, value: Any, attr: str) -> str:
        url = _text(value, self._where(attr)) or ""
        if not _is_expression(url) and not re.match(r"^https?://[^/\s]+", url, re.IGNORECASE):
            raise self._error(attr, f"must be an http(s) URL or an expression, got {url!r}")
        return url

    def _method(self, value: Any, attr: str) -> str:
        if not isinstance(value, str) or value.upper() not in _METHODS:
            raise self._error(attr, f"must be one of {list(_METHODS)}, got {value!r}")
        return value.upper()

    def _statuses(self, value: Any, attr: str) -> str:
        words = value.split(",") if isinstance(value, str) else _strings(value, self._where(attr))
        words = [w.strip() for w in words if w.strip()]
        if not words:
            raise self._error(attr, "needs at least one status word")
        return ",".join(words)

    def _fields(self) -> JSON:
        out: JSON = {"url": self._url(self.url, "url"), "method": self._method(self.method, "method")}
        if self.payload is not None:
            out["payload"] = _jsonable(self.payload, self._where("payload"))
        if self.headers is not None:
            if not isinstance(self.headers, Mapping):
                raise self._error("headers", f"must be a dict of header -> value, got {self.headers!r}")
            for key, v in self.headers.items():
                if isinstance(v, str):
                    continue
                _strings(v, self._where(f"headers.{key}"))
            out["customHeaders"] = _jsonable(self.headers, self._where("headers"))
        if self.fail_fast_status_codes is not None:
            out["failFastStatusCodes"] = _status_codes(
                self.fail_fast_status_codes, self._where("fail_fast_status_codes")
            )
        if self.webhook_retry_status_codes is not None:
            out["webhookRetryStatusCodes"] = _status_codes(
                self.webhook_retry_status_codes, self._where("webhook_retry_status_codes")
            )
        wait = _flag(self.wait_for_completion, self._where("wait_for_completion"))
        out["waitForCompletion"] = wait
        if not wait:
            for attr in self._MONITOR_FIELDS:
                if getattr(self, attr) is not None:
                    raise self._error(attr, "only applies with wait_for_completion=True")
            if self.monitor_only:
                raise self._error("monitor_only", "needs wait_for_completion=True (Orca refuses the combination)")
        else:
            out.update(self._monitor_fields())
        if self.cancel_endpoint is not None:
            out["cancelEndpoint"] = self._url(self.cancel_endpoint, "cancel_endpoint")
            out["cancelMethod"] = self._method(self.cancel_method or "POST", "cancel_method")
            if self.cancel_payload is not None:
                out["cancelPayload"] = _jsonable(self.cancel_payload, self._where("cancel_payload"))
        elif self.cancel_method is not None or self.cancel_payload is not None:
            attr = "cancel_method" if self.cancel_method is not None else "cancel_payload"
            raise self._error(attr, "only applies with cancel_endpoint")
        return out

    def _monitor_fields(self) -> JSON:
        out: JSON = {}
        resolution = self.status_url_resolution or "getMethod"
        if resolution not in _RESOLUTIONS:
            raise self._error("status_url_resolution", f"must be one of {list(_RESOLUTIONS)}, got {resolution!r}")
        out["statusUrlResolution"] = resolution
        if resolution == "webhookResponse":
            out["statusUrlJsonPath"] = _text(
                self.status_url_json_path, self._where("status_url_json_path (needed by webhookResponse)")
            )
        elif self.status_url_json_path is not None:
            raise self._error("status_url_json_path", "only applies with status_url_resolution='webhookResponse'")
        for attr, key in (("status_json_path", "statusJsonPath"), ("progress_json_path", "progressJsonPath")):
            value = getattr(self, attr)
            if value is not None:
                out[key] = _text(value, self._where(attr))
        for attr, key in (
            ("success_statuses", "successStatuses"),
            ("canceled_statuses", "canceledStatuses"),
            ("terminal_statuses", "terminalStatuses"),
        ):
            value = getattr(self, attr)
            if value is not None:
                out[key] = self._statuses(value, attr)
        if self.retry_status_codes is not None:
            out["retryStatusCodes"] = _status_codes(self.retry_status_codes, self._where("retry_status_codes"))
        if self.retries is not None:
            if not isinstance(self.retries, Mapping):
                raise self._error("retries", f"must be a dict of status code -> max attempts, got {self.retries!r}")
            retries: JSON = {}
            for code, attempts in self.retries.items():
                _status_codes([code], self._where("retries"))
                if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
                    raise self._error(f"retries[{code}]", f"must be a positive number of attempts, got {attempts!r}")
                retries[str(code)] = {"maxAttempts": attempts}
            out["retries"] = retries
        if self.wait_before_monitor is not None:
            out["waitBeforeMonitor"] = _seconds(self.wait_before_monitor, self._where("wait_before_monitor"))
        if self.monitor_only:
            out["monitorOnly"] = True
        if self.status_endpoint is not None:
            if not self.monitor_only:
                raise self._error("status_endpoint", "only applies with monitor_only=True")
            out["statusEndpoint"] = self._url(self.status_endpoint, "status_endpoint")
        return out


class Parallel:
    """Branches that run side by side: ``Parallel(a, [b, c])`` runs ``a`` and the chain ``b -> c``
    at once, both after the entry before the ``Parallel``; the entry after it waits for ``a`` and ``c``.
    A branch may itself hold a ``Parallel``."""

    def __init__(self, *branches: Stage | Parallel | Sequence[Stage | Parallel]) -> None:
        if not branches:
            raise PipelineBuildError("Parallel: needs at least one branch")
        self.branches = branches

    def __repr__(self) -> str:
        return f"Parallel({', '.join(map(repr, self.branches))})"


# --------------------------------------------------------------------------------------------
# triggers


@dataclass(eq=False, init=False)
class Trigger:
    """An automated trigger. ``Trigger("docker", account=..., repository=...)`` writes any type
    (keywords verbatim, Spinnaker spelling); typed ones subclass it. Common fields: ``enabled``,
    ``run_as_user`` (service account), ``description``, ``expected_artifact_ids``, ``extra``."""

    TYPE: ClassVar[str] = ""

    enabled: bool = field(default=True, kw_only=True)
    run_as_user: str | None = field(default=None, kw_only=True)
    description: str | None = field(default=None, kw_only=True)
    expected_artifact_ids: Sequence[str] = field(default=(), kw_only=True)
    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True)

    def __init__(
        self,
        type: str,
        /,
        *,
        enabled: bool = True,
        run_as_user: str | None = None,
        description: str | None = None,
        expected_artifact_ids: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        self._type = _text(type, "Trigger.type")
        self.fields: JSON = dict(fields)
        self.enabled = enabled
        self.run_as_user = run_as_user
        self.description = description
        self.expected_artifact_ids = expected_artifact_ids
        self.extra = dict(extra or {})
        self.__post_init__()

    def __post_init__(self) -> None:
        self.to_json()

    @property
    def trigger_type(self) -> str:
        return getattr(self, "_type", None) or self.TYPE

    def _where(self, attr: str) -> str:
        return f"{type(self).__name__}({self.trigger_type!r}).{attr}"

    def _fields(self) -> JSON:
        if "type" in self.fields:
            raise _fail(self._where("type"), "is the first argument")
        return _jsonable(self.fields, self._where("fields"))

    def to_json(self) -> JSON:
        out: JSON = {"type": self.trigger_type, "enabled": _flag(self.enabled, self._where("enabled"))}
        out.update(self._fields())
        if self.run_as_user is not None:
            out["runAsUser"] = _text(self.run_as_user, self._where("run_as_user"))
        if self.description is not None:
            out["description"] = _text(self.description, self._where("description"))
        ids = _strings(self.expected_artifact_ids, self._where("expected_artifact_ids"))
        if ids:
            out["expectedArtifactIds"] = ids
        _merge_extra(out, self.extra, self._where("extra"), ("type",))
        return out


def _check_cron(expression: Any, where: str) -> str:
    text = _text(expression, where) or ""
    parts = text.split()
    if len(parts) not in (6, 7):
        hint = " (Spinnaker uses Quartz cron: seconds first, e.g. '0 0 12 ? * MON-FRI')" if len(parts) == 5 else ""
        raise _fail(where, f"must have 6 or 7 fields, got {len(parts)} in {text!r}{hint}")
    if (parts[3] == "?") == (parts[5] == "?"):
        raise _fail(where, f"exactly one of day-of-month and day-of-week must be '?' (Quartz), got {text!r}")
    return text


@dataclass(eq=False)
class CronTrigger(Trigger):
    """``cron``: a Quartz expression (``sec min hour day-of-month month day-of-week [year]``)."""

    TYPE: ClassVar[str] = "cron"

    cron_expression: str
    id: str | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        out: JSON = {"cronExpression": _check_cron(self.cron_expression, self._where("cron_expression"))}
        if self.id is not None:
            out["id"] = _text(self.id, self._where("id"))
        return out


def _constraints(value: Any, where: str) -> JSON:
    if not isinstance(value, Mapping):
        raise _fail(where, f"must be a dict of key -> regex, got {value!r}")
    for key, pattern in value.items():
        _text(key, f"{where} key")
        _text(pattern, f"{where}.{key}")
    return dict(value)


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
class JenkinsTrigger(Trigger):
    """``jenkins``: a successful build of ``job`` on the Jenkins ``master`` (as Igor names it)."""

    TYPE: ClassVar[str] = "jenkins"

    master: str
    job: str
    property_file: str | None = field(default=None, kw_only=True)
    payload_constraints: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def _fields(self) -> JSON:
        out: JSON = {"master": _text(self.master, self._where("master")), "job": _text(self.job, self._where("job"))}
        if self.property_file is not None:
            out["propertyFile"] = _text(self.property_file, self._where("property_file"))
        if self.payload_constraints:
            out["payloadConstraints"] = _constraints(self.payload_constraints, self._where("payload_constraints"))
        return out


# --------------------------------------------------------------------------------------------
# parameters and the pipeline


@dataclass(frozen=True)
class Parameter:
    """A ``parameterConfig`` entry; its value is ``${parameters.<name>}`` in expressions."""

    name: str
    default: str | None = None
    required: bool = False
    label: str | None = None
    description: str | None = None
    options: Sequence[str] | None = None
    pinned: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.to_json()

    def to_json(self) -> JSON:
        where = f"Parameter({self.name!r})"
        out: JSON = {"name": _text(self.name, f"{where}.name")}
        for attr in ("label", "description"):
            value = getattr(self, attr)
            if value is not None:
                if not isinstance(value, str):
                    raise _fail(f"{where}.{attr}", f"must be a string, got {value!r}")
                out[attr] = value
        if self.default is not None:
            if not isinstance(self.default, str):
                raise _fail(
                    f"{where}.default", f"must be a string (Spinnaker parameters are text), got {self.default!r}"
                )
            out["default"] = self.default
        out["required"] = _flag(self.required, f"{where}.required")
        if self.options is not None:
            options = _strings(self.options, f"{where}.options")
            if not options:
                raise _fail(f"{where}.options", "is empty; leave it out for a free-text parameter")
            if self.default not in (None, "") and self.default not in options:
                raise _fail(f"{where}.default", f"{self.default!r} is not one of the options {options}")
            out["hasOptions"] = True
            out["options"] = [{"value": o} for o in options]
        if self.pinned is not None:
            out["pinned"] = _flag(self.pinned, f"{where}.pinned")
        _merge_extra(out, self.extra, f"{where}.extra", ("name",))
        return out


_TOP_LEVEL_LISTS = ("parameterConfig", "triggers", "notifications", "expectedArtifacts")
_SPEL = ("v4", "v3", "v2")


@dataclass(eq=False)
class Pipeline:
    """A pipeline config. ``to_json()`` writes it as Deck does (``limitConcurrent`` true,
    ``keepWaitingPipelines`` false, ``spelEvaluator`` v4, empty lists for what is not set).

    ``expected_artifacts`` entries are written verbatim (Spinnaker's ``expectedArtifacts`` shape);
    ``extra`` holds any other top-level keys (``roles``, ``tags``, ``locked``, ...), merged last.
    """

    name: str
    application: str
    stages: list[Stage | Parallel] = field(default_factory=list)
    parameters: Sequence[Parameter] = ()
    triggers: Sequence[Trigger] = ()
    notifications: Sequence[Notification] = ()
    expected_artifacts: Sequence[Mapping[str, Any]] = ()
    id: str | None = None
    description: str | None = None
    limit_concurrent: bool = True
    keep_waiting_pipelines: bool = False
    max_concurrent_executions: int | None = None
    spel_evaluator: str = "v4"
    disabled: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stages = list(self.stages)
        self._top_level()  # fail early on the pipeline's own fields; the layout is checked by to_json

    def to_json(self, *, omit_empty: bool = False) -> JSON:
        """The pipeline as JSON data (fresh dicts each call, same output for the same builders).

        ``omit_empty=True`` leaves out top-level lists that are empty, as hand-written JSON often does.
        """
        out = self._top_level()
        out["stages"] = self._stages()
        _merge_extra(out, self.extra, "Pipeline.extra", ("stages", "name", "application"))
        if omit_empty:
            for key in _TOP_LEVEL_LISTS:
                if out.get(key) == []:
                    del out[key]
        return out

    def validate(self) -> None:
        """Raise :class:`PipelineBuildError` if the pipeline cannot be written."""
        self.to_json()

    def _top_level(self) -> JSON:
        out: JSON = {
            "application": _text(self.application, "Pipeline.application"),
            "name": _text(self.name, "Pipeline.name"),
        }
        if self.id is not None:
            out["id"] = _text(self.id, "Pipeline.id")
        if self.description is not None:
            out["description"] = _text(self.description, "Pipeline.description")
        out["limitConcurrent"] = _flag(self.limit_concurrent, "Pipeline.limit_concurrent")
        out["keepWaitingPipelines"] = _flag(self.keep_waiting_pipelines, "Pipeline.keep_waiting_pipelines")
        if self.max_concurrent_executions is not None:
            n = self.max_concurrent_executions
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise _fail("Pipeline.max_concurrent_executions", f"must be an int >= 0 (0 = unlimited), got {n!r}")
            if self.limit_concurrent:
                raise _fail("Pipeline.max_concurrent_executions", "only applies with limit_concurrent=False")
            out["maxConcurrentExecutions"] = n
        if self.spel_evaluator not in _SPEL:
            raise _fail("Pipeline.spel_evaluator", f"must be one of {list(_SPEL)}, got {self.spel_evaluator!r}")
        out["spelEvaluator"] = self.spel_evaluator
        if self.disabled is not None:
            out["disabled"] = _flag(self.disabled, "Pipeline.disabled")
        out["parameterConfig"] = self._parameters()
        out["triggers"] = self._triggers()
        out["notifications"] = _notifications(self.notifications, "Pipeline.notifications", "pipeline")
        artifacts = []
        for i, a in enumerate(self.expected_artifacts):
            if not isinstance(a, Mapping):
                raise _fail(f"Pipeline.expected_artifacts[{i}]", f"must be a dict, got {a!r}")
            artifacts.append(_jsonable(a, f"Pipeline.expected_artifacts[{i}]"))
        out["expectedArtifacts"] = artifacts
        return out

    def _parameters(self) -> list[JSON]:
        out = []
        for i, p in enumerate(self.parameters):
            if not isinstance(p, Parameter):
                raise _fail(f"Pipeline.parameters[{i}]", f"must be a Parameter, got {p!r}")
            out.append(p.to_json())
        names = [p["name"] for p in out]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise _fail("Pipeline.parameters", f"duplicate names: {dupes}")
        return out

    def _triggers(self) -> list[JSON]:
        out = []
        for i, t in enumerate(self.triggers):
            if not isinstance(t, Trigger):
                raise _fail(f"Pipeline.triggers[{i}]", f"must be a Trigger, got {t!r}")
            out.append(t.to_json())
        return out

    # -- layout

    def _layout(self) -> tuple[list[Stage], dict[int, list[Stage]], dict[int, str]]:
        order: list[Stage] = []
        deps: dict[int, list[Stage]] = {}
        where: dict[int, str] = {}

        def place(item: Any, preds: list[Stage], at: str) -> list[Stage]:
            if isinstance(item, Stage):
                if id(item) in where:
                    raise _fail(
                        at,
                        f"{item._where()} is already in the pipeline at {where[id(item)]}; "
                        "one object is one stage, create another to run it twice",
                    )
                where[id(item)] = at
                order.append(item)
                after = item._after_list()
                deps[id(item)] = list(preds) if after is None else after
                return [item]
            if isinstance(item, Parallel):
                tails: list[Stage] = []
                for i, branch in enumerate(item.branches):
                    tails.extend(place(branch, preds, f"{at}.branches[{i}]"))
                return tails
            if isinstance(item, (list, tuple)):
                if not item:
                    raise _fail(at, "is an empty branch")
                for i, sub in enumerate(item):
                    preds = place(sub, preds, f"{at}[{i}]")
                return preds
            raise _fail(at, f"must be a stage, a Parallel or a list of them, got {item!r}")

        if not isinstance(self.stages, list):
            raise _fail("Pipeline.stages", f"must be a list, got {type(self.stages).__name__}")
        tails: list[Stage] = []
        for i, entry in enumerate(self.stages):  # each entry follows the previous one (its tails)
            tails = place(entry, tails, f"Pipeline.stages[{i}]")
        return order, deps, where

    def _stages(self) -> list[JSON]:
        order, deps, where = self._layout()
        refs = {id(s): str(i + 1) for i, s in enumerate(order)}
        for s in order:
            for d in deps[id(s)]:
                if id(d) not in refs:
                    raise _fail(
                        f"{where[id(s)]}.after",
                        f"names {d._where()}, which is not in this pipeline's stages; add it to stages",
                    )
        self._check_cycles(order, deps)
        out = []
        for s in order:
            requisites = list(dict.fromkeys(refs[id(d)] for d in deps[id(s)]))
            try:
                body = s._render()
            except PipelineBuildError as err:
                raise PipelineBuildError(f"{where[id(s)]}: {err}") from None
            out.append({"refId": refs[id(s)], "requisiteStageRefIds": requisites, **body})
        return out

    @staticmethod
    def _check_cycles(order: list[Stage], deps: dict[int, list[Stage]]) -> None:
        done: set[int] = set()
        path: list[Stage] = []
        on_path: set[int] = set()

        def visit(s: Stage) -> None:
            if id(s) in done:
                return
            if id(s) in on_path:
                loop = path[path.index(s) :] + [s]
                names = " -> ".join(repr(x.display_name) for x in reversed(loop))
                raise PipelineBuildError(f"{s._where('after')}: the stages form a cycle: {names}")
            on_path.add(id(s))
            path.append(s)
            for d in deps[id(s)]:
                visit(d)
            path.pop()
            on_path.discard(id(s))
            done.add(id(s))

        for s in order:
            visit(s)


from .pipelines_canary import KayentaCanary as KayentaCanary  # noqa: E402 - the canary builder, re-exported
from .pipelines_infra import *  # noqa: E402, F403 - the infrastructure builders, re-exported
from .pipelines_terraform import Terraform as Terraform  # noqa: E402 - the terraform builder, re-exported

"""The stage every builder is: common fields (name, after, failure option, window...), and ``Parallel``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from .checks import JSON, PipelineBuildError, _fail, _jsonable, _merge_extra, _text
from .notifications import Notification, _notifications
from .options import ExecutionWindow, FailureOption

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

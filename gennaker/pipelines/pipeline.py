"""The pipeline config: parameters, and the layout of stages into refIds and requisiteStageRefIds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .checks import JSON, PipelineBuildError, _fail, _flag, _jsonable, _merge_extra, _strings, _text
from .notifications import Notification, _notifications
from .stage import Parallel, Stage
from .trigger import Trigger


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

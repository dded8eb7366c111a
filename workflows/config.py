"""Pipeline configs as Spinnaker writes them.

Front50 keeps a pipeline as an open map, so do we: each object wraps the JSON it was read from and
offers typed views of the fields the engine uses. ``to_json()`` gives back the same map, so unknown
keys at every level (pipeline, stage, trigger, notification) round-trip unchanged, and refIds
written as numbers are echoed as numbers while the engine sees them as strings.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from core.fields import boolean

from .errors import InvalidPipelineError

JSON = dict[str, Any]


def _ref(value: Any, field_name: str, stage: str | None) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidPipelineError(
            f"must be a string or a number, got {type(value).__name__}", field=field_name, stage=stage
        )
    return str(value)


def _bool(raw: JSON, key: str, default: bool, where: str, stage: str | None = None) -> bool:
    value = raw.get(key)
    if value is None:
        return default
    read = boolean(value)  # Front50 coerces "true"/"false"
    if read is None:
        raise InvalidPipelineError(f"must be a boolean, got {value!r}", field=f"{where}{key}", stage=stage)
    return read


@dataclass
class StageConfig:
    """One stage of a pipeline config: the raw map plus typed views of the common fields."""

    raw: JSON
    index: int
    ref_id: str
    requisite_ref_ids: list[str]

    @classmethod
    def parse(cls, raw: Any, index: int) -> StageConfig:
        where = f"stages[{index}]"
        if not isinstance(raw, dict):
            raise InvalidPipelineError(f"must be an object, got {type(raw).__name__}", field=where)
        label = _label(raw, index)
        stage_type = raw.get("type")
        if not isinstance(stage_type, str) or not stage_type:
            raise InvalidPipelineError("is required and must be a string", field=f"{where}.type", stage=label)
        ref_id = raw.get("refId")
        ref = _ref(ref_id, f"{where}.refId", label) if ref_id is not None else ""
        reqs = raw.get("requisiteStageRefIds") or []
        if not isinstance(reqs, list):
            raise InvalidPipelineError("must be a list", field=f"{where}.requisiteStageRefIds", stage=label)
        requisites = [_ref(r, f"{where}.requisiteStageRefIds[{i}]", label) for i, r in enumerate(reqs)]
        stage = cls(raw=raw, index=index, ref_id=ref, requisite_ref_ids=requisites)
        stage._check_types()
        return stage

    def _check_types(self) -> None:
        where = f"stages[{self.index}]."
        for key in (
            "failPipeline",
            "continuePipeline",
            "completeOtherBranchesThenFail",
            "restrictExecutionDuringTimeWindow",
            "failOnFailedExpressions",
        ):
            _bool(self.raw, key, False, where, self.label)
        timeout = self.raw.get("stageTimeoutMs")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0):
            raise InvalidPipelineError(
                "must be a non-negative number of milliseconds", field=f"{where}stageTimeoutMs", stage=self.label
            )
        enabled = self.raw.get("stageEnabled")
        if enabled is not None and not isinstance(enabled, dict):
            raise InvalidPipelineError(
                "must be an object {type, expression}", field=f"{where}stageEnabled", stage=self.label
            )
        for key in ("name", "alias"):
            if self.raw.get(key) is not None and not isinstance(self.raw[key], str):
                raise InvalidPipelineError("must be a string", field=f"{where}{key}", stage=self.label)

    @property
    def type(self) -> str:
        return str(self.raw["type"])

    @property
    def alias(self) -> str | None:
        return self.raw.get("alias")

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or self.type)

    @property
    def label(self) -> str:
        return _label(self.raw, self.index)

    @property
    def fail_pipeline(self) -> bool:
        return _bool(self.raw, "failPipeline", True, "")

    @property
    def continue_pipeline(self) -> bool:
        return _bool(self.raw, "continuePipeline", False, "")

    @property
    def complete_other_branches_then_fail(self) -> bool:
        return _bool(self.raw, "completeOtherBranchesThenFail", False, "")

    @property
    def stage_timeout(self) -> timedelta | None:
        ms = self.raw.get("stageTimeoutMs")
        return timedelta(milliseconds=ms) if ms else None

    @property
    def stage_enabled_expression(self) -> str | None:
        enabled = self.raw.get("stageEnabled")
        if isinstance(enabled, dict) and enabled.get("expression") not in (None, ""):
            return str(enabled["expression"])
        return None

    @property
    def restrict_execution_window(self) -> bool:
        return _bool(self.raw, "restrictExecutionDuringTimeWindow", False, "")

    def to_json(self) -> JSON:
        return copy.deepcopy(self.raw)


def _label(raw: JSON, index: int) -> str:
    name = raw.get("name")
    ref = raw.get("refId")
    bits = [f"#{index}"]
    if ref is not None:
        bits.append(f"refId {ref}")
    if isinstance(name, str) and name:
        bits.append(f"'{name}'")
    return " ".join(bits)


@dataclass
class PipelineConfig:
    """A pipeline config as Front50 stores it; ``raw`` is the whole map, unchanged."""

    raw: JSON
    stages: list[StageConfig] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: Any) -> PipelineConfig:
        if not isinstance(raw, dict):
            raise InvalidPipelineError(f"a pipeline must be a JSON object, got {type(raw).__name__}")
        stages_raw = raw.get("stages", [])
        if stages_raw is None:
            stages_raw = []
        if not isinstance(stages_raw, list):
            raise InvalidPipelineError("must be a list of stage objects", field="stages")
        for key in ("application", "name", "id"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise InvalidPipelineError("must be a string", field=key)
        for key in ("triggers", "parameterConfig", "notifications", "expectedArtifacts"):
            if raw.get(key) is not None and not isinstance(raw[key], list):
                raise InvalidPipelineError("must be a list", field=key)
        for key in ("limitConcurrent", "keepWaitingPipelines", "disabled"):
            _bool(raw, key, False, "")
        max_conc = raw.get("maxConcurrentExecutions")
        if max_conc is not None and (isinstance(max_conc, bool) or not isinstance(max_conc, int) or max_conc < 0):
            raise InvalidPipelineError("must be a non-negative integer", field="maxConcurrentExecutions")
        return cls(raw=raw, stages=[StageConfig.parse(s, i) for i, s in enumerate(stages_raw)])

    @property
    def id(self) -> str | None:
        return self.raw.get("id")

    @property
    def application(self) -> str:
        return str(self.raw.get("application") or "")

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or "")

    @property
    def limit_concurrent(self) -> bool:
        # Orca reads an absent flag as false; Deck writes true for new pipelines.
        return _bool(self.raw, "limitConcurrent", False, "")

    @property
    def keep_waiting_pipelines(self) -> bool:
        return _bool(self.raw, "keepWaitingPipelines", False, "")

    @property
    def max_concurrent_executions(self) -> int:
        return int(self.raw.get("maxConcurrentExecutions") or 0)

    @property
    def disabled(self) -> bool:
        return _bool(self.raw, "disabled", False, "")

    @property
    def spel_evaluator(self) -> str:
        return str(self.raw.get("spelEvaluator") or "v4")

    def parameter_config(self) -> list[JSON]:
        return [p for p in self.raw.get("parameterConfig") or [] if isinstance(p, dict)]

    def to_json(self) -> JSON:
        return copy.deepcopy(self.raw)

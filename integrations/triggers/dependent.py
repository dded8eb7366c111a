"""``pipeline`` triggers: when an execution completes, start the pipelines that wait on it.

Orca does this itself, not Echo (``DependentPipelineExecutionListener`` and
``DependentPipelineStarter``): a trigger fires when its ``pipeline`` is the completed execution's
``pipelineConfigId`` and its ``status`` list holds the execution's status name:

=================================================  ===========
execution status                                   status name
=================================================  ===========
SUCCEEDED                                          successful
CANCELED                                           canceled
SUSPENDED                                          suspended
anything else (TERMINAL, STOPPED, FAILED_CONTINUE)  failed
=================================================  ===========

The trigger's ``application`` is not compared, only the upstream config id.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from core.fields import truthy
from core.status import ExecutionStatus

from .artifacts import matching_expected_ids
from .constraints import java_str
from .errors import TriggerError
from .model import JSON, PIPELINE, Match, enabled_triggers

_STATUS_NAMES = {
    ExecutionStatus.SUCCEEDED: "successful",
    ExecutionStatus.CANCELED: "canceled",
    ExecutionStatus.SUSPENDED: "suspended",
}


def trigger_status(status: ExecutionStatus) -> str:
    """Orca's ``convertStatus``: the name a pipeline trigger's ``status`` list uses for an execution status."""
    return _STATUS_NAMES.get(status, "failed")


def _finished_status(execution: Mapping[str, Any]) -> ExecutionStatus:
    raw = execution.get("status")
    try:
        status = ExecutionStatus(str(raw).upper())
    except ValueError:
        raise TriggerError(f"status: '{raw}' is not an execution status") from None
    if not (status.is_complete or status is ExecutionStatus.SUSPENDED):
        raise TriggerError(
            f"status: the execution is {status.value}, not complete; pipeline triggers fire on completion"
        )
    return status


def _ordered_stages(stages: list[Any]) -> list[Mapping[str, Any]]:
    """Top-level stages in Orca's topological order (a stage after all its requisites); unresolvable ones last."""
    pending = [s for s in stages if isinstance(s, Mapping) and s.get("parentStageId") is None]
    done: set[str] = set()
    ordered: list[Mapping[str, Any]] = []
    while pending:
        ready = [s for s in pending if {str(r) for r in s.get("requisiteStageRefIds") or []} <= done]
        if not ready:
            ordered.extend(pending)  # Orca refuses such a graph; keep what we have rather than lose artifacts
            break
        for stage in ready:
            pending.remove(stage)
            done.add(str(stage.get("refId")))
            ordered.append(stage)
    return ordered


def parent_artifacts(execution: Mapping[str, Any]) -> list[JSON]:
    """Orca's ``getAllArtifacts``: stage output artifacts, later stages first, then the parent trigger's artifacts."""
    emitted: list[JSON] = []
    for stage in _ordered_stages(execution.get("stages") or []):
        outputs = stage.get("outputs")
        artifacts = outputs.get("artifacts") if isinstance(outputs, Mapping) else None
        emitted.extend(copy.deepcopy(a) for a in artifacts or [] if isinstance(a, dict))
    emitted.reverse()
    trigger = execution.get("trigger")
    own = trigger.get("artifacts") if isinstance(trigger, Mapping) else None
    emitted.extend(copy.deepcopy(a) for a in own or [] if isinstance(a, dict))
    return emitted


def _parameters(pipeline: Mapping[str, Any]) -> JSON:
    """``parameterConfig`` defaults, as ``DependentPipelineStarter`` fills them (a missing default is null)."""
    params: JSON = {}
    for p in pipeline.get("parameterConfig") or []:
        if isinstance(p, Mapping) and isinstance(p.get("name"), str):
            params[p["name"]] = copy.deepcopy(p.get("default"))
    return params


def build_pipeline_trigger(execution: JSON, pipeline: JSON, config_trigger: JSON, artifacts: list[JSON]) -> JSON:
    """The trigger Orca gives a dependent pipeline: the whole parent execution, and Deck's ``parentPipeline*``."""
    found = execution.get("trigger")
    parent_trigger: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    run_as = config_trigger.get("runAsUser")
    user = (run_as.strip() if isinstance(run_as, str) and run_as.strip() else None) or parent_trigger.get("user")
    upstream = execution.get("pipelineConfigId")
    ids: list[str] = []
    for t in pipeline.get("triggers") or []:
        if isinstance(t, Mapping) and t.get("type") == PIPELINE and t.get("pipeline") == upstream:
            ids.extend(i for i in t.get("expectedArtifactIds") or [] if isinstance(i, str))
    ids.extend(matching_expected_ids(pipeline, artifacts))
    return {
        "type": PIPELINE,
        "user": user or "[anonymous]",
        "parentExecution": copy.deepcopy(execution),
        "parentPipelineId": execution.get("id"),
        "parentPipelineName": execution.get("name"),
        "parentPipelineApplication": execution.get("application"),
        "parentStatus": execution.get("status"),
        "isPipeline": True,
        "parameters": _parameters(pipeline),
        "strategy": False,
        # no stage id here (null): a child started by a pipeline *stage* would have one
        "correlationId": "_".join(
            java_str(v) for v in (execution.get("id"), None, pipeline.get("id"), execution.get("startTime"))
        ),
        "artifacts": copy.deepcopy(artifacts),
        "expectedArtifactIds": list(dict.fromkeys(ids)),
        "notifications": [],
        "rebake": False,
        "dryRun": truthy(parent_trigger.get("dryRun")),
    }


def pipeline_trigger_matches(completed_execution: JSON, pipelines: Iterable[Any]) -> list[Match]:
    """Pipelines to start because ``completed_execution`` (execution JSON as Gate shows it) finished.

    Raises ``TriggerError`` when the execution has no valid status or has not finished. An
    orchestration (``type: ORCHESTRATION``) starts nothing. Each pipeline starts at most once,
    with its first matching trigger (Orca's ``correlationId`` would collapse the rest).
    """
    if not isinstance(completed_execution, dict):
        raise TriggerError("execution: must be a JSON object")
    status = _finished_status(completed_execution)
    if str(completed_execution.get("type") or "PIPELINE").upper() != "PIPELINE":
        return []
    upstream = completed_execution.get("pipelineConfigId")
    if not upstream:
        return []
    name = trigger_status(status)
    artifacts = parent_artifacts(completed_execution)
    matches: list[Match] = []
    started: set[int] = set()
    for pipeline, config in enabled_triggers(pipelines, PIPELINE):
        statuses = config.get("status")
        if config.get("pipeline") != upstream or not isinstance(statuses, list) or name not in statuses:
            continue
        if id(pipeline) in started:
            continue
        started.add(id(pipeline))
        matches.append(
            Match(pipeline, build_pipeline_trigger(completed_execution, pipeline, config, artifacts), config)
        )
    return matches

"""How an execution is started: its workflow input, search attributes and Web UI summary.

Shared by the client side (``workflows/operations.py``) and the ``pipeline`` stage, so a child
pipeline is as findable in the Web UI as one started by a user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from core.status import ExecutionStatus

from . import authorization, search
from .execution import PIPELINE, ExecutionState
from .messages import RunPipelineInput

WORKFLOW_TYPE = "Pipeline"


@dataclass
class PipelineStart:
    input: RunPipelineInput
    search_attributes: TypedSearchAttributes
    summary: str
    result_type: type = ExecutionState


def pipeline_start(
    execution_id: str,
    config: dict[str, Any],
    trigger: dict[str, Any] | None = None,
    *,
    type: str = PIPELINE,
    authentication: dict[str, Any] | None = None,
    origin: str = "api",
    window_timezone: str = "America/Los_Angeles",
    activity_queues: dict[str, str] | None = None,
    build_time_ms: int | None = None,
) -> PipelineStart:
    trigger = dict(trigger or {})
    trigger.setdefault("type", "manual")
    authentication = inherited_authentication(authentication, trigger)
    inp = RunPipelineInput(
        execution_id=execution_id,
        config=config,
        trigger=trigger,
        type=type,
        authentication=authentication or {"user": "anonymous", "allowedAccounts": []},
        origin=origin,
        build_time_ms=build_time_ms,
        window_timezone=window_timezone,
        activity_queues=dict(activity_queues or {}),
    )
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(search.APPLICATION, str(config.get("application") or "")),
        SearchAttributePair(search.EXECUTION_TYPE, type),
        SearchAttributePair(search.TRIGGER_TYPE, str(trigger.get("type"))),
        SearchAttributePair(search.STATUS, ExecutionStatus.NOT_STARTED.value),
    ]
    name = config.get("name") if type == PIPELINE else config.get("description")
    if isinstance(name, str) and name:
        pairs.append(SearchAttributePair(search.PIPELINE_NAME, name))
    if isinstance(config.get("id"), str) and config["id"]:
        pairs.append(SearchAttributePair(search.PIPELINE_CONFIG_ID, config["id"]))
    summary = f"{config.get('application')} / {name or execution_id} ({trigger.get('type')} trigger)"
    return PipelineStart(inp, TypedSearchAttributes(pairs), summary)


def inherited_authentication(authentication: dict[str, Any] | None, trigger: dict[str, Any]) -> dict[str, Any] | None:
    """A pipeline started by another (a ``pipeline`` trigger or stage) never escapes its parent's checks.

    When the parent execution was enforced and the caller's ``authentication`` is not, the child
    takes the parent's (same user, or none given), or the caller's user with enforcement on and
    the caller's accounts (a ``runAsUser`` the caller could not resolve). This only ever adds checks:
    an enforced ``authentication`` from the caller is kept as it is."""
    parent_execution = trigger.get("parentExecution")
    parent = parent_execution.get("authentication") if isinstance(parent_execution, dict) else None
    if not authorization.is_enforced(parent) or authorization.is_enforced(authentication):
        return authentication
    assert isinstance(parent, dict)
    if not authentication or authentication.get("user") == parent.get("user"):
        return dict(parent)
    return {**authentication, authorization.ENFORCED: True}


def child_pipeline_start(
    execution_id: str,
    config: dict[str, Any],
    trigger: dict[str, Any],
    window_timezone: str,
    activity_queues: dict[str, str],
    now: datetime,
    authentication: dict[str, Any] | None = None,
) -> PipelineStart:
    """A child runs as its parent stage does (``authentication``), else as the parent execution."""
    parent_auth = authentication or (trigger.get("parentExecution") or {}).get("authentication")
    return pipeline_start(
        execution_id,
        config,
        trigger,
        authentication=parent_auth,
        origin="pipeline",
        window_timezone=window_timezone,
        activity_queues=activity_queues,
        build_time_ms=int(now.timestamp() * 1000),
    )

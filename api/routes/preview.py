"""``POST /applications/{application}/pipelineConfigs/{name}/preview``: a dry run of a pipeline's
``${...}`` expressions with the trigger a manual start would get, without starting it (Deck's Start Manual
Execution form, docs/ui.md).

Gate's expression routes (``/pipelines/{id}/evaluateExpression``, ``evaluateVariables``) need an execution that ran;
a pipeline not yet started has none, so this builds the made-up execution the start would make: the body is the
same as ``POST /pipelines/{application}/{name}`` (the trigger: its fields, ``parameters`` with the config's
defaults applied, required ones checked, options enforced) and each top-level stage is evaluated as it would be when
it starts, with the engine's evaluator (``workflows.expressions``). Upstream stages' outputs do not exist yet: an
expression that needs them is reported in the stage's ``detail`` (Orca's failed-expression summary), not as an
error of the request. Nothing is written and nothing is started.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Body

from workflows import expressions as expr

from .. import expressions as evaluation
from ..auth.enforce import READ, GuardDep
from ..deps import SettingsDep, StoreDep
from ..models import ManualTrigger, SpinnakerDocument, document
from .pipelines import _config, _trigger

router = APIRouter(tags=["executions"])
Json = dict[str, Any]

#: a stage's own keys, not part of the context its expressions are evaluated in
STAGE_KEYS = frozenset({"refId", "requisiteStageRefIds", "type", "name", "id"})


class PipelinePreview(SpinnakerDocument):
    """The trigger the run would get, and each top-level stage's context as it would be evaluated at its start."""

    trigger: dict[str, Any]
    stages: list[dict[str, Any]]


def _made_up_execution(config: Json, trigger: Json, user: str) -> Json:
    stages = [s for s in config.get("stages") or [] if isinstance(s, dict)]
    return {
        "id": "preview",
        "type": "PIPELINE",
        "application": config.get("application"),
        "name": config.get("name"),
        "pipelineConfigId": config.get("id"),
        "status": "NOT_STARTED",
        "trigger": trigger,
        "authentication": {"user": user},
        "stages": [{**s, "id": f"preview-{s.get('refId', i)}", "status": "NOT_STARTED"} for i, s in enumerate(stages)],
    }


def _preview(execution: Json, budget: expr.Budget) -> Json:
    trigger = execution["trigger"]
    out: list[Json] = []
    for stage in execution["stages"]:
        context = {k: v for k, v in stage.items() if k not in STAGE_KEYS and k != "status"}
        root = {**context, "trigger": trigger, "parameters": trigger.get("parameters") or {}, "execution": execution}
        ctx = expr.EvaluationContext(
            root=root,
            execution=execution,
            current_stage_id=stage["id"],
            user=(execution.get("authentication") or {}).get("user"),
            timestamp_ms=int(time.time() * 1000),
        )
        result = expr.process(context, ctx, budget)
        entry: Json = {"refId": stage.get("refId"), "name": stage.get("name"), "type": stage.get("type")}
        entry["context"] = result.value
        if result.summary:
            entry["detail"] = result.summary
        out.append(entry)
    return {"trigger": trigger, "stages": out}


@router.post(
    "/applications/{application}/pipelineConfigs/{name_or_id}/preview",
    response_model=PipelinePreview,
    response_model_exclude_unset=True,
)
async def preview(
    application: str,
    name_or_id: str,
    store: StoreDep,
    settings: SettingsDep,
    guard: GuardDep,
    trigger: ManualTrigger | None = Body(None),
) -> Json:
    """Evaluate the pipeline's expressions with the trigger a manual start with this body would get (READ on the
    application; the same 400s as starting it: parameters, options, required)."""
    await guard.app(application, READ)
    from templates.stored import rendered_for_start

    config = await asyncio.to_thread(rendered_for_start, store, await _config(store, application, name_or_id))
    user = guard.principal.name
    made = _trigger(config, None if trigger is None else document(trigger), user, enforce=settings.auth.enabled)
    execution = _made_up_execution(config, made, user)
    return await evaluation._off_loop(lambda budget: _preview(execution, budget))  # noqa: SLF001 - same layer

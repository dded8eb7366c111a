"""``checkPreconditions``: one parallel synthetic stage per precondition; any failure fails the stage.

Precondition types here: ``expression`` (``context.expression``, written without ``${}``) and
``stageStatus`` (``context.stageName`` has ``context.stageStatus``). ``clusterSize`` needs a cloud
and is added by the Clouddriver stages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from . import register
from .base import JSON, StageDefinition, SyntheticStage, TaskResult, TaskRuntime, TaskSpec

Check = Callable[[TaskRuntime, JSON], Awaitable[TaskResult]]
CHECKS: dict[str, Check] = {}


def precondition(name: str) -> Callable[[Check], Check]:
    def add(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn

    return add


@precondition("expression")
async def check_expression(runtime: TaskRuntime, ctx: JSON) -> TaskResult:
    expression = ctx.get("expression")
    if isinstance(expression, bool):  # a ${...} already evaluated when the stage started
        result = expression
    elif isinstance(expression, str) and expression.strip():
        try:
            result = runtime.evaluate_condition(expression)
        except Exception as err:  # noqa: BLE001 - any evaluation failure fails the precondition, with its reason
            return TaskResult.terminal(
                f"Failed to evaluate expression '{expression}': {err}", {"expressionResult": "false"}
            )
    else:
        return TaskResult.terminal("precondition 'expression' needs context.expression")
    if result:
        return TaskResult.succeeded({"expressionResult": "true"})
    message = ctx.get("failureMessage") or f"Expression '{expression}' evaluated to false"
    return TaskResult.terminal(str(message), {"expressionResult": "false"})


@precondition("stageStatus")
async def check_stage_status(runtime: TaskRuntime, ctx: JSON) -> TaskResult:
    name, wanted = ctx.get("stageName"), ctx.get("stageStatus")
    if not isinstance(name, str) or not isinstance(wanted, str):
        return TaskResult.terminal("precondition 'stageStatus' needs context.stageName and context.stageStatus")
    stages = [s for s in runtime.execution().get("stages", []) if s.get("name") == name]
    if not stages:
        return TaskResult.terminal(f"no stage named '{name}' in this execution")
    actual = str(stages[0].get("status"))
    if actual.upper() == wanted.upper():
        return TaskResult.succeeded()
    return TaskResult.terminal(f"stage '{name}' is {actual}, expected {wanted.upper()}")


async def check_precondition(runtime: TaskRuntime) -> TaskResult:
    kind = runtime.context.get("preconditionType")
    check = CHECKS.get(str(kind))
    if check is None:
        return TaskResult.terminal(f"unknown precondition type '{kind}'; known types: {', '.join(sorted(CHECKS))}")
    ctx: Any = runtime.context.get("context") or {}
    return await check(runtime, ctx if isinstance(ctx, dict) else {})


@register
class CheckPreconditionsStage(StageDefinition):
    type = "checkPreconditions"

    def tasks(self, context: JSON) -> list[TaskSpec]:
        if "preconditionType" not in context:
            return []  # the parent only holds its synthetic stages
        return [
            TaskSpec(
                "checkPrecondition",
                "com.netflix.spinnaker.orca.pipeline.tasks.PreconditionTask",
                run=check_precondition,
            )
        ]

    def before_stages(self, context: JSON) -> list[SyntheticStage]:
        if "preconditionType" in context:
            return []
        stages = []
        for _i, pre in enumerate(context.get("preconditions") or []):
            if not isinstance(pre, dict):
                continue
            kind = pre.get("type")
            stages.append(
                SyntheticStage(
                    type=self.type,
                    name=f"Check precondition ({kind})",
                    context={
                        "preconditionType": kind,
                        "context": pre.get("context") or {},
                        "failPipeline": pre.get("failPipeline", True),
                    },
                    parallel_group="preconditions",
                )
            )
        return stages

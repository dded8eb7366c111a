"""``checkPreconditions``: one parallel synthetic stage per precondition; any failure fails the stage.

Precondition types: ``expression`` (``context.expression``, written without ``${}``),
``stageStatus`` (``context.stageName`` has ``context.stageStatus``) and ``clusterSize`` (the number
of server groups of ``context.cluster`` in each region compares to ``expected``, read through the
``cluster_size`` activity).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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


COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@precondition("clusterSize")
async def check_cluster_size(runtime: TaskRuntime, ctx: JSON) -> TaskResult:
    """Orca's ``ClusterSizePreconditionTask``: server groups (enabled ones with ``onlyEnabledServerGroups``)."""
    comparison = str(ctx.get("comparison") or "==")
    compare = COMPARISONS.get(comparison)
    if compare is None:
        return TaskResult.terminal(f"comparison: '{comparison}' is not one of {', '.join(COMPARISONS)}")
    try:
        expected = int(ctx.get("expected", 1))
    except (TypeError, ValueError):
        return TaskResult.terminal(f"expected: {ctx.get('expected')!r} is not a number")
    try:
        sizes: JSON = await runtime.activity("cluster_size", dict(ctx), f"size of {ctx.get('cluster')}")
    except Exception as err:  # noqa: BLE001 - the activity's non-retryable error is the precondition's failure
        return TaskResult.terminal(str(getattr(err, "message", None) or getattr(err, "cause", None) or err))
    wrong = {r: n for r, n in sizes.items() if not compare(int(n), expected)}
    if wrong:
        region, actual = next(iter(wrong.items()))
        return TaskResult.terminal(
            f"Precondition check failed: expected cluster size {comparison} {expected}, was {actual} in {region}",
            {"clusterSizes": sizes},
        )
    return TaskResult.succeeded({"clusterSizes": sizes})


async def check_precondition(runtime: TaskRuntime) -> TaskResult:
    kind = runtime.context.get("preconditionType")
    check = CHECKS.get(str(kind))
    if check is None:
        return TaskResult.terminal(f"unknown precondition type '{kind}'; known types: {', '.join(sorted(CHECKS))}")
    ctx: Any = runtime.context.get("context") or {}
    return await check(runtime, ctx if isinstance(ctx, dict) else {})


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
                needs_execution=True,
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

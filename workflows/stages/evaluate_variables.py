"""``evaluateVariables``: evaluate ``variables: [{key, value}]`` in order; each becomes an output.

Later variables may use earlier ones (v4), so the stage evaluates them itself instead of letting
the runner evaluate the whole context up front.
"""

from __future__ import annotations

from .base import JSON, StageDefinition, TaskResult, TaskRuntime, TaskSpec


async def evaluate_variables(runtime: TaskRuntime) -> TaskResult:
    variables = runtime.context.get("variables") or []
    if not isinstance(variables, list):
        return TaskResult.terminal("variables must be a list of {key, value}")
    summary: JSON = {}
    evaluated: list[JSON] = []
    for i, var in enumerate(variables):
        if not isinstance(var, dict) or not isinstance(var.get("key"), str) or not var["key"]:
            return TaskResult.terminal(f"variables[{i}].key must be a non-empty string")
        value, errors = runtime.evaluate(var.get("value"))
        summary.update(errors)
        runtime.outputs[var["key"]] = value  # visible to the variables after this one
        evaluated.append({**var, "value": value})
    context: JSON = {"variables": evaluated}
    if summary:
        context["expressionEvaluationSummary"] = {**runtime.context.get("expressionEvaluationSummary", {}), **summary}
        if runtime.context.get("failOnFailedExpressions") in (True, "true"):
            return TaskResult.terminal("Failed to evaluate variables: " + ", ".join(summary), context)
    return TaskResult.succeeded(context, {v["key"]: v["value"] for v in evaluated})


class EvaluateVariablesStage(StageDefinition):
    type = "evaluateVariables"
    evaluate_context = False

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [
            TaskSpec(
                "evaluateVariables",
                "com.netflix.spinnaker.orca.pipeline.tasks.EvaluateVariablesTask",
                run=evaluate_variables,
                needs_execution=True,
            )
        ]

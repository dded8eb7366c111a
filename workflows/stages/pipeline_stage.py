"""``pipeline``: run another pipeline as a child execution, and (by default) wait for its result.

The child is a pipeline workflow of its own (its own execution id and application, listed with
its application's runs), started as a Temporal child so that its completion reaches this stage at
once (Orca polls every 15 s) and canceling this stage cancels it.
"""

from __future__ import annotations

from typing import Any

from core.parameters import with_defaults

from ..execution import execution_reference
from .base import JSON, StageDefinition, TaskResult, TaskRuntime, TaskSpec


def child_trigger(runtime: TaskRuntime, config: JSON, stage_id: str) -> JSON:
    parent = runtime.execution()
    parent_trigger = parent.get("trigger") or {}
    return {
        "type": "pipeline",
        "user": parent_trigger.get("user") or "[anonymous]",
        "parameters": with_defaults(config, runtime.context.get("pipelineParameters")),
        "parentExecution": execution_reference(parent),
        "parentPipelineId": parent.get("id"),
        "parentPipelineName": parent.get("name"),
        "parentPipelineApplication": parent.get("application"),
        "parentPipelineStageId": stage_id,
        "parentStatus": "RUNNING",
        "isPipeline": True,
        "artifacts": [],
    }


async def start_pipeline(runtime: TaskRuntime) -> TaskResult:
    app = runtime.context.get("application")
    ref = runtime.context.get("pipeline")
    if not isinstance(app, str) or not app or not isinstance(ref, str) or not ref:
        return TaskResult.terminal("a pipeline stage needs 'application' and 'pipeline' (a pipeline config id)")
    try:
        config = await runtime.activity(
            "get_pipeline_config", {"application": app, "pipeline": ref}, f"look up pipeline {ref} of {app}"
        )
    except Exception as err:  # noqa: BLE001 - a missing or unreadable config fails the stage, with the reason
        return TaskResult.terminal(str(err))
    if config.get("disabled") in (True, "true"):
        return TaskResult.terminal(f"pipeline '{config.get('name')}' of {app} is disabled")
    wait = runtime.context.get("waitForCompletion", True) not in (False, "false")
    execution_id = await runtime.start_pipeline(config, child_trigger(runtime, config, runtime.stage_id), wait)
    info = {"executionId": execution_id, "executionName": config.get("name")}
    return TaskResult.succeeded(info, info)


async def monitor_pipeline(runtime: TaskRuntime) -> TaskResult:
    child = await runtime.wait_pipeline()
    status = str(child.get("status"))
    context = {"status": status}
    if status == "SUCCEEDED":
        return TaskResult.succeeded(context, {"status": status})
    if status == "CANCELED":
        return TaskResult(
            _status("CANCELED"), context, {"status": status}, error=f"child pipeline {child.get('id')} was canceled"
        )
    errors = [
        s["context"]["exception"]["details"].get("error")
        for s in child.get("stages", [])
        if isinstance(s.get("context", {}).get("exception"), dict)
        and isinstance(s["context"]["exception"].get("details"), dict)
    ]
    detail = "; ".join(e for e in errors if e) or status
    return TaskResult.terminal(f"child pipeline {child.get('name') or child.get('id')} {status}: {detail}", context)


def _status(name: str) -> Any:
    from core.status import ExecutionStatus

    return ExecutionStatus(name)


class PipelineStage(StageDefinition):
    type = "pipeline"
    manual_skip_allowed = True  # a user may stop waiting for the child

    def tasks(self, context: JSON) -> list[TaskSpec]:
        tasks = [
            TaskSpec(
                "startPipeline",
                "com.netflix.spinnaker.orca.pipeline.tasks.StartPipelineTask",
                run=start_pipeline,
                needs_execution=True,
            )
        ]
        if context.get("waitForCompletion", True) not in (False, "false"):
            tasks.append(
                TaskSpec(
                    "monitorPipeline",
                    "com.netflix.spinnaker.orca.pipeline.tasks.MonitorPipelineTask",
                    run=monitor_pipeline,
                )
            )
        return tasks

    def required_permissions(self, context: JSON) -> list[tuple[str, str, str]]:
        app = context.get("application")  # the child runs in its application: EXECUTE there (Orca/Fiat)
        return [("application", app, "EXECUTE")] if isinstance(app, str) and app else []

"""What the benchmark runs: a no-op stage type, and the raw Temporal shape it is compared with.

Workflows live here, not in ``__main__``, because the workflow sandbox re-imports their module.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from workflows.stages import register
    from workflows.stages.base import JSON, StageDefinition, TaskInput, TaskResult, TaskSpec


@activity.defn(name="bench_noop")
async def noop_task(inp: TaskInput) -> TaskResult:
    return TaskResult.succeeded()


@activity.defn(name="bench_raw_noop")
async def raw_noop() -> None:
    return None


@register
class NoopStage(StageDefinition):
    """A stage with one activity task that does nothing: the engine's cost, and nothing else."""

    type = "benchNoop"
    evaluate_context = True

    def tasks(self, context: JSON) -> list[TaskSpec]:
        return [TaskSpec("noop", "gennaker.bench.Noop", activity="bench_noop")]


@workflow.defn(name="BenchRawChild")
class RawChild:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(raw_noop, start_to_close_timeout=timedelta(seconds=30))


@workflow.defn(name="BenchRawChain")
class RawChain:
    """The raw Temporal shape of a pipeline: N sequential child workflows of one activity each."""

    @workflow.run
    async def run(self, n: int) -> list[float]:
        marks = []
        for i in range(n):
            marks.append(workflow.now().timestamp())
            await workflow.execute_child_workflow(RawChild.run, id=f"{workflow.info().workflow_id}-{i}")
        marks.append(workflow.now().timestamp())
        return marks

"""A stage's task loop: its tasks in order, each a workflow task in-line or an activity polled with durable timers.

The stage workflow (``workflows/stage.py``) decides when a stage runs, with its synthetic stages, window, timeout,
pause and cancel; this runs the tasks a stage definition declares, with Orca's backoff and timeout
(``TaskExecutionInterceptor``, ``RunTaskHandler``): a polling task is checked once per attempt, waits its backoff on
a durable timer, and times out on its own ``timeout``. A manual skip abandons the attempt under way; a long poll
continues the stage workflow as new.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.status import ExecutionStatus as S
    from core.tasks import side_heartbeat

    from . import expressions as expr
    from .execution import StageState, TaskState
    from .stages import resolve
    from .stages.base import JSON, StageDefinition, TaskInput, TaskResult, TaskSpec

if TYPE_CHECKING:
    from .stage import StageWorkflow

MAX_TASK_BACKOFF = timedelta(minutes=2)  # Orca's TaskExecutionInterceptor.maxTaskBackoff()


def now_ms() -> int:
    return int(workflow.now().timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=workflow.now().tzinfo)


async def _wait(done: Any, timeout: timedelta, summary: str) -> None:
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(done, timeout=timeout, timeout_summary=summary)


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{delta.total_seconds():g}s"


class _Runtime:
    """The :class:`~workflows.stages.base.TaskRuntime` a workflow task gets for one stage."""

    def __init__(self, wf: StageWorkflow, stage: StageState, timeout: timedelta | None = None) -> None:
        self._wf = wf
        self._stage = stage
        self._timeout = timeout

    @property
    def task_timeout(self) -> timedelta | None:
        return self._timeout

    @property
    def context(self) -> JSON:
        return self._stage.context

    @property
    def outputs(self) -> JSON:
        return self._stage.outputs

    @property
    def stage_start(self) -> datetime:
        return datetime.fromtimestamp((self._stage.start_time or now_ms()) / 1000, tz=workflow.now().tzinfo)

    def now(self) -> datetime:
        return workflow.now()

    async def wait_for(self, predicate: Any, timeout: timedelta | None, summary: str) -> bool:
        try:
            await workflow.wait_condition(predicate, timeout=timeout, timeout_summary=summary)
            return True
        except TimeoutError:
            return False

    def execution(self) -> JSON:
        return self._wf.execution_view()

    def evaluate(self, value: Any) -> tuple[Any, JSON]:
        result = expr.process(value, self._wf.expression_context(self._stage))
        return result.value, result.summary

    def evaluate_condition(self, expression: str) -> bool:
        return expr.evaluate_condition(expression, self._wf.expression_context(self._stage))

    @property
    def stage_id(self) -> str:
        return self._stage.id

    async def activity(self, name: str, arg: Any, summary: str) -> Any:
        try:
            return await workflow.execute_activity(
                name,
                arg,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10)),
                summary=f"{self._stage.name}: {summary}",
            )
        except ActivityError as err:
            cause = err.cause
            raise RuntimeError(cause.message if isinstance(cause, ApplicationError) else str(cause or err)) from None

    async def start_pipeline(self, config: JSON, trigger: JSON, wait: bool) -> str:
        return await self._wf.start_child_pipeline(self._stage, config, trigger, wait)

    async def wait_pipeline(self) -> JSON:
        return await self._wf.wait_child_pipeline(self._stage)


class TaskLoop:
    """Runs one stage's tasks for its stage workflow (whose state it reads and updates: the stages, skips, pauses,
    the store's projection, continue-as-new)."""

    def __init__(self, wf: StageWorkflow) -> None:
        self.wf = wf

    async def run(self, stage: StageState, definition: StageDefinition) -> S:
        """Run a stage's tasks in order. Sets the stage's status on failure; returns the last task's."""
        specs = definition.tasks(stage.context)
        resumed = self.wf.resuming and bool(stage.tasks) and len(stage.tasks) == len(specs)
        if resumed and stage.status.is_complete:
            return stage.status  # a continued run: this stage's tasks failed before (its rollback may be running)
        if not resumed:
            stage.tasks = [
                TaskState(
                    str(i + 1), spec.name, spec.implementing_class, stage_start=i == 0, stage_end=i == len(specs) - 1
                )
                for i, spec in enumerate(specs)
            ]
        for spec, task in zip(specs, stage.tasks, strict=True):
            if resumed and task.status.is_complete:
                continue  # done before this run continued as new
            await self.wf._unpaused()
            if stage.id in self.wf.skip_requested:
                return self.wf._skip(stage)
            if task.status not in (S.RUNNING, S.PAUSED):
                task.status = S.RUNNING
                task.start_time = now_ms()
            self.wf._changed()
            result = await self._run_task(stage, spec, task)
            await self.wf._stop_reminders()
            if stage.id in self.wf.skip_requested:
                return self.wf._skip(stage)
            stage.context.update(result.context)
            stage.outputs.update(result.outputs)
            task.end_time = now_ms()
            self.wf._changed()
            if result.status in (S.SUCCEEDED, S.SKIPPED, S.FAILED_CONTINUE):
                task.status = result.status
                if result.status == S.FAILED_CONTINUE:
                    stage.status = S.FAILED_CONTINUE
                continue
            task.status = result.status if result.status.is_complete else S.TERMINAL
            if result.status == S.CANCELED:
                stage.status = S.CANCELED
                stage.end_time = now_ms()
                return S.CANCELED
            self.wf._fail(stage, result.error or f"task {spec.name} failed", "TaskFailed", spec.name)
            return stage.status
        if stage.status == S.FAILED_CONTINUE or stage.context.pop("_failedContinue", False):
            stage.status = S.FAILED_CONTINUE
            stage.end_time = now_ms()
        return S.SUCCEEDED

    async def _run_task(self, stage: StageState, spec: TaskSpec, task: TaskState) -> TaskResult:
        started = workflow.now()
        poll = 0
        if self.wf.resume_task is not None and self.wf.resume_task[0] == stage.id:
            started, poll = _at(self.wf.resume_task[1]), self.wf.resume_task[2]
            self.wf.resume_task = None
            self.wf.resuming = False  # from here on the stage runs as in a first run
        skip = lambda: stage.id in self.wf.skip_requested  # noqa: E731
        if spec.needs_execution or spec.needs_ancestors:
            await self.wf._load_view(stage)
        reminders = stage is self.wf.stages[0] and stage.type == "manualJudgment"
        if reminders and self.wf.reminders is None:
            await self.wf._start_reminders(stage)
        while True:
            if spec.run is not None:
                attempt = spec.run(_Runtime(self.wf, stage, spec.timeout_in(stage.context)))
            else:
                attempt = self._call_activity(stage, spec, task, poll)
            result = await self._unless_skipped(stage, attempt)
            if result.status != S.RUNNING or not spec.polling:
                if result.status == S.RUNNING:
                    result.status = S.SUCCEEDED
                return result
            stage.context.update(result.context)
            stage.outputs.update(result.outputs)
            if result.context or result.outputs:
                self.wf._changed()  # Gate shows a poll's progress (the writer coalesces)
            backoff = timedelta(milliseconds=result.backoff_ms) if result.backoff_ms else spec.backoff
            stage_backoff = stage.context.get("backoffPeriodMs")
            if isinstance(stage_backoff, (int, float)) and stage_backoff > 0:
                backoff = max(backoff, timedelta(milliseconds=stage_backoff))
            backoff = min(backoff, MAX_TASK_BACKOFF)
            timeout = spec.timeout_in(stage.context)
            if timeout is not None:
                left = timeout - (workflow.now() - started)
                if left <= timedelta():
                    return TaskResult.terminal(f"Task {spec.name} timed out after {_human(timeout)}")
                backoff = min(backoff, left)
            await _wait(skip, backoff, f"{stage.name}: {spec.name} (next check)")
            if skip():
                return TaskResult(S.SKIPPED)
            await self.wf._unpaused()
            poll += 1
            if self.wf._may_continue(stage, task):
                await self.wf._continue_as_new(stage, started, poll)

    async def _unless_skipped(self, stage: StageState, attempt: Any) -> TaskResult:
        """Run one task attempt, abandoning it (canceled) if a user skips the stage meanwhile."""
        if not _definition(stage).manual_skip_allowed:
            return await attempt  # type: ignore[no-any-return]
        task = asyncio.ensure_future(attempt)
        await workflow.wait_condition(lambda: task.done() or stage.id in self.wf.skip_requested)
        if task.done():
            return task.result()
        task.cancel()
        # whatever the canceled attempt raises (CancelledError, ActivityError...), the stage is skipped
        with contextlib.suppress(BaseException):
            await task
        return TaskResult(S.SKIPPED)

    async def _call_activity(self, stage: StageState, spec: TaskSpec, task: TaskState, poll: int) -> TaskResult:
        assert self.wf.input is not None and spec.activity is not None
        queue = spec.queue or self.wf.input.activity_queues.get(spec.activity)
        timeout = spec.timeout_in(stage.context) or timedelta(hours=1)
        try:
            return await workflow.execute_activity(
                spec.activity,
                self.task_input(stage, spec, task, poll),
                result_type=TaskResult,
                task_queue=queue,
                start_to_close_timeout=spec.start_to_close,
                schedule_to_close_timeout=max(timeout, spec.start_to_close),
                heartbeat_timeout=spec.heartbeat_timeout or side_heartbeat(spec.activity),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
                summary=f"{stage.name}: {spec.name}",
            )
        except ActivityError as err:
            cause = err.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            return TaskResult.terminal(message or f"task {spec.name} failed")

    def task_input(self, stage: StageState, spec: TaskSpec, task: TaskState, poll: int) -> TaskInput:
        assert self.wf.input is not None
        return TaskInput(
            execution_id=self.wf.input.execution_id,
            application=self.wf.input.application,
            stage_id=stage.id,
            stage_ref_id=stage.ref_id,
            stage_type=stage.type,
            task_name=spec.name,
            context=stage.context,
            stage_start_time_ms=stage.start_time or now_ms(),
            task_start_time_ms=task.start_time or now_ms(),
            poll=poll,
            trigger=self.wf.input.trigger,
            outputs=stage.outputs,
            ancestor_outputs=self.wf._ancestor_outputs() if spec.needs_ancestors else [],
        )


def _definition(stage: StageState) -> StageDefinition:
    return resolve(stage.type, stage.context.get("alias"))

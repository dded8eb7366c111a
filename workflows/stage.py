"""The stage workflow: one Spinnaker stage, its synthetic stages and its tasks.

The stage definition (``workflows/stages/<type>.py``) says which tasks to run; ``workflows/stage_tasks.py`` runs
them (workflow tasks in-line, activity tasks as activities polled with durable timers, each with Orca's backoff and
timeout). This module is the stage's control flow: it evaluates ``stageEnabled`` and the stage's expressions when
the stage starts (v4), holds the stage in its execution window, runs its synthetic stages, enforces
``stageTimeoutMs`` (paused and window time excluded), honours pause/resume signals and answers PATCH updates.

Its input carries the stage's own config and references, not the execution: when an expression or
a task needs more, the stage loads the store's view of the execution (``workflows/projection.py``).
It writes its stages to the store's projection at its task transitions and before it returns (the pipeline
writes its RUNNING row as it starts, so its first write waits for its end or ``projection.FIRST_WRITE_AFTER``),
returns only a compact result to the pipeline, and continues as new inside long polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from core.fields import truthy
    from core.ids import ulid_from
    from core.status import ExecutionStatus as S
    from core.tasks import side_heartbeat

    from . import authorization, projection
    from . import expressions as expr
    from .execution import STAGE_AFTER, STAGE_BEFORE, ExecutionState, StageState, TaskState, is_reference
    from .launch import child_pipeline_start
    from .messages import (
        STAGE_FAILED,
        PatchStageInput,
        RunStageInput,
        RunStageResult,
        StageResume,
        unwrap_failure,
    )
    from .reminders import JudgmentReminders, reminder_input
    from .stage_synthetic import SyntheticStages, _error_text
    from .stage_tasks import TaskLoop, _at, _definition, _human, _wait, now_ms
    from .stages.base import (
        JSON,
        StageDefinition,
        SyntheticStage,
        TaskResult,
    )
    from .windows import ExecutionWindow, describe, jitter_delay, next_window_start


@workflow.defn(name="Stage")
class StageWorkflow:
    """Runs one top-level stage of a pipeline; its result is the stage and its synthetic stages."""

    def __init__(self) -> None:
        self.input: RunStageInput | None = None
        self.stages: list[StageState] = []
        self.paused = False
        self.skip_requested: set[str] = set()
        self.in_window = False
        self.patch_seq = 0
        self.child_pipelines: dict[str, Any] = {}
        #: the store's view of the execution, loaded at the last point that needed it
        self.view: JSON | None = None
        self.versions = projection.Versions()
        #: something waits for the store (the stage's end, a PATCH, a cancel): the writer writes now
        self.flushing = False
        self.wanted = 0
        self.written = 0
        #: where a continued run resumes its running task: (stage id, task start ms, polls so far)
        self.resume_task: tuple[str, int, int] | None = None
        #: a continued run walks the stage again, meeting what the earlier runs did, up to that task
        self.resuming = False
        #: synthetic stages added so far, by (parent id, owner): their refIds, the same in every run
        self.synthetic_calls: dict[tuple[str, str], int] = {}
        self.reminders: Any = None
        #: runs the stages' tasks (workflows/stage_tasks.py)
        self.task_loop = TaskLoop(self)
        #: adds and runs the stages' synthetic stages (workflows/stage_synthetic.py)
        self.synthetic = SyntheticStages(self)
        #: ``trigger.parentExecution`` as the store has it, loaded when an expression reads it
        self.parent_view: JSON | None = None
        #: the stage's context as the pipeline passed it (None: the stage always writes its own end)
        self.start_context: JSON | None = None
        #: the writer has started a write (a stage that wrote something writes its own end)
        self.write_started = False

    # ---- signals, updates, queries -------------------------------------------------------

    @workflow.signal
    def pause(self, user: str) -> None:
        self.paused = True
        self._swap_status(S.RUNNING, S.PAUSED)

    @workflow.signal
    def resume(self, user: str) -> None:
        self.paused = False
        self._swap_status(S.PAUSED, S.RUNNING)

    def _swap_status(self, old: S, new: S) -> None:
        """Show running stages and tasks as paused, or back (Orca does the same on pause/resume)."""
        self._changed()
        for st in self.stages:
            if st.status == old:
                st.status = new
                for t in st.tasks:
                    if t.status == old:
                        t.status = new

    @workflow.update
    async def patch(self, req: PatchStageInput) -> JSON:
        """Merge a PATCH into a stage's context (judgments, skipRemainingWait, manualSkip)."""
        stage = self._stage(req.stage_id)
        assert stage is not None  # the validator has checked
        stage.context.update(copy.deepcopy(req.context))
        accounts = list(req.allowed_accounts)
        stage.last_modified = {"user": req.user, "allowedAccounts": accounts, "lastModifiedTime": now_ms()}
        stage.context["lastModifiedBy"] = req.user
        if truthy(req.context.get("manualSkip")):
            self.skip_requested.add(stage.id)
        self.patch_seq += 1
        answer = stage.to_json()
        await self._flush()
        return answer

    @patch.validator
    def _validate_patch(self, req: PatchStageInput) -> None:
        stage = self._stage(req.stage_id)
        if stage is None:
            raise ValueError(f"stage {req.stage_id} is not part of this stage workflow")
        if stage.status.is_complete:
            raise ValueError(f"stage '{stage.name}' is {stage.status.value}; it can no longer be changed")
        if not isinstance(req.context, dict):
            raise ValueError("the PATCH body must be a JSON object")
        if truthy(req.context.get("manualSkip")) and not _definition(stage).manual_skip_allowed:
            raise ValueError(f"stage '{stage.name}' ({stage.type}) cannot be skipped manually")
        _definition(stage).validate_patch(stage.context, stage.status, req)

    @workflow.query
    def state(self) -> list[JSON]:
        return [s.to_json() for s in self.stages]

    # ---- the run -------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: RunStageInput) -> RunStageResult:
        self.input = inp
        self.paused = inp.paused
        self.versions = projection.Versions(inp.start_version)
        if inp.resume is not None:
            self._restore(inp.resume)
        else:
            if inp.start_version:  # the pipeline holds this context: a stage's end row may be handed back as a delta
                self.start_context = copy.deepcopy(inp.stage.context)
            self.stages = [inp.stage]
            inp.stage.status = S.RUNNING
            inp.stage.start_time = now_ms()
        main = self.stages[0]
        asyncio.ensure_future(self._writer())
        self._changed()
        try:
            if await self._with_timeout(main, self._run_main(main)):
                # Orca's timeout fails the stage and runs its cancel routine: cancel hooks, then its
                # on-failure stages (a red/black deploy rolls back)
                await self._stop_reminders()
                await self._run_cancel_hooks(canceled_only=True)
                await self.synthetic.run_on_failure(main, _definition(main))
        except asyncio.CancelledError:
            self._mark_canceled()
            await self._stop_reminders()
            await self._run_cancel_hooks()
            await self._flush()
            raise
        main.end_time = main.end_time or now_ms()
        await self._stop_reminders()
        end_row = self._hand_off_end(main)
        if end_row is None:
            await self._flush()
        result = RunStageResult([projection.compact_stage(s) for s in self.stages], end_row=end_row)
        if main.status in (S.TERMINAL, S.STOPPED):
            raise ApplicationError(
                f"stage '{main.name}' {main.status.value}: {_error_text(main) or 'failed'}",
                result,
                type=STAGE_FAILED,
                non_retryable=True,
            )
        return result

    async def _with_timeout(self, stage: StageState, body: Any) -> bool:
        """Run a stage's body under its ``stageTimeoutMs`` (the stage's own, or a synthetic stage's), not
        counting paused or window time; True if it timed out (the stage is then failed)."""
        ms = stage.context.get("stageTimeoutMs")
        timeout = None
        if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms > 0:
            timeout = timedelta(milliseconds=ms)
        if timeout is not None and self.resume_task is not None and stage.start_time:
            # a continued run counts what the earlier runs used (paused time included, to be safe)
            timeout = max(timeout - (workflow.now() - _at(stage.start_time)), timedelta(milliseconds=1))
        if timeout is None:
            await body
            return False
        task = asyncio.ensure_future(body)
        try:
            return await self._watch(stage, task, timeout)
        except asyncio.CancelledError:
            task.cancel()  # a task the run created is not canceled with the run itself
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise

    async def _watch(self, stage: StageState, task: asyncio.Future[None], timeout: timedelta) -> bool:
        used = timedelta()
        while not task.done():
            if self.paused or self.in_window:
                await workflow.wait_condition(lambda: task.done() or not (self.paused or self.in_window))
                continue
            started = workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: task.done() or self.paused or self.in_window,
                    timeout=timeout - used,
                    timeout_summary=f"{stage.name}: stage timeout",
                )
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                self._mark_canceled(keep_stage=True, under=stage)
                self._fail(stage, f"Stage timed out after {_human(timeout)} (stageTimeoutMs)", "TimeoutException")
                return True
            used += workflow.now() - started
        await task
        return False

    async def _run_main(self, main: StageState) -> None:
        definition = _definition(main)
        if not self.resuming:  # a continued run passed these checks in its first run
            if definition.manual_skip_allowed:
                main.context["canManuallySkip"] = True  # Deck shows a skip button for such stages
            if not await self._enabled(main):
                main.status = S.SKIPPED
                main.end_time = now_ms()
                return
            if definition.evaluate_context and not await self._evaluate_context(main):
                return
            if self._access_denied(main, definition):
                return
        if truthy(main.context.get("restrictExecutionDuringTimeWindow")) and not await self._run_window(main):
            return
        if not await self.synthetic.run(main, definition.before_stages(main.context), STAGE_BEFORE):
            # Orca plans a stage's on-failure stages whenever the stage fails, a failed before stage included (a
            # canary whose second deploy failed removes the first)
            if main.status == S.TERMINAL and definition.on_failure_stages(main.context):
                await self.synthetic.run_on_failure(main, definition)
            return
        await self._finish_main(main, definition, await self.task_loop.run(main, definition))

    async def _finish_main(self, main: StageState, definition: StageDefinition, status: S) -> None:
        """After the stage's own tasks: its on-failure stages, or its after stages and its success."""
        if status != S.SUCCEEDED:
            if status == S.TERMINAL or main.status == S.TERMINAL:
                await self.synthetic.run_on_failure(main, definition)
            return
        if not await self.synthetic.run(main, definition.after_stages(main.context), STAGE_AFTER):
            if main.status == S.TERMINAL:  # a strategy step failed: the stage's rollback, as Orca plans it
                await self.synthetic.run_on_failure(main, definition)
            return
        if main.status == S.RUNNING:
            main.status = S.SUCCEEDED
        main.end_time = now_ms()

    # ---- pieces of a stage -------------------------------------------------------------------

    def authentication(self) -> JSON:
        """Who this stage runs as: what the pipeline passed (a propagated judge), else the execution's."""
        assert self.input is not None
        return self.input.authentication or dict(self.input.execution.get("authentication") or {})

    def _access_denied(self, stage: StageState, definition: StageDefinition) -> bool:
        """With permissions enforced, fail a stage whose accounts its user may not write to (nothing runs)."""
        auth = self.authentication()
        if not authorization.is_enforced(auth):
            return False
        denial = authorization.stage_denial(auth, definition, stage.context)  # accounts, then what else it uses
        if not denial:
            return False
        workflow.logger.info("stage %s: user %s denied: %s", stage.name, auth.get("user"), denial)
        self._fail(stage, denial, "AccessDeniedException")
        return True

    async def _enabled(self, stage: StageState) -> bool:
        enabled = stage.context.get("stageEnabled")
        if not isinstance(enabled, dict) or not enabled.get("expression"):
            return True
        await self._load_view(stage, enabled["expression"])
        try:
            return expr.evaluate_condition(str(enabled["expression"]), self.expression_context(stage))
        except expr.UrlFetchUnavailable:
            return bool(await self._remote_evaluate(stage, {"value": enabled["expression"]}, condition=True))
        except Exception as err:  # noqa: BLE001 - Orca skips a stage whose condition cannot be evaluated
            workflow.logger.warning("stageEnabled of %s failed to evaluate: %s", stage.name, err)
            stage.context.setdefault("expressionEvaluationSummary", {})[str(enabled["expression"])] = [
                _summary_entry(str(err))
            ]
            return False

    async def _evaluate_context(self, stage: StageState) -> bool:
        """v4: evaluate every ``${...}`` in the stage's context as it starts; False if that failed the stage."""
        keep = {k: stage.context[k] for k in ("stageEnabled",) if k in stage.context}
        rest = {k: v for k, v in stage.context.items() if k not in keep}
        if not _has_expression(rest):
            return True  # nothing to evaluate: no need to read the execution
        await self._load_view(stage, rest)
        try:
            result = expr.process(stage.context, self.expression_context(stage))
            value, summary = result.value, result.summary
        except expr.UrlFetchUnavailable:
            value, summary = await self._remote_evaluate(stage, stage.context)
        stage.context = {**value, **keep}
        if summary:
            stage.context.setdefault("expressionEvaluationSummary", {}).update(summary)
            if truthy(stage.context.get("failOnFailedExpressions")):
                self._fail(stage, "Failed to evaluate expressions: " + ", ".join(summary), "SpelEvaluationException")
                return False
        return True

    async def _remote_evaluate(self, stage: StageState, value: Any, condition: bool = False) -> Any:
        """Evaluate in an activity, where ``#fromUrl`` and friends may reach allow-listed URLs."""
        ctx = self.expression_context(stage)
        result = await workflow.execute_activity(
            "evaluate_expressions",
            {
                "value": value,
                "condition": condition,
                "root": ctx.root,
                "fallback": ctx.fallback,
                "execution": ctx.execution,
                "currentStageId": ctx.current_stage_id,
                "user": ctx.user,
                "timestampMs": ctx.timestamp_ms,
            },
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=3),
            summary=f"{stage.name}: evaluate expressions",
        )
        if condition:
            return result["value"]
        return result["value"], result["summary"]

    async def _run_window(self, main: StageState) -> bool:
        window_stage = self.synthetic.add(
            main,
            SyntheticStage(
                type="restrictExecutionDuringTimeWindow",
                name="restrictExecutionDuringTimeWindow",
                context={
                    k: main.context[k] for k in ("restrictedExecutionWindow", "skipWindowText") if k in main.context
                },
            ),
            STAGE_BEFORE,
        )
        if window_stage.status.is_complete:
            return True  # a continued run: the window opened before
        window_stage.status = S.RUNNING
        window_stage.start_time = now_ms()
        task = TaskState(
            "1",
            "suspendExecutionDuringTimeWindow",
            "com.netflix.spinnaker.orca.pipeline.RestrictExecutionDuringTimeWindow"
            "$SuspendExecutionDuringTimeWindowTask",
            S.RUNNING,
            now_ms(),
            stage_start=True,
            stage_end=True,
        )
        window_stage.tasks = [task]
        try:
            window = ExecutionWindow.parse(main.context)
        except Exception as err:  # noqa: BLE001 - bad window config fails the stage with the field named
            task.status = S.TERMINAL
            task.end_time = now_ms()
            self._fail(window_stage, str(err), "IllegalArgumentException")
            self._fail(main, str(err), "IllegalArgumentException")
            return False
        tz = self.input.window_timezone if self.input else "America/Los_Angeles"
        start = next_window_start(window, workflow.now(), tz)
        manual = (self.input.trigger.get("type") == "manual") if self.input else False
        start = start + jitter_delay(window, workflow.random(), manual)
        skipped = lambda: truthy(window_stage.context.get("skipRemainingWait"))  # noqa: E731
        if start > workflow.now() and not skipped():
            window_stage.status = S.SUSPENDED
            window_stage.scheduled_time = int(start.timestamp() * 1000)
            self._changed()
            self.in_window = True
            try:
                await _wait(skipped, start - workflow.now(), f"execution window: {describe(window, tz)}")
            finally:
                self.in_window = False
        task.status = S.SUCCEEDED
        task.end_time = window_stage.end_time = now_ms()
        window_stage.status = S.SUCCEEDED
        return True

    # ---- child pipelines ---------------------------------------------------------------------

    async def start_child_pipeline(self, stage: StageState, config: JSON, trigger: JSON, wait: bool) -> str:
        assert self.input is not None
        execution_id = self._new_id()
        start = child_pipeline_start(
            execution_id,
            config,
            trigger,
            self.input.window_timezone,
            self.input.activity_queues,
            workflow.now(),
            authentication=self.authentication(),
        )
        handle = await workflow.start_child_workflow(
            "Pipeline",
            start.input,
            id=execution_id,
            result_type=start.result_type,
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL if wait else ParentClosePolicy.ABANDON,
            search_attributes=start.search_attributes,
            static_summary=start.summary,
        )
        self.child_pipelines[stage.id] = handle
        return execution_id

    async def wait_child_pipeline(self, stage: StageState) -> JSON:
        handle = self.child_pipelines[stage.id]
        try:
            result = await handle
            return result.to_json()
        except ChildWorkflowError as err:
            failed = unwrap_failure(err, ExecutionState)
            if failed is not None:
                return failed.to_json()
            if isinstance(err.cause, CancelledError):
                return {"id": handle.id, "status": "CANCELED"}
            return {
                "id": handle.id,
                "status": "TERMINAL",
                "stages": [{"context": {"exception": {"details": {"error": str(err.cause or err)}}}}],
            }

    # ---- cancel, failure, helpers --------------------------------------------------------------

    def _mark_canceled(self, keep_stage: bool = False, under: StageState | None = None) -> None:
        """Cancel what is unfinished: every stage (but the ``keep_stage`` one, the timed-out stage), or
        only ``under`` and the stages below it."""
        top = under or self.stages[0]
        for st in self.stages:
            if st.status.is_complete or not self._within(st, top):
                continue
            for t in st.tasks:
                if not t.status.is_complete:
                    t.status = S.CANCELED
                    t.end_time = t.end_time or (now_ms() if t.start_time else None)
            if keep_stage and st is top:
                continue
            st.status = S.CANCELED
            st.end_time = now_ms()

    def _within(self, stage: StageState, top: StageState) -> bool:
        """Is ``stage`` ``top`` or below it (its synthetic stages, theirs...)?"""
        by_id = {s.id: s for s in self.stages}
        current: StageState | None = stage
        while current is not None:
            if current is top:
                return True
            current = by_id.get(current.parent_stage_id or "")
        return False

    async def _run_cancel_hooks(self, canceled_only: bool = False) -> None:
        """Call each started task's ``on_cancel`` activity once (webhook cancel endpoints and the like);
        ``canceled_only``: only for tasks a timeout has just canceled."""
        for st in self.stages:
            specs = {spec.name: spec for spec in _definition(st).tasks(st.context)} if st.tasks else {}
            for task in st.tasks:
                spec = specs.get(task.name)
                if spec is None or spec.on_cancel is None or task.start_time is None:
                    continue
                if canceled_only and task.status != S.CANCELED:
                    continue
                try:
                    await workflow.execute_activity(
                        spec.on_cancel,
                        self.task_loop.task_input(st, spec, task, 0),
                        result_type=TaskResult,
                        start_to_close_timeout=timedelta(seconds=60),
                        heartbeat_timeout=side_heartbeat(spec.on_cancel),
                        retry_policy=RetryPolicy(maximum_attempts=3),
                        summary=f"{st.name}: cancel {spec.name}",
                    )
                except (ActivityError, CancelledError) as err:
                    workflow.logger.warning("cancel hook %s of %s failed: %s", spec.on_cancel, st.name, err)
                break

    def _fail(self, stage: StageState, error: str, kind: str, operation: str | None = None) -> None:
        self._changed()
        stage.status = stage.failure_status()
        stage.end_time = now_ms()
        stage.context["exception"] = {
            "details": {"error": error, "errors": [error]},
            "exceptionType": kind,
            "shouldRetry": False,
            "timestamp": now_ms(),
            **({"operation": operation} if operation else {}),
        }

    def _skip(self, stage: StageState) -> S:
        for t in stage.tasks:
            if not t.status.is_complete:
                t.status = S.SKIPPED
        stage.status = S.SKIPPED
        stage.end_time = now_ms()
        return S.SKIPPED

    async def _unpaused(self) -> None:
        if self.paused:
            await workflow.wait_condition(lambda: not self.paused)

    def _stage(self, stage_id: str) -> StageState | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def _new_id(self) -> str:
        return ulid_from(now_ms(), workflow.random())

    def execution_view(self) -> JSON:
        """The execution as last loaded (or as a previous release's input carried it), with this stage
        workflow's stages brought up to date."""
        assert self.input is not None
        base = self.view if self.view is not None else self.input.execution
        view = copy.deepcopy(base) if base else {"stages": []}
        view["trigger"] = self._trigger()
        mine = {s.id: s.to_json() for s in self.stages}
        view["stages"] = [mine.pop(s.get("id"), s) for s in view.get("stages", [])] + list(mine.values())
        return view

    def _trigger(self) -> JSON:
        """The trigger, its ``parentExecution`` materialised if it was loaded for an expression."""
        assert self.input is not None
        trigger = self.input.trigger
        if self.parent_view is not None:
            trigger = {**trigger, "parentExecution": self.parent_view}
        return trigger

    async def _load_view(self, stage: StageState, reads: Any = None) -> None:
        """Load the store's view of the execution (once per point that needs it): for ``reads`` (the
        expressions about to be evaluated, by default the stage's context) and the tasks after it."""
        assert self.input is not None
        if self.input.execution:
            return  # a previous release's input: it carries its snapshot
        self.view = await projection.load(self.input.execution_id)
        parent = self.input.trigger.get("parentExecution")
        wanted = _mentions(reads or stage.context, "parentExecution")
        if self.parent_view is None and isinstance(parent, dict) and is_reference(parent) and wanted:
            loaded = await projection.load(str(parent["id"]))
            self.parent_view = loaded or None

    def _ancestor_outputs(self) -> list[JSON]:
        """The outputs of the stage's ancestors, nearest first (breadth-first over requisite refIds, as
        ``StageGraph.upstream``), from the loaded view: the input names no ancestors, which would make
        a linear pipeline's inputs grow with the square of its length."""
        assert self.input is not None
        if self.input.ancestor_outputs or self.view is None:
            return list(self.input.ancestor_outputs)
        tops = {
            str(s.get("refId")): s
            for s in self.view.get("stages", [])
            if isinstance(s, dict) and s.get("parentStageId") is None
        }
        found: dict[str, None] = {}
        todo = deque(str(r) for r in self.stages[0].requisite_stage_ref_ids)
        while todo:
            ref = todo.popleft()
            if ref not in found and ref in tops:
                found[ref] = None
                todo.extend(str(r) for r in tops[ref].get("requisiteStageRefIds") or [])
        return [dict(tops[ref].get("outputs") or {}) for ref in found]

    # ---- the store's projection, continue-as-new, reminders ------------------------------------

    def _changed(self) -> None:
        """Something the store shows changed: the writer records this workflow's stages."""
        self.wanted += 1

    async def _writer(self) -> None:
        """Write the stages whenever they changed, one write at a time, newest state each time.

        When the pipeline recorded this stage's start (``start_version``), the first write waits until the stage
        ends or something must be in the store now (a flush), or :data:`projection.FIRST_WRITE_AFTER` has passed:
        a short stage is one write, and its first workflow task holds no write."""
        assert self.input is not None
        if self.input.start_version and self.input.resume is None:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self.flushing,
                    timeout=projection.FIRST_WRITE_AFTER,
                    timeout_summary="store the stage's progress",
                )
        while True:
            await workflow.wait_condition(lambda: self.wanted > self.written)
            target = self.wanted
            self.write_started = True
            update = {
                "id": self.input.execution_id,
                "application": self.input.application,
                "version": self.versions.next(),
                "stages": [{"seq": self.input.seq + i, "stage": s.to_json()} for i, s in enumerate(self.stages)],
            }
            await projection.record(update, f"store {self.stages[0].name} ({self.stages[0].status.value})")
            self.written = target

    def _hand_off_end(self, main: StageState) -> JSON | None:
        """The stage's end row for the pipeline to write (``RunStageResult.end_row``), when this stage has written
        nothing yet and nothing waits for its write, is alone (no synthetic stages), ends without failing its
        pipeline and its changes are small; else None (the stage writes its end itself, before it returns).

        The pipeline writes the row with the next stage's start, or at once if nothing starts that could read it
        first: one store write per short stage instead of two, and none on the stage's own path to its end."""
        if self.start_context is None or self.write_started or len(self.stages) != 1:
            return None
        if self.flushing:  # something waits for this workflow's own write (a PATCH answers once the store has it)
            return None
        if main.status in (S.TERMINAL, S.STOPPED, S.CANCELED):
            return None
        delta = projection.end_row_delta(self.start_context, main)
        if len(json.dumps(delta, default=str)) > projection.END_HANDOFF_MAX_BYTES:
            return None
        return delta

    async def _flush(self) -> None:
        """Wait until the store has this workflow's stages as they are now."""
        self.flushing = True
        self._changed()
        target = self.wanted
        await workflow.wait_condition(lambda: self.written >= target)

    def _restore(self, resume: StageResume) -> None:
        self.stages = resume.stages
        self.skip_requested = set(resume.skip_requested)
        self.resume_task = (resume.stage_id or resume.stages[0].id, resume.task_started_ms, resume.poll)
        self.resuming = True

    def _may_continue(self, stage: StageState, task: TaskState) -> bool:
        """Continue as new from a poll when this is the only task under way (no other activity, timer,
        child pipeline or reminder in flight), whether the stage is this workflow's own or a synthetic one."""
        assert self.input is not None
        if self.child_pipelines or self.reminders is not None or self.in_window:
            return False
        busy = [t for s in self.stages for t in s.tasks if t.status in (S.RUNNING, S.PAUSED)]
        alone = len(busy) == 1 and busy[0] is task
        return alone and projection.should_continue(self.input.continue_after_events)

    async def _continue_as_new(self, stage: StageState, started: datetime, poll: int) -> None:
        assert self.input is not None
        await self._flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        resume = StageResume(
            stages=self.stages,
            skip_requested=sorted(self.skip_requested),
            task_started_ms=int(started.timestamp() * 1000),
            poll=poll,
            stage_id=stage.id,
        )
        workflow.continue_as_new(
            dataclasses.replace(self.input, stage=self.stages[0], paused=self.paused, resume=resume)
        )

    async def _start_reminders(self, stage: StageState) -> None:
        """Orca's ``notifyEveryMs``: a workflow of its own repeats the judgment's notifications while it waits."""
        assert self.input is not None
        inp = reminder_input(stage, self._summary_execution(), lambda text: self._evaluate_text(stage, text))
        if inp is None:
            return
        if any("${" in str(e.get("message")) for e in inp.entries):
            await self._load_view(stage)
            inp = reminder_input(stage, self._summary_execution(), lambda text: self._evaluate_text(stage, text))
            assert inp is not None
        self.reminders = await workflow.start_child_workflow(
            JudgmentReminders.run,
            inp,
            id=f"{workflow.info().workflow_id}.reminders",
            static_summary=f"reminders of the judgment {stage.name}",
        )

    async def _stop_reminders(self) -> None:
        if self.reminders is not None:
            handle, self.reminders = self.reminders, None
            with contextlib.suppress(Exception):
                handle.cancel()

    def _summary_execution(self) -> JSON:
        assert self.input is not None
        return {
            "id": self.input.execution_id,
            "application": self.input.application,
            "name": self.input.pipeline_name,
            "status": "RUNNING",
            "trigger": self.input.trigger,
        }

    def _evaluate_text(self, stage: StageState, text: str) -> str:
        value = expr.process(text, self.expression_context(stage)).value
        return value if isinstance(value, str) else str(value)

    def expression_context(self, stage: StageState) -> expr.EvaluationContext:
        assert self.input is not None
        execution = self.execution_view()  # one copy serves both the `execution` root and #stage(...)
        trigger = execution["trigger"]
        root = dict(stage.context)
        root.update({"trigger": trigger, "parameters": trigger.get("parameters") or {}, "execution": execution})
        return expr.EvaluationContext(
            root=root,
            fallback=[stage.outputs, *self._ancestor_outputs()],
            execution=execution,
            current_stage_id=stage.id,
            url_fetcher=None,
            user=self.input.user,
            timestamp_ms=now_ms(),
        )


def _has_expression(value: Any) -> bool:
    """Does ``value`` hold a ``${...}`` anywhere (strings, map keys, lists)?"""
    return _mentions(value, "${")


def _mentions(value: Any, text: str) -> bool:
    if isinstance(value, str):
        return text in value
    if isinstance(value, dict):
        return any(_mentions(k, text) or _mentions(v, text) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions(v, text) for v in value)
    return False


def _summary_entry(description: str) -> JSON:
    return {
        "description": description,
        "exceptionType": "SpelEvaluationException",
        "level": "ERROR",
        "timestamp": now_ms(),
    }

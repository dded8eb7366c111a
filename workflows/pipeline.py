"""The pipeline workflow: one Spinnaker execution (a pipeline or an orchestration).

It walks the stage graph, starts each ready stage as a child workflow, runs branches concurrently,
applies Spinnaker's failure options and final-status rules, and answers the operator controls:
cancel (a signal naming who and why, then Temporal cancellation, which reaches children and their
activities), pause/resume (signals), restart of a finished stage (an update; a finished execution
is restarted by a new run of the same workflow id, see ``workflows/operations.py``).
``limitConcurrent`` and ``maxConcurrentExecutions`` are honoured through a per-config gate workflow.

The workflow keeps the execution compact (stage configs, statuses, times, the few context keys its
rules read); the store's projection holds the rest, written by the stage workflows and by this one
(the header, the stages it marks itself). It continues as new at a quiet point once its history
is long, so its history grows with the work of one run, never with the square of the stage count.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, CancelledError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from core.fields import parse_boolean
    from core.ids import ulid_from
    from core.messages.notifications import ENGINE_MARK
    from core.status import ExecutionStatus as S

    from . import authorization, projection, search
    from .config import PipelineConfig
    from .errors import ExecutionFinishingError, InvalidPipelineError, StageNotFinishedError
    from .execution import ORCHESTRATION, PIPELINE, ExecutionState, StageState
    from .graph import StageGraph
    from .messages import (
        PIPELINE_FAILED,
        CancelRequest,
        PipelineCarry,
        RestartStageInput,
        RunPipelineInput,
        RunStageInput,
        RunStageResult,
        unwrap_failure,
    )
    from .rules import pipeline_status
    from .stage import StageWorkflow, now_ms
    from .stages import resolve

GATE_PREFIX = "concurrency:"


def stage_workflow_id(execution_id: str, ref_id: str, attempt: int) -> str:
    """Children are named after their execution and refId, so the Web UI reads like the pipeline."""
    return f"{execution_id}.stage-{ref_id}" + (f".restart-{attempt}" if attempt else "")


@workflow.defn(name="Pipeline")
class PipelineWorkflow:
    def __init__(self) -> None:
        self.ex: ExecutionState | None = None
        self.graph: StageGraph | None = None
        self.paused = False
        self.cancel_request: CancelRequest | None = None
        self.admitted = False
        self.superseded_by: str | None = None
        self.restarts: list[RestartStageInput] = []
        self.attempts: dict[str, int] = {}
        self.halting = False
        self.inp: RunPipelineInput | None = None
        #: refId → the task running that stage's child workflow
        self.running: dict[str, asyncio.Task[None]] = {}
        self.shown_status = S.NOT_STARTED
        self.versions = projection.Versions()
        self.wanted = 0
        self.written = 0
        #: stage rows this workflow changed itself, and synthetic stages a restart dropped
        self.pending_rows: dict[str, StageState] = {}
        self.pending_removals: list[str] = []
        #: no stage is left to run and the execution is being recorded as finished: restarts are refused
        self.finishing = False
        #: stage id -> RUNNING row not yet written ({seq, stage, version}), and whether a write is under way
        self.start_rows: dict[str, dict[str, Any]] = {}
        self.writing_starts = False
        #: stage id -> end row a stage handed back (``RunStageResult.end_row``) not yet written; written with the
        #: next stage's start row, or at once (``end_rows_now``) when nothing starts that could not read the store
        self.end_rows: dict[str, dict[str, Any]] = {}
        self.end_rows_now = False

    # ---- operator controls -------------------------------------------------------------

    @workflow.signal
    def cancel(self, req: CancelRequest) -> None:
        """Record who canceled and why; the caller then cancels the workflow itself."""
        self.cancel_request = req
        if self.ex is not None:
            self.ex.canceled = True
            self.ex.canceled_by = req.user
            self.ex.cancellation_reason = req.reason
            self._changed()

    @workflow.signal
    async def pause(self, user: str) -> None:
        if self.ex is None or self.ex.status.is_complete or self.paused:
            return
        self.paused = True
        self.ex.paused = {"pausedBy": user, "pauseTime": now_ms()}
        self.ex.status = S.PAUSED
        self._changed()
        await self._tell_children("pause", user)

    @workflow.signal
    async def resume(self, user: str) -> None:
        if self.ex is None or not self.paused:
            return
        self.paused = False
        paused = self.ex.paused or {}
        paused.update(resumedBy=user, resumeTime=now_ms())
        paused["pausedMs"] = paused.get("pausedMs", 0) + paused["resumeTime"] - paused.get("pauseTime", 0)
        self.ex.paused = paused
        if self.ex.status == S.PAUSED:
            self.ex.status = S.RUNNING
        self._changed()
        await self._tell_children("resume", user)

    @workflow.update
    async def pause_and_record(self, user: str) -> None:
        """Pause, answering once the store shows it: Gate's read right after a pause sees PAUSED, as Orca's does."""
        await self.pause(user)
        await self._flush()

    @workflow.update
    async def resume_and_record(self, user: str) -> None:
        """Resume, answering once the store shows it (read-your-writes for the API)."""
        await self.resume(user)
        await self._flush()

    @workflow.signal
    def admit(self) -> None:
        """From the concurrency gate: this execution may start."""
        self.admitted = True

    @workflow.signal
    def supersede(self, by: str) -> None:
        """From the concurrency gate: a newer execution replaced this waiting one."""
        self.superseded_by = by

    @workflow.update
    def restart_stage(self, req: RestartStageInput) -> dict[str, Any]:
        self.restarts.append(req)
        return {"stageId": req.stage_id, "accepted": True}

    @restart_stage.validator
    def _validate_restart(self, req: RestartStageInput) -> None:
        assert self.ex is not None
        if self.finishing:
            raise ExecutionFinishingError(f"execution {self.ex.id} is finishing; restart it once it has finished")
        stage = self.ex.stage_by_id(req.stage_id)
        if stage is None or stage.parent_stage_id is not None:
            raise ValueError(f"no top-level stage with id {req.stage_id} in execution {self.ex.id}")
        if not stage.status.is_complete:
            raise StageNotFinishedError(
                f"stage '{stage.name}' is {stage.status.value}; only a finished stage can be restarted"
            )
        if self.ex.canceled:
            raise ValueError("the execution was canceled")
        assert self.graph is not None
        busy = [
            s.name
            for s in self.ex.top_level()
            if s.ref_id in self.graph.downstream([stage.ref_id]) and s.status in (S.RUNNING, S.PAUSED, S.SUSPENDED)
        ]
        if busy:
            raise ValueError(f"stage '{busy[0]}', downstream of '{stage.name}', is still running")

    @workflow.query
    def execution(self) -> dict[str, Any]:
        assert self.ex is not None
        return self.ex.to_json()

    @workflow.query
    def stage_workflows(self) -> dict[str, str]:
        """Stage id → id of the child workflow running it (for PATCHes and live stage state)."""
        assert self.ex is not None
        return {s.id: s.workflow_id for s in self.ex.stages if s.workflow_id}

    # ---- the run -------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: RunPipelineInput) -> ExecutionState:
        self.inp = inp
        carry = inp.continued
        if inp.resume is not None:
            self.ex = inp.resume
            self._parse(self.ex.pipeline_config)
            if carry is not None:
                self._restore(carry)
            if inp.restart_stage_id:
                self._apply_restart(RestartStageInput(inp.restart_stage_id, inp.restart_user or "anonymous"))
        else:
            self.ex = _new_execution(inp)
            try:
                self._parse(inp.config)
            except InvalidPipelineError as err:
                return await self._refuse(str(err))
        ex = self.ex
        gate = self._gate_id()
        if carry is None:
            if inp.resume is None and not gate and not ex.start_time_expiry:
                # nothing holds a fresh start back: its first record shows it RUNNING (one write, not two,
                # before the first stage starts)
                ex.status, ex.start_time = S.RUNNING, now_ms()
                self._upsert_status()
            target = self.wanted
            await self._record_first()
            self.written = max(self.written, target)
        asyncio.ensure_future(self._writer())
        asyncio.ensure_future(self._start_writer())
        try:
            if ex.start_time is None and self._expired():
                return await self._finish(S.CANCELED)
            if gate and ex.start_time is None and not await self._wait_for_slot(gate):
                return await self._finish(S.CANCELED, gate)
            ex.status = S.PAUSED if self.paused else S.RUNNING
            ex.start_time = ex.start_time or now_ms()
            self._upsert_status()
            await self._walk()
            # from here on no restart is accepted: one accepted before is run by the walk itself
            self.finishing = True
        except asyncio.CancelledError:
            await self._cancel_everything()
            await self._finish(S.CANCELED, gate)
            raise
        return await self._finish(pipeline_status(ex.stages, canceled=ex.canceled), gate)

    def _parse(self, raw: dict[str, Any]) -> None:
        config = PipelineConfig.parse(raw)
        self.graph = StageGraph.build(config.stages)
        for stage in config.stages:
            resolve(stage.type, stage.alias, stage=stage.label)

    async def _refuse(self, error: str) -> ExecutionState:
        assert self.ex is not None
        self.ex.start_time = self.ex.end_time = now_ms()
        self.ex.system_notifications.append(
            {"createdAt": now_ms(), "group": "validation", "message": error, "closed": False}
        )
        self.ex.status = S.TERMINAL
        self._upsert_status()
        await self._record_first()
        raise ApplicationError(f"pipeline refused: {error}", self.ex, type=PIPELINE_FAILED, non_retryable=True)

    async def _walk(self) -> None:
        assert self.ex is not None and self.graph is not None
        running = self.running
        while True:
            await workflow.wait_condition(lambda: not self.paused)
            while self.restarts:
                self._apply_restart(self.restarts.pop(0))
                self.halting = False
            if not self.halting:
                statuses = {s.ref_id: s.status for s in self.ex.top_level()}
                ready = [ref for ref in self.graph.ready(statuses) if ref not in running]
                if ready and not running and self._should_continue():
                    await self._continue_as_new()  # a quiet point: no stage under way
                for ref in ready:
                    running[ref] = asyncio.ensure_future(self._run_stage(ref))
            if not running:
                break
            await workflow.wait_condition(lambda: any(t.done() for t in running.values()) or bool(self.restarts))
            for ref, task in list(running.items()):
                if not task.done():
                    continue
                del running[ref]
                task.result()
                stage = self.ex.stage_by_ref(ref)
                if stage is not None and stage.status in (S.TERMINAL, S.CANCELED):
                    # a halted pipeline stops its other branches, as Orca's CompleteExecution does
                    self.halting = True
                    for other in running.values():
                        other.cancel()
            self._upsert_status()
            if self.end_rows and not self._end_rows_can_wait():
                self.end_rows_now = True

    async def _run_stage(self, ref: str) -> None:
        assert self.ex is not None and self.inp is not None and self.graph is not None
        stage = self.ex.stage_by_ref(ref)
        assert stage is not None
        attempt = self.attempts.get(ref, 0)
        stage.workflow_id = stage_workflow_id(self.ex.id, ref, attempt)
        stage.status = S.RUNNING
        stage.start_time = now_ms()
        upstream = [self.ex.stage_by_ref(r) for r in self.graph.upstream(ref)]
        start_version = self.versions.next()
        inp = RunStageInput(
            execution_id=self.ex.id,
            application=self.ex.application,
            stage=StageState(**{**stage.__dict__, "context": copy.deepcopy(stage.context), "tasks": [], "outputs": {}}),
            trigger=self.ex.trigger,
            window_timezone=self.inp.window_timezone,
            activity_queues=self.inp.activity_queues,
            paused=self.paused,
            user=(self.ex.authentication or {}).get("user"),
            authentication=authorization.effective_authentication(self.ex.authentication or {}, upstream),
            pipeline_name=self.ex.name or self.ex.description,
            pipeline_config_id=self.ex.pipeline_config_id,
            execution_type=self.ex.type,
            seq=self._seq(stage),
            continue_after_events=self.inp.continue_after_events,
            start_version=start_version,
        )
        if self.end_rows and not starts_without_store(stage):
            # this stage may read the store as it starts: the stages that ended before it are there first
            self.end_rows_now = True
            await workflow.wait_condition(lambda: not (self.end_rows or self.writing_starts))
        try:
            child = await workflow.start_child_workflow(
                StageWorkflow.run,
                inp,
                id=stage.workflow_id,
                static_summary=f"{stage.name} ({stage.type}) of {self.ex.name or self.ex.description or self.ex.id}",
            )
            # written while the stage's first workflow task runs (see _start_writer)
            self.start_rows[stage.id] = {"seq": self._seq(stage), "stage": stage.to_json(), "version": start_version}
            result = await child
            self._merge(result)
            if result.end_row is not None:
                row = projection.end_row(inp.stage.context, result.stage, result.end_row, inp.seq, self.versions.next())
                self.end_rows[stage.id] = row
        except ChildWorkflowError as err:
            failed = unwrap_failure(err, RunStageResult)
            if failed is not None:
                self._merge(failed)
            elif isinstance(err.cause, CancelledError):
                self._mark_stage(stage, S.CANCELED)
            else:
                self._mark_stage(stage, S.TERMINAL, f"stage workflow failed: {err.cause or err}")
        except asyncio.CancelledError:
            self._mark_stage(stage, S.CANCELED)
            if not self.halting:
                raise

    def _merge(self, result: RunStageResult) -> None:
        """Take a stage's compact result: its status and times, the context keys the rules read, and
        its synthetic stages (compact); the stage keeps its config context for restarts."""
        assert self.ex is not None
        main = result.stage
        index = next(i for i, s in enumerate(self.ex.stages) if s.id == main.id)
        mine = self.ex.stages[index]
        for key in projection.RESULT_KEYS:
            mine.context.pop(key, None)
        mine.context.update(main.context)
        mine.status, mine.start_time, mine.end_time = main.status, main.start_time, main.end_time
        mine.last_modified, mine.scheduled_time = main.last_modified, main.scheduled_time
        known = {s.id: i for i, s in enumerate(self.ex.stages)}
        new = [s for s in result.stages[1:] if s.id not in known]
        for synthetic in result.stages[1:]:
            if synthetic.id in known:
                self.ex.stages[known[synthetic.id]] = synthetic
        self.ex.stages[index + 1 : index + 1] = new

    def _mark_stage(self, stage: StageState, status: S, error: str | None = None) -> None:
        stage.status = status
        stage.end_time = now_ms()
        if error:
            stage.context["exception"] = {
                "details": {"error": error, "errors": [error]},
                "exceptionType": "StageWorkflowFailed",
                "shouldRetry": False,
            }
            self.pending_rows[stage.id] = stage  # its workflow could not record its own end
            self._changed()

    def _apply_restart(self, req: RestartStageInput) -> None:
        """Reset a stage and everything downstream of it, as Orca's RestartStageHandler does."""
        assert self.ex is not None and self.graph is not None
        stage = self.ex.stage_by_id(req.stage_id)
        if stage is None:
            return
        refs = set(self.graph.downstream([stage.ref_id]))
        reset_ids = {s.id for s in self.ex.top_level() if s.ref_id in refs}
        self.pending_removals += [s.id for s in self.ex.stages if s.parent_stage_id in reset_ids]
        self.ex.stages = [s for s in self.ex.stages if s.parent_stage_id not in reset_ids]
        for s in self.ex.top_level():
            if s.id not in reset_ids:
                continue
            previous = s.context.pop("exception", None)
            if s.id == stage.id:
                s.context["restartDetails"] = {
                    "restartedBy": req.user,
                    "restartTime": now_ms(),
                    **({"previousException": previous} if previous else {}),
                }
            for key in (
                "expressionEvaluationSummary",
                "judgmentStatus",
                "judgmentInput",
                "lastModifiedBy",
                "skipRemainingWait",
                "manualSkip",
            ):
                s.context.pop(key, None)
            resolve(s.type, s.context.get("alias")).prepare_for_restart(s.context)
            s.status, s.start_time, s.end_time, s.tasks, s.outputs = S.NOT_STARTED, None, None, [], {}
            s.last_modified = None
            self.attempts[s.ref_id] = self.attempts.get(s.ref_id, 0) + 1
            self.pending_rows[s.id] = s
        self.ex.status = S.RUNNING
        self.ex.end_time = None
        self._changed()

    async def _cancel_everything(self) -> None:
        """The workflow was canceled: stop running stages (their children get the cancel too)."""
        assert self.ex is not None
        self.ex.canceled = True
        self.halting = True
        for task in self.running.values():
            task.cancel()  # cancels the stage's child workflow, which cancels its activities
        if self.running:
            await asyncio.gather(*self.running.values(), return_exceptions=True)
        if self.cancel_request is None:
            self.ex.canceled_by = self.ex.canceled_by or "anonymous"
        for stage in self.ex.top_level():
            if not stage.status.is_complete and stage.status != S.NOT_STARTED:
                self._mark_stage(stage, S.CANCELED)

    # ---- concurrency -------------------------------------------------------------------

    def _gate_id(self) -> str | None:
        assert self.ex is not None
        if self.ex.type != PIPELINE or not self.ex.pipeline_config_id:
            return None
        if self.ex.limit_concurrent or self.ex.max_concurrent_executions > 0:
            return GATE_PREFIX + self.ex.pipeline_config_id
        return None

    async def _wait_for_slot(self, gate: str) -> bool:
        assert self.ex is not None
        limit = 1 if self.ex.limit_concurrent else self.ex.max_concurrent_executions
        await workflow.execute_activity(
            "request_concurrency_slot",
            {"gateId": gate, "executionId": self.ex.id, "limit": limit, "keepWaiting": self.ex.keep_waiting_pipelines},
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            summary="wait for a concurrency slot",
        )
        expiry = self.ex.start_time_expiry
        try:
            await workflow.wait_condition(
                lambda: self.admitted or self.superseded_by is not None,
                timeout=timedelta(milliseconds=max(0, expiry - now_ms())) if expiry else None,
                timeout_summary="startTimeExpiry",
            )
        except TimeoutError:
            self._expired()
            return False
        if self.superseded_by is not None:
            self.ex.canceled = True
            self.ex.canceled_by = "system"
            self.ex.cancellation_reason = f"superseded by a newer execution ({self.superseded_by})"
            return False
        return True

    def _expired(self) -> bool:
        """Orca's ``startTimeExpiry``: an execution that could not start in time is canceled."""
        assert self.ex is not None
        expiry = self.ex.start_time_expiry
        if not expiry or now_ms() < expiry:
            return False
        self.ex.canceled = True
        self.ex.canceled_by = "system"
        self.ex.cancellation_reason = "Could not begin execution before start time expiry"
        return True

    async def _release(self, gate: str | None) -> None:
        if not gate or self.superseded_by is not None:
            return
        assert self.ex is not None
        try:
            await workflow.get_external_workflow_handle(gate).signal("release", self.ex.id)
        except Exception as err:  # noqa: BLE001 - a missing gate has nothing to release
            workflow.logger.warning("could not release concurrency slot: %s", err)

    # ---- endings -------------------------------------------------------------------------

    async def _finish(self, status: S, gate: str | None = None) -> ExecutionState:
        """Record the final status, give back the concurrency slot, and end the workflow.

        SUCCEEDED (and CANCELED, which re-raises the cancel) complete the workflow; TERMINAL fails
        it, with the execution attached, so the Web UI shows failed pipelines as failed.
        """
        assert self.ex is not None
        self.ex.status = status
        self.ex.end_time = now_ms()
        if self.ex.paused and self.ex.paused.get("resumeTime") is None:
            self.ex.paused = None
        self._upsert_status()
        await self._release(gate)
        await self._flush()  # the final record lands before the workflow ends (retried until it does)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if status in (S.TERMINAL, S.STOPPED):
            raise ApplicationError(
                f"pipeline {status.value}: {_first_error(self.ex) or 'a stage failed'}",
                self.ex,
                type=PIPELINE_FAILED,
                non_retryable=True,
            )
        return self.ex

    def _upsert_status(self) -> None:
        assert self.ex is not None
        if self.ex.status != self.shown_status:  # one upsert per change, not per loop
            self.shown_status = self.ex.status
            workflow.upsert_search_attributes([search.STATUS.value_set(self.ex.status.value)])
            self._changed()

    # ---- the store's projection, continue-as-new -------------------------------------------------

    def _seq(self, stage: StageState) -> int:
        """Where a top-level stage sorts in Gate's JSON (its synthetic stages follow it)."""
        assert self.ex is not None
        tops = self.ex.top_level()
        return next(i for i, s in enumerate(tops) if s.id == stage.id) * projection.SEQ_STRIDE

    def _update(self, *, stages: list[StageState] | None = None, first: bool = False) -> dict[str, Any]:
        """An update of the header (and ``stages``) with the next version."""
        assert self.ex is not None and self.inp is not None
        header = self.ex.to_json(expand=False)
        header.pop("stages", None)
        for key in ("canceledBy", "cancellationReason", "paused", "endTime", "startTime"):
            header.setdefault(key, None)  # a key given as null removes what a previous write stored
        update: dict[str, Any] = {
            "id": self.ex.id,
            "application": self.ex.application,
            "version": self.versions.next(),
            "execution": header,
        }
        rows = stages if stages is not None else list(self.pending_rows.values())
        self.pending_rows = {}
        if rows:
            update["stages"] = [{"seq": self._seq(s), "stage": s.to_json()} for s in rows]
        if self.pending_removals:
            update["removeStageIds"], self.pending_removals = self.pending_removals, []
        if first:
            update["engine"] = {
                ENGINE_MARK[0]: ENGINE_MARK[1],  # its notifications come from its events (the outbox's reader)
                "pipelineConfig": self.ex.pipeline_config,
                "trigger": self.ex.trigger,
                "type": self.ex.type,
                "origin": self.ex.origin,
                "authentication": self.ex.authentication,
                "windowTimezone": self.inp.window_timezone,
                "activityQueues": self.inp.activity_queues,
            }
        return update

    async def _record_first(self) -> None:
        """The execution's first record: header, engine data, and every stage a fresh start shows
        (a restart sends only the stages it reset)."""
        assert self.ex is not None and self.inp is not None
        fresh = self.inp.resume is None
        update = self._update(stages=self.ex.top_level() if fresh else None, first=True)
        await projection.record(update, f"store the execution ({self.ex.status.value})")

    def _changed(self) -> None:
        self.wanted += 1

    async def _writer(self) -> None:
        """Write the header (and stages this workflow marked) whenever they changed, one write at a time; a
        finished header only once the stages' end rows are in (readers take a finished execution as final)."""
        while True:
            await workflow.wait_condition(lambda: self.wanted > self.written and not self._end_rows_unwritten())
            target = self.wanted
            assert self.ex is not None
            await projection.record(self._update(), f"store the execution ({self.ex.status.value})")
            self.written = target

    async def _flush(self) -> None:
        """Wait until the store has the execution's header as it is now."""
        self._changed()
        self.end_rows_now = True
        target = self.wanted
        await workflow.wait_condition(
            lambda: self.written >= target and not (self.start_rows or self.writing_starts or self.end_rows)
        )

    async def _start_writer(self) -> None:
        """Write the RUNNING rows of stages whose child workflow has started, each with the version taken as it
        was started (lower than any its stage workflow writes, so a late one never hides the stage's own rows).

        This write runs while the stage's first workflow task runs, not before it: the stage holds its own first
        write (``StageWorkflow._writer``), so that a short stage writes once, when it ends."""
        while True:
            await workflow.wait_condition(lambda: bool(self.start_rows) or (bool(self.end_rows) and self.end_rows_now))
            rows = projection.latest_rows(self.end_rows, self.start_rows)
            self.start_rows, self.end_rows, self.end_rows_now = {}, {}, False
            self.writing_starts = True
            assert self.ex is not None
            update = {
                "id": self.ex.id,
                "application": self.ex.application,
                "version": max(row["version"] for row in rows.values()),
                "stages": list(rows.values()),
            }
            await projection.record(update, f"store {len(rows)} stage row(s)")
            self.writing_starts = False

    def _end_rows_unwritten(self) -> bool:
        """Is the execution finished while end rows handed back by its stages are not yet in the store?"""
        assert self.ex is not None
        return self.ex.status.is_complete and bool(self.end_rows or self.writing_starts)

    def _end_rows_can_wait(self) -> bool:
        """May the end rows handed back so far ride with the start rows of the stages about to start (written once
        their children have started)? Only when such stages start now, none of which reads the store as it starts,
        and no notification (which reads the store) is being sent; otherwise they are written at once."""
        assert self.ex is not None and self.graph is not None
        if self.paused or self.halting or self.restarts:
            return False
        statuses = {s.ref_id: s.status for s in self.ex.top_level()}
        ready = [ref for ref in self.graph.ready(statuses) if ref not in self.running]
        stages = [self.ex.stage_by_ref(ref) for ref in ready]
        return bool(stages) and all(s is not None and starts_without_store(s) for s in stages)

    def _should_continue(self) -> bool:
        assert self.inp is not None
        return projection.should_continue(self.inp.continue_after_events)

    async def _continue_as_new(self) -> None:
        """Carry the execution and the controls' state into a new run of this workflow id."""
        assert self.ex is not None and self.inp is not None
        await self._flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        carry = PipelineCarry(
            paused=self.paused,
            cancel_request=self.cancel_request,
            admitted=self.admitted,
            restarts=list(self.restarts),
            attempts=dict(self.attempts),
            halting=self.halting,
            version=self.versions.last,
        )
        workflow.continue_as_new(
            dataclasses.replace(self.inp, resume=self.ex, restart_stage_id=None, restart_user=None, continued=carry)
        )

    def _restore(self, carry: PipelineCarry) -> None:
        self.paused = carry.paused
        self.cancel_request = carry.cancel_request
        self.admitted = carry.admitted
        self.restarts = list(carry.restarts)
        self.attempts = dict(carry.attempts)
        self.halting = carry.halting
        self.versions = projection.Versions(carry.version)

    async def _tell_children(self, signal: str, user: str) -> None:
        assert self.ex is not None
        for stage in self.ex.top_level():
            if stage.workflow_id and stage.status in (S.RUNNING, S.PAUSED, S.SUSPENDED):
                try:
                    await workflow.get_external_workflow_handle(stage.workflow_id).signal(signal, user)
                except Exception as err:  # noqa: BLE001 - a stage that just finished cannot be paused
                    workflow.logger.info("could not %s stage %s: %s", signal, stage.name, err)


def starts_without_store(stage: StageState) -> bool:
    """Can ``stage`` run without reading the store's projection of its execution? It evaluates no expression (in
    its context or a ``stageEnabled`` condition), has no synthetic stages, starts no child pipeline (which may read
    its parent) and none of its tasks loads the execution (``TaskSpec.needs_execution``/``needs_ancestors``). Only
    then may the rows of the stages that ended before it be written after it has started
    (``PipelineWorkflow._end_rows_can_wait``)."""
    enabled = stage.context.get("stageEnabled")
    if stage.type == "pipeline" or _mentions(stage.context, "${") or (isinstance(enabled, dict) and enabled):
        return False
    try:
        definition = resolve(stage.type, stage.context.get("alias"))
        if definition.before_stages(stage.context) or definition.after_stages(stage.context):
            return False
        specs = definition.tasks(stage.context)
    except Exception:  # noqa: BLE001 - the stage itself reports a config it cannot plan
        return False
    return all(not (spec.needs_execution or spec.needs_ancestors) for spec in specs)


def _mentions(value: Any, text: str) -> bool:
    if isinstance(value, str):
        return text in value
    if isinstance(value, dict):
        return any(_mentions(k, text) or _mentions(v, text) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions(v, text) for v in value)
    return False


def _first_error(ex: ExecutionState) -> str | None:
    for stage in ex.stages:
        exc = stage.context.get("exception")
        if isinstance(exc, dict) and isinstance(exc.get("details"), dict) and exc["details"].get("error"):
            return f"{stage.name}: {exc['details']['error']}"
    return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _new_execution(inp: RunPipelineInput) -> ExecutionState:
    """The execution as it stands before it starts: every configured stage NOT_STARTED."""
    raw = inp.config if isinstance(inp.config, dict) else {}
    trigger = {
        "type": "manual",
        "user": "[anonymous]",
        "parameters": {},
        "artifacts": [],
        "notifications": [],
        "rebake": False,
        "dryRun": False,
        "strategy": False,
        "resolvedExpectedArtifacts": [],
        **copy.deepcopy(inp.trigger),
    }
    ex = ExecutionState(
        id=inp.execution_id,
        type=inp.type,
        application=str(raw.get("application") or ""),
        name=raw.get("name") if inp.type == PIPELINE else None,
        description=raw.get("description") if inp.type == ORCHESTRATION else None,
        pipeline_config_id=raw.get("id"),
        build_time=inp.build_time_ms or now_ms(),
        limit_concurrent=parse_boolean(raw.get("limitConcurrent")),
        max_concurrent_executions=_int(raw.get("maxConcurrentExecutions")),
        start_time_expiry=_int(raw.get("startTimeExpiry")) or None,
        keep_waiting_pipelines=bool(raw.get("keepWaitingPipelines") is True),
        trigger=trigger,
        authentication=inp.authentication or {"user": "anonymous", "allowedAccounts": []},
        origin=inp.origin,
        notifications=copy.deepcopy(raw.get("notifications") or []),
        pipeline_config=copy.deepcopy(raw),
        spel_evaluator=raw.get("spelEvaluator"),
        source=raw.get("source"),
        template_variables=raw.get("templateVariables"),
    )
    stages: list[Any] = raw["stages"] if isinstance(raw.get("stages"), list) else []
    linear = bool(stages) and not any(isinstance(s, dict) and s.get("refId") is not None for s in stages)
    for i, cfg in enumerate(stages):
        if not isinstance(cfg, dict):
            continue
        context = copy.deepcopy(cfg)
        ref = str(i) if linear else str(cfg.get("refId"))
        requisites = ([str(i - 1)] if i else []) if linear else list(cfg.get("requisiteStageRefIds") or [])
        if linear:
            context["refId"], context["requisiteStageRefIds"] = ref, requisites
        ex.stages.append(
            StageState(
                id=ulid_from(now_ms(), workflow.random()),
                ref_id=ref,
                type=str(cfg.get("type")),
                name=str(cfg.get("name") or cfg.get("type")),
                context=context,
                requisite_stage_ref_ids=requisites,
            )
        )
    return ex

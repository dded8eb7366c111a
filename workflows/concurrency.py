"""``limitConcurrent`` / ``maxConcurrentExecutions`` as Spinnaker does them, on a gate workflow.

One gate per pipeline config (workflow id ``concurrency:<configId>``) holds the executions that
may run and those that wait. Executions ask for a slot (signal-with-start, from an activity) and
wait NOT_STARTED until admitted. When a running one releases its slot, the gate admits the next:
with ``keepWaitingPipelines`` every waiting execution eventually runs in arrival order; without
it only the newest waiting one runs and the older waiting ones are canceled, as Orca's
``StartWaitingExecutions`` does. A gate with nothing to hold ends itself.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow

from core.messages.concurrency import GATE_WORKFLOW, REQUEST_SIGNAL

SWEEP_INTERVAL = timedelta(seconds=60)


@dataclass
class GateState:
    holders: list[str] = field(default_factory=list)
    #: waiting execution ids, oldest first (by creation time: they are ULIDs)
    waiting: list[str] = field(default_factory=list)
    limit: int = 1
    keep_waiting: bool = False


@workflow.defn(name=GATE_WORKFLOW)
class ConcurrencyGateWorkflow:
    def __init__(self) -> None:
        self.state = GateState()
        self.events: list[tuple[str, Any]] = []

    @workflow.signal(name=REQUEST_SIGNAL)
    def request(self, req: dict[str, Any]) -> None:
        self.events.append(("request", req))

    @workflow.signal
    def release(self, execution_id: str) -> None:
        self.events.append(("release", execution_id))

    @workflow.query
    def snapshot(self) -> GateState:
        return self.state

    @workflow.run
    async def run(self, state: GateState | None = None) -> None:
        if state is not None:
            self.state = state
        while True:
            try:
                # while others wait, look now and then for holders that ended without releasing
                # (terminated, or reset): a slot must never stay taken by an execution that is gone
                await workflow.wait_condition(
                    lambda: bool(self.events),
                    timeout=SWEEP_INTERVAL if self.state.waiting else None,
                    timeout_summary="look for finished holders",
                )
            except TimeoutError:
                await self._sweep()
            while self.events:
                kind, arg = self.events.pop(0)
                if kind == "request":
                    await self._request(arg)
                else:
                    await self._release(str(arg))
            if not self.state.holders and not self.state.waiting and not self.events:
                return
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.state)

    async def _sweep(self) -> None:
        gone: list[str] = await workflow.execute_activity(
            "closed_executions",
            list(self.state.holders),
            start_to_close_timeout=timedelta(seconds=30),
            summary="which holders have finished",
        )
        for execution_id in gone:
            workflow.logger.warning("execution %s ended without releasing its slot", execution_id)
            self.events.append(("release", execution_id))

    async def _request(self, req: dict[str, Any]) -> None:
        execution_id = str(req["executionId"])
        self.state.limit = max(1, int(req.get("limit") or 1))
        self.state.keep_waiting = bool(req.get("keepWaiting"))
        if execution_id in self.state.holders:
            await self._signal(execution_id, "admit")  # a retried request: admit again, idempotently
            return
        if execution_id in self.state.waiting:
            return
        if len(self.state.holders) < self.state.limit:
            self.state.holders.append(execution_id)
            await self._signal(execution_id, "admit")
        else:
            # execution ids are ULIDs, so sorting them orders the waiting ones by when they were created
            bisect.insort(self.state.waiting, execution_id)

    async def _release(self, execution_id: str) -> None:
        if execution_id in self.state.waiting:  # canceled while waiting
            self.state.waiting.remove(execution_id)
            return
        if execution_id not in self.state.holders:
            return
        self.state.holders.remove(execution_id)
        if not self.state.keep_waiting and self.state.waiting:
            newest = self.state.waiting.pop()
            for older in self.state.waiting:
                await self._signal(older, "supersede", newest)
            self.state.waiting = [newest]
        while self.state.waiting and len(self.state.holders) < self.state.limit:
            nxt = self.state.waiting.pop(0)
            self.state.holders.append(nxt)
            await self._signal(nxt, "admit")

    async def _signal(self, execution_id: str, name: str, *args: Any) -> None:
        try:
            await workflow.get_external_workflow_handle(execution_id).signal(name, *args)
        except Exception as err:  # noqa: BLE001 - an execution that is gone frees its slot
            workflow.logger.warning("gate could not signal %s to %s: %s", name, execution_id, err)
            if execution_id in self.state.holders:
                self.events.append(("release", execution_id))

"""Activities the engine itself needs: concurrency slots, pipeline configs, URL-reaching expressions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from core.errors import temporal_not_found
from core.observability.metrics import observe_projection_write
from core.status import COMPLETED

FINISHED = {s.value for s in COMPLETED}


class PipelineConfigSource(Protocol):
    """Where a ``pipeline`` stage finds the config of the pipeline it runs (Front50, for Spinnaker)."""

    def get(self, application: str, id_or_name: str) -> dict[str, Any] | None: ...


class DirectoryConfigSource:
    """Pipeline configs as JSON files (``<dir>/<application>/<anything>.json``), matched by id or name.

    The engine's own source until the store (Front50) is in place; tests and ``make demo`` use it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, application: str, id_or_name: str) -> dict[str, Any] | None:
        folder = self.root / application
        if not folder.is_dir():
            return None
        for path in sorted(folder.glob("*.json")):
            try:
                config = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(config, dict) and id_or_name in (config.get("id"), config.get("name")):
                return config
        return None


class MemoryConfigSource:
    """Pipeline configs held in memory (tests, embedding)."""

    def __init__(self, configs: list[dict[str, Any]] | None = None) -> None:
        self.configs = list(configs or [])

    def get(self, application: str, id_or_name: str) -> dict[str, Any] | None:
        for config in self.configs:
            if config.get("application") == application and id_or_name in (config.get("id"), config.get("name")):
                return config
        return None


class StoreConfigSource:
    """Pipeline configs from the store (Front50's part), by id or by name."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def get(self, application: str, id_or_name: str) -> dict[str, Any] | None:
        """A pipeline, else a strategy (deploys with ``strategy: custom`` run one), by id then by name."""
        from core.store import NotFoundError

        for kind in ("pipeline", "strategy"):
            try:
                config: dict[str, Any] = self.store.pipelines.get(id_or_name, kind=kind)
                if config.get("application") == application:
                    return config
            except NotFoundError:
                pass
            try:
                return self.store.pipelines.get_by_name(application, id_or_name, kind=kind)  # type: ignore[no-any-return]
            except NotFoundError:
                continue
        return None


async def store_call(fn: Callable[..., Any], *args: Any) -> Any:
    """A store call off the event loop; the database failing becomes a retryable activity error."""
    from core.store import NotFoundError, StoreError, ValidationError

    try:
        return await asyncio.to_thread(fn, *args)
    except (NotFoundError, ValidationError):
        raise
    except StoreError as err:
        raise ApplicationError(f"store unavailable: {err.message}", type="StoreUnavailable") from None


async def finish_once(
    store: Any, execution_id: str, on_finished: Callable[[dict[str, Any]], Awaitable[Any]] | None
) -> bool:
    """Run ``on_finished`` (the downstream triggers) for a finished execution unless it ran for this finish;
    True if it ran now. Two callers at once may both run it: ``start_dependents`` claims each downstream start
    by event key in the store, so one downstream execution starts either way."""
    pending = await store_call(store.executions.unhandled_finish, execution_id)
    if pending is None:
        return False
    finished_version, execution = pending
    if on_finished is not None:
        await on_finished(execution)
    await store_call(store.executions.mark_finish_handled, execution_id, finished_version)
    return True


class EngineActivities:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        configs: PipelineConfigSource,
        url_fetcher: Callable[[str], str] | None = None,
        store: Any = None,
        on_finished: Callable[[dict[str, Any]], Awaitable[Any]] | None = None,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.configs = configs
        self.url_fetcher = url_fetcher
        self.store = store
        self.on_finished = on_finished

    @activity.defn(name="record_execution_update")
    async def record_execution_update(self, update: dict[str, Any]) -> None:
        """Apply one projection write (``Store.executions.apply_update``; a lower version loses per row).

        When the header is finished, the downstream ``pipeline`` triggers run once per finish, however often
        this is retried or the reconciler finishes it too. A database error is retryable (the engine's local
        activity retries until the write lands); a malformed update is not."""
        from core.store import StoreError, ValidationError

        if self.store is None:
            return
        try:
            written = await asyncio.to_thread(self.store.executions.apply_update, update)
        except ValidationError as err:
            raise ApplicationError(err.message, type="InvalidExecutionUpdate", non_retryable=True) from None
        except StoreError as err:
            raise ApplicationError(f"store unavailable: {err.message}", type="StoreUnavailable") from None
        observe_projection_write(update, written)  # the one place executions and stages are counted
        status = (update.get("execution") or {}).get("status")
        if status in FINISHED:
            await self.finish_once(str(update["id"]))

    async def finish_once(self, execution_id: str) -> bool:
        """The downstream triggers of a finished execution, once per finish (see :func:`finish_once`)."""
        return await finish_once(self.store, execution_id, self.on_finished)

    async def _store_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await store_call(fn, *args)

    @activity.defn(name="load_execution")
    async def load_execution(self, execution_id: str) -> dict[str, Any]:
        """The execution's Gate JSON (expand=true) from the store, for expressions and tasks that read it."""
        from core.store import NotFoundError

        if self.store is None:
            raise ApplicationError("no store configured", type="ExecutionNotFound", non_retryable=True)
        try:
            return await self._store_call(self.store.executions.get, execution_id)  # type: ignore[no-any-return]
        except NotFoundError:
            raise ApplicationError(
                f"execution {execution_id} is not in the store", type="ExecutionNotFound", non_retryable=True
            ) from None

    @activity.defn(name="request_concurrency_slot")
    async def request_concurrency_slot(self, req: dict[str, Any]) -> None:
        """Ask the pipeline config's gate for a slot, starting the gate if none runs (signal-with-start)."""
        from core.messages.concurrency import GATE_WORKFLOW, REQUEST_SIGNAL

        await self.client.start_workflow(
            GATE_WORKFLOW,
            None,
            id=req["gateId"],
            task_queue=self.task_queue,
            start_signal=REQUEST_SIGNAL,
            start_signal_args=[req],
            static_summary=f"concurrency gate for pipeline config {req['gateId'].split(':', 1)[-1]}",
        )

    @activity.defn(name="closed_executions")
    async def closed_executions(self, execution_ids: list[str]) -> list[str]:
        """Which of these executions' workflows are no longer running (for the concurrency gate)."""
        from temporalio.client import WorkflowExecutionStatus
        from temporalio.service import RPCError

        closed = []
        for execution_id in execution_ids:
            try:
                description = await self.client.get_workflow_handle(execution_id).describe()
            except RPCError as err:
                if not temporal_not_found(err):
                    raise
                closed.append(execution_id)
                continue
            if description.status != WorkflowExecutionStatus.RUNNING:
                closed.append(execution_id)
        return closed

    @activity.defn(name="get_pipeline_config")
    def get_pipeline_config(self, req: dict[str, Any]) -> dict[str, Any]:
        config = self.configs.get(str(req.get("application")), str(req.get("pipeline")))
        if config is None:
            raise ApplicationError(
                f"no pipeline '{req.get('pipeline')}' in application '{req.get('application')}'",
                type="PipelineNotFound",
                non_retryable=True,
            )
        if self.store is not None:  # MPTv2: a templated child runs as its template renders it
            from core.store import StoreError
            from templates.stored import rendered_for_start

            try:
                config = rendered_for_start(self.store, config)
            except StoreError as err:
                raise ApplicationError(str(err), type="TemplateError", non_retryable=True) from None
        return config

    @activity.defn(name="evaluate_expressions")
    def evaluate_expressions(self, req: dict[str, Any]) -> dict[str, Any]:
        """Evaluate expressions that reach URLs (``#fromUrl`` and friends), through the allow-list."""
        from canary.expressions import lookups as canary_lookups
        from workflows import expressions as expr
        from workflows.errors import ExpressionError

        ctx = expr.EvaluationContext(
            root=req.get("root") or {},
            fallback=req.get("fallback") or [],
            execution=req.get("execution") or {},
            current_stage_id=req.get("currentStageId"),
            url_fetcher=self.url_fetcher,
            user=req.get("user"),
            timestamp_ms=int(req.get("timestampMs") or 0),
            lookups=canary_lookups(self.store) if self.store is not None else {},
        )
        if req.get("condition"):
            try:
                return {"value": expr.evaluate_condition(str(req["value"]["value"]), ctx)}
            except ExpressionError:
                return {"value": False}
        result = expr.process(req["value"], ctx)
        return {"value": result.value, "summary": result.summary}

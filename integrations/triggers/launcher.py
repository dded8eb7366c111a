"""Starting the pipelines a trigger matched, once per event however often the event arrives.

Every automatic start (a webhook, a git push, a cron tick, a finished upstream execution) goes
through :class:`Launcher`: the store claims ``(event key, pipeline id)`` for a new execution id
first, then the pipeline workflow starts under that id and never a second time. A redelivered
event finds its claim and starts nothing; a crash between the claim and the start is mended by the
next delivery (or the activity's retry), which starts the claimed id.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from core.errors import EngineError
from core.ids import new_ulid
from core.parameters import missing_required
from workflows import operations

log = logging.getLogger(__name__)
Json = dict[str, Any]


@dataclass(frozen=True)
class Launched:
    """What became of one matched pipeline: the execution it has (new or from an earlier delivery),
    or why it did not start."""

    pipeline_id: str
    pipeline_name: str
    execution_id: str | None = None
    started: bool = False
    error: str | None = None

    def to_json(self) -> Json:
        out: Json = {"pipelineId": self.pipeline_id, "pipelineName": self.pipeline_name}
        if self.execution_id:
            out.update(executionId=self.execution_id, started=self.started)
        if self.error:
            out["error"] = self.error
        return out


class Launcher:
    """Starts triggered pipelines through Temporal, de-duplicated by the store."""

    def __init__(self, client: Client, store: Any, settings: Any) -> None:
        self.client = client
        self.store = store
        self.settings = settings

    async def launch(self, pipeline: Json, trigger: Json, event_key: str, *, run_as: str | None = None) -> Launched:
        """Start ``pipeline`` with ``trigger`` unless ``event_key`` already started it; counted by trigger type
        in ``gennaker_trigger_events_total`` (accepted, refused, or duplicate for a redelivered event)."""
        from core.observability.metrics import trigger_event as count_trigger

        launched = await self._launch(pipeline, trigger, event_key, run_as=run_as)
        outcome = "refused" if launched.error else "accepted" if launched.started else "duplicate"
        count_trigger(str(trigger.get("type") or "unknown"), outcome=outcome)
        return launched

    async def _launch(self, pipeline: Json, trigger: Json, event_key: str, *, run_as: str | None) -> Launched:
        pipeline_id, name = str(pipeline.get("id") or ""), str(pipeline.get("name") or "")
        if not pipeline_id:
            return Launched(pipeline_id, name, error="the pipeline has no id (it was never saved)")
        try:  # a templated pipeline runs as its template renders it; one that cannot render is refused, loudly
            if pipeline.get("schema") == "v2" or (pipeline.get("source") or {}).get("type") == "templatedPipeline":
                pipeline = await asyncio.to_thread(_rendered, self.store, pipeline, trigger)
        except ValueError as err:
            log.warning("trigger %s: pipeline %s not started: %s", event_key, pipeline_id, err)
            refused = await asyncio.to_thread(_refused, self.store, event_key, pipeline, trigger, str(err))
            return Launched(pipeline_id, name, refused, error=str(err))
        missing = missing_required(pipeline, trigger.get("parameters") or {})
        if missing:
            return Launched(pipeline_id, name, error=f"Required parameter {missing[0]} is missing")
        new_id = new_ulid()
        execution_id, claimed = await asyncio.to_thread(
            self.store.trigger_events.claim, event_key, pipeline_id, new_id, trigger_event(pipeline, trigger, new_id)
        )
        user = run_as or trigger.get("user") or "anonymous"
        try:
            authentication = await asyncio.to_thread(self._authentication, run_as, user)
        except PermissionError as err:  # auth on, and runAsUser is not a service account
            log.warning("trigger %s: pipeline %s not started: %s", event_key, pipeline_id, err)
            return Launched(pipeline_id, name, execution_id, error=str(err))
        try:
            await operations.start_pipeline(
                self.client,
                pipeline,
                trigger,
                task_queue=self.settings.task_queue,
                execution_id=execution_id,
                authentication=authentication,
                window_timezone=self.settings.execution_window_timezone,
                activity_queues=self.settings.activity_queues,
                once=True,
            )
        except WorkflowAlreadyStartedError:
            return Launched(pipeline_id, name, execution_id, started=False)
        except EngineError as err:  # the saved config cannot run (a cycle, an unknown stage type)
            log.warning("trigger %s: pipeline %s not started: %s", event_key, pipeline_id, err)
            return Launched(pipeline_id, name, execution_id, error=str(err))
        if not claimed:
            log.info("trigger %s: started the execution claimed earlier, %s", event_key, execution_id)
        return Launched(pipeline_id, name, execution_id, started=True)

    def _authentication(self, run_as: str | None, user: str) -> Json:
        """Who the execution runs as: with authentication on, the ``runAsUser`` service account (its roles'
        writable accounts) or anonymous; off, the trigger's user as before."""
        from .run_as import run_as_authentication

        return run_as_authentication(self.store, self.settings, run_as, user)


#: trigger keys left out of the trigger event: large or private (payloads are referenced, never copied)
_HEAVY = frozenset({"payload", "parentExecution", "rawPayload"})


def trigger_event(pipeline: Json, trigger: Json, execution_id: str) -> Json:
    """Echo's record of the trigger event that starts ``pipeline`` (``details.type`` the trigger's type:
    webhook, git, cron, jenkins...), for the event outbox; written with the start's claim, so once."""
    import time
    import uuid

    kind = str(trigger.get("type") or "trigger")
    source = trigger.get("source") or trigger.get("master") or trigger.get("buildService") or kind
    return {
        "details": {
            "source": str(source),
            "type": kind,
            "created": str(int(time.time() * 1000)),
            "application": pipeline.get("application"),
        },
        "content": {
            "trigger": {k: v for k, v in trigger.items() if k not in _HEAVY},
            "pipelineConfigId": pipeline.get("id"),
            "pipelineName": pipeline.get("name"),
            "executionId": execution_id,
        },
        "eventId": str(uuid.uuid4()),
    }


def _refused(store: Any, event_key: str, pipeline: Json, trigger: Json, reason: str) -> str:
    """A refused start is recorded as a TERMINAL execution of the pipeline with the reason (once per event)."""
    from templates.stored import record_refused

    execution_id, claimed = store.trigger_events.claim(event_key, str(pipeline.get("id")), new_ulid())
    if claimed:  # never over an execution an earlier delivery started
        record_refused(store, execution_id, pipeline, trigger, reason)
    return str(execution_id)


def _rendered(store: Any, pipeline: Json, trigger: Json) -> Json:
    """MPTv2: the stored templated config rendered again with the trigger right before it starts (as Echo plans
    again before triggering); ValueError when it cannot render. ``pipeline`` is what matching saw."""
    from core.store import NotFoundError, StoreError
    from templates.stored import rendered_for_start

    try:
        raw: Json = store.pipelines.get(str(pipeline.get("id")))
    except NotFoundError:
        raw = pipeline
    if raw.get("schema") != "v2":  # no longer templated: what matching saw (rendered_for_start keeps others as given)
        raw = pipeline
    try:
        return rendered_for_start(store, raw, trigger)
    except StoreError as err:
        raise ValueError(str(err)) from None

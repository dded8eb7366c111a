"""The ``deliver_events`` activity: one REST endpoint's events from the outbox, in order, from a cursor.

It polls the outbox for up to ``events.poll_window_s``, posts each event the endpoint wants (Echo's
``retryCount`` attempts, 200 ms apart) and heartbeats its cursor after each one, so a retry (after a failure or
a worker's death) resumes after the last event posted. An endpoint that keeps failing raises a retryable error
and Temporal backs off (up to a minute between attempts) for as long as it takes: nothing is dropped for being
down, only for being older than ``events.max_age_s`` or more than ``events.max_behind`` behind (counted, logged).
Nothing here is on a pipeline's path: the engine only writes the outbox. The operator's ``auth.secret_fields`` are
replaced in what an event carries before it is posted (core/redaction.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.messages.events import DELIVER_EVENTS, DeliverEventsInput, DeliverEventsResult
from core.observability import metrics
from core.redaction import redact_event
from core.settings.events import EventSettings, RestEndpoint
from integrations.events import rest
from integrations.outbound import OutboundPolicy, guarded_async_client

RETRY_DELAY_S = 0.2  # Echo's RetrySupport: a fixed 200 ms between attempts
BATCH = 100
log = logging.getLogger(__name__)


class EventActivities:
    """Holds the store, the event settings and one HTTP client under the outbound policy."""

    def __init__(
        self,
        store: Any,
        settings: EventSettings,
        policy: OutboundPolicy,
        http: httpx.AsyncClient | None = None,
        *,
        secret_fields: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.settings = settings
        self.policy = policy
        #: the operator's ``auth.secret_fields``, replaced in what an event carries before it is posted
        self.secret_fields = list(secret_fields)
        self._http = http or guarded_async_client(policy, timeout=10.0)

    async def aclose(self) -> None:
        await self._http.aclose()

    @activity.defn(name=DELIVER_EVENTS)
    async def deliver_events(self, req: DeliverEventsInput) -> DeliverEventsResult:
        endpoint = self.settings.endpoint(req.endpoint)
        if endpoint is None:
            return DeliverEventsResult(cursor=req.cursor or 0, gone=True)
        cursor = req.cursor
        beats = activity.info().heartbeat_details
        if beats:
            cursor = max(cursor or 0, int(beats[0]))
        stored = await asyncio.to_thread(self.store.events.cursor, str(endpoint.name))
        if stored is not None:  # written after every post: the truth after a worker's death
            cursor = max(cursor or 0, stored)
        if self.settings.retention_days > 0:  # the outbox's trim rides on the deliveries (each run, cheap)
            keep_after = int((time.time() - self.settings.retention_days * 86_400) * 1000)
            await asyncio.to_thread(self.store.events.purge, older_than_ms=keep_after)
        start: int = cursor if cursor is not None else await asyncio.to_thread(self.store.events.head)
        result = DeliverEventsResult(cursor=start)
        deadline = time.monotonic() + self.settings.poll_window_s
        while True:
            activity.heartbeat(result.cursor)
            batch = await asyncio.to_thread(self.store.events.after, result.cursor, limit=BATCH)
            if not batch:
                if time.monotonic() >= deadline:
                    return result
                await asyncio.sleep(self.settings.poll_interval_s)
                continue
            await self._skip_if_far_behind(endpoint, result)
            for event in batch:
                if event["seq"] <= result.cursor:
                    continue
                posted = await self._handle(endpoint, event, result)
                result.cursor = event["seq"]
                if posted:
                    await asyncio.to_thread(self.store.events.save_cursor, str(endpoint.name), result.cursor)
                activity.heartbeat(result.cursor)
            await asyncio.to_thread(self.store.events.save_cursor, str(endpoint.name), result.cursor)
            if time.monotonic() >= deadline:
                return result

    async def _skip_if_far_behind(self, endpoint: RestEndpoint, result: DeliverEventsResult) -> None:
        head = await asyncio.to_thread(self.store.events.head)
        behind = head - result.cursor
        if behind > self.settings.max_behind:
            skipped = behind - self.settings.max_behind
            log.warning("events: endpoint %s is %d events behind; %d oldest dropped", endpoint.name, behind, skipped)
            result.dropped += skipped
            metrics.event_delivered(str(endpoint.name), "dropped", count=skipped)
            result.cursor = head - self.settings.max_behind

    async def _handle(self, endpoint: RestEndpoint, event: dict[str, Any], result: DeliverEventsResult) -> bool:
        """Post one event if the endpoint wants it; True when it was posted."""
        created = int((event.get("details") or {}).get("created") or 0)
        if created and created < (time.time() - self.settings.max_age_s) * 1000:
            result.dropped += 1
            metrics.event_delivered(str(endpoint.name), "dropped")
            log.warning("events: endpoint %s dropped event %s (older than max_age_s)", endpoint.name, event["eventId"])
            return False
        if not rest.matches(endpoint, event):
            return False
        try:
            body = rest.render(endpoint, self.settings, redact_event(event, self.secret_fields))
        except rest.EventTemplateError as err:  # Echo logs a render error and sends nothing
            log.error("events: %s", err)
            result.dropped += 1
            metrics.event_delivered(str(endpoint.name), "dropped")
            return False
        for attempt in range(1, endpoint.retry_count + 1):
            try:
                await rest.post(self._http, self.policy, endpoint, body)
                result.delivered += 1
                lag = time.time() - created / 1000 if created else None
                metrics.event_delivered(str(endpoint.name), "delivered", lag)
                return True
            except rest.DeliveryError as err:
                metrics.event_delivered(str(endpoint.name), "failed")
                if attempt == endpoint.retry_count:
                    log.warning("events: could not send event %s to %s: %s", event["eventId"], endpoint.name, err)
                    raise ApplicationError(str(err), type="EventDeliveryFailed") from None
                await asyncio.sleep(RETRY_DELAY_S)
        return False


def build(settings: Any, store: Any) -> list[Any]:
    """The delivery activity, when the settings have the events section and a store exists."""
    from integrations.outbound import policy_from

    events = getattr(settings, "events", None)
    if store is None or not isinstance(events, EventSettings):
        return []
    auth = getattr(settings, "auth", None)
    secret_fields = list(getattr(auth, "secret_fields", None) or [])
    return [EventActivities(store, events, policy_from(settings), secret_fields=secret_fields).deliver_events]


async def start_deliveries(client: Any, settings: Any, store: Any = None) -> list[str]:
    """Start each configured endpoint's delivery workflow unless it runs (worker start, like the Schedules'
    reconciliation); a removed endpoint's workflow ends by itself at its next turn. Returns the workflow ids.

    A new endpoint receives what happens from now: its first cursor is the outbox's head read here, when its
    workflow starts, not when its first activity happens to run (events written in between are delivered).

    A new workflow starts on the deployment's current build (Temporal routes it there, whichever build's worker asks)
    and, when the workers are versioned, each later run continues as new on the build current then."""
    from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

    from core.messages.events import WORKFLOW_TYPE, workflow_id

    events = getattr(settings, "events", None)
    if not isinstance(events, EventSettings) or not events.enabled:
        return []
    started = []
    head = None if store is None or not events.endpoints else await asyncio.to_thread(store.events.head)
    versioned = bool(getattr(getattr(settings, "deployment", None), "versioning", False))  # as its workers are
    for endpoint in events.endpoints:
        wid = workflow_id(str(endpoint.name))
        await client.start_workflow(
            WORKFLOW_TYPE,
            DeliverEventsInput(endpoint=str(endpoint.name), cursor=head, versioned=versioned),  # ignored if it runs
            id=wid,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=f"Echo events to {endpoint.name}",
        )
        started.append(wid)
    return started

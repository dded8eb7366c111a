"""Echo's webhook endpoints: ``/webhooks/webhook/{source}`` and ``/webhooks/git/{github|gitlab|bitbucket}``.

The event is matched against every enabled trigger of every enabled pipeline
(``integrations.triggers``); each match starts its pipeline once, however often the event is
delivered (the launcher claims ``(event id, pipeline)`` in the store first). These endpoints
authenticate by the triggers' secrets (GitHub's signature), never by user credentials.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from core.settings import Settings
from integrations.triggers.errors import TriggerError
from integrations.triggers.events import make_event, match_event
from integrations.triggers.launcher import Launcher

from ..deps import ClientDep, SettingsDep, StoreDep
from ..errors import bad_request
from ..models import WebhookAnswer

if TYPE_CHECKING:
    from temporalio.client import Client

    from core.store import Store

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)
Json = dict[str, Any]


def _trigger_views(store: Store) -> list[Json]:
    """Every pipeline as triggers see it (templated ones with their rendered triggers: templates/stored.py)."""
    from templates.stored import trigger_views

    return trigger_views(store, store.pipelines.all())


async def _handle(kind: str, source: str, request: Request, client: Client, store: Store, settings: Settings) -> Json:
    raw = await request.body()  # at most request_limits.webhook_max_body_bytes: api/limits.py refused larger
    try:
        event = make_event(kind, source, raw, dict(request.headers))
        pipelines = await asyncio.to_thread(_trigger_views, store)
        secret = settings.git_webhook_secret.get_secret_value() if settings.git_webhook_secret else None
        # off the event loop: constraints run user regexes and JSONPaths over payloads of megabytes
        result = await asyncio.to_thread(match_event, event, pipelines, git_shared_secret=secret)
    except TriggerError as err:
        raise bad_request(str(err), field=str(err).split(":", 1)[0]) from None
    for refusal in result.refused:
        # never the payload or the secret: who sent what is in the provider's delivery log
        log.warning("%s event %s from %s refused for pipeline %s: %s", kind, event.event_id, source, *refusal)
    if result.ignored:
        log.info("%s event %s from %s ignored: %s", kind, event.event_id, source, result.ignored)
        return {"eventProcessed": False, "eventId": event.event_id}
    launcher = Launcher(client, store, settings)
    key = f"{kind}:{source}:{event.event_id}"
    launched = [await launcher.launch(m.pipeline, m.trigger, key, run_as=m.run_as_user) for m in result.matches]
    return {
        "eventProcessed": True,
        "eventId": event.event_id,
        # Gennaker's addition: what the event started (Gate clients read the two keys above)
        "executions": [entry.to_json() for entry in launched],
        "refused": [{"pipelineId": r.pipeline_id, "reason": r.reason} for r in result.refused],
    }


@router.post("/webhooks/webhook/{source}", response_model=WebhookAnswer, response_model_exclude_unset=True)
async def webhook(source: str, request: Request, client: ClientDep, store: StoreDep, settings: SettingsDep) -> Json:
    """Start the pipelines whose ``webhook`` trigger has this ``source`` and whose constraints match."""
    return await _handle("webhook", source, request, client, store, settings)


@router.post("/webhooks/git/{provider}", response_model=WebhookAnswer, response_model_exclude_unset=True)
async def git(provider: str, request: Request, client: ClientDep, store: StoreDep, settings: SettingsDep) -> Json:
    """Start the pipelines whose ``git`` trigger matches this push (GitHub, GitLab, Bitbucket)."""
    answer = await _handle("git", provider, request, client, store, settings)
    from .dinghy import on_git_webhook  # Dinghy sources sync on pushes, each checking its own signature

    return await on_git_webhook(provider, request, client, settings, answer)

"""Activities that start pipelines by themselves: cron ticks and finished upstream executions (Echo's and
Orca's dependent-pipeline work). Webhooks and git pushes start theirs in the API, through the same launcher."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio import activity

from core.fields import truthy
from core.messages.triggers import StartCronPipelineInput
from integrations.triggers.launcher import Launched, Launcher

Json = dict[str, Any]
CONFIG_CACHE_S = 5.0  # how stale the list of pipeline configs may be (Echo's own cache refreshes every 30 s)


class TriggerActivities:
    def __init__(self, launcher: Launcher, store: Any) -> None:
        self.launcher = launcher
        self.store = store
        self._configs: tuple[float, list[Json]] | None = None

    async def pipelines(self) -> list[Json]:
        """Every pipeline config, read at most every few seconds."""
        now = time.monotonic()
        if self._configs is None or now - self._configs[0] > CONFIG_CACHE_S:
            self._configs = (now, await asyncio.to_thread(_trigger_views, self.store))
        return self._configs[1]

    @activity.defn(name="start_cron_pipeline")
    async def start_cron_pipeline(self, inp: StartCronPipelineInput) -> Json:
        """Start the pipeline a cron trigger names, as Echo's ``PipelineTriggerJob`` does, unless the
        pipeline or the trigger has been disabled or removed since the Schedule was last synced."""
        from core.store import NotFoundError

        try:
            pipeline: Json = await asyncio.to_thread(self.store.pipelines.get, inp.pipeline_id)
        except NotFoundError:
            return {"skipped": f"pipeline {inp.pipeline_id} no longer exists"}
        views: list[Json] = await asyncio.to_thread(_trigger_views, self.store, [pipeline])  # MPTv2: inherited
        pipeline = views[0]
        if truthy(pipeline.get("disabled")):
            return {"skipped": f"pipeline {pipeline.get('name')} is disabled"}
        config = next(
            (
                t
                for t in pipeline.get("triggers") or []
                if isinstance(t, dict) and t.get("type") == "cron" and t.get("id") == inp.trigger_id
            ),
            None,
        )
        if config is None or not truthy(config.get("enabled")):
            return {"skipped": f"cron trigger {inp.trigger_id} is gone or disabled"}
        event_key = f"cron:{inp.trigger_id}:{inp.scheduled_time}"
        launched = await self.launcher.launch(
            pipeline, cron_trigger(pipeline, config, event_key), event_key, run_as=_run_as(config)
        )
        return launched.to_json()

    async def start_dependents(self, execution: Json) -> list[Launched]:
        """Start the pipelines whose ``pipeline`` trigger waits on this finished execution."""
        from integrations.triggers.dependent import pipeline_trigger_matches

        if not execution.get("pipelineConfigId"):
            return []
        matches = pipeline_trigger_matches(execution, await self.pipelines())
        event_key = f"pipeline:{execution.get('id')}"
        return [await self.launcher.launch(m.pipeline, m.trigger, event_key, run_as=m.run_as_user) for m in matches]


def _trigger_views(store: Any, pipelines: list[Json] | None = None) -> list[Json]:
    """Pipelines as triggers see them: templated ones with their rendered triggers (templates/stored.py)."""
    from templates.stored import trigger_views

    return trigger_views(store, store.pipelines.all() if pipelines is None else pipelines)


def _run_as(config: Json) -> str | None:
    value = config.get("runAsUser")
    return value.strip() if isinstance(value, str) and value.strip() else None


def cron_trigger(pipeline: Json, config: Json, event_key: str) -> Json:
    """The trigger Echo puts on a cron-started execution (``TriggerConverter.toPipeline``), with the
    pipeline's parameter defaults filled in as Orca fills them."""
    import uuid

    from core.parameters import with_defaults

    trigger: Json = {
        "type": "cron",
        "id": config.get("id"),
        "cronExpression": config.get("cronExpression"),
        "enabled": True,
        "rebake": truthy(config.get("rebake")),
        "eventId": str(uuid.uuid5(uuid.NAMESPACE_URL, event_key)),  # the same tick always has the same id
        "user": _run_as(config) or "[anonymous]",
        "parameters": with_defaults(pipeline, config.get("parameters") or {}),
    }
    if _run_as(config):
        trigger["runAsUser"] = _run_as(config)
    return trigger

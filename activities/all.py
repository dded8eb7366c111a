"""Every activity the worker registers, built around the real clients (``worker.py`` calls this)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from integrations.triggers.launcher import Launcher

from .engine import DirectoryConfigSource, EngineActivities, PipelineConfigSource, StoreConfigSource
from .local_projection import local_projection_store


def build_activities(
    settings: Any,
    client: Any,
    *,
    configs: PipelineConfigSource | None = None,
    store: Any = None,
    clouds: dict[str, Any] | None = None,
) -> list[Callable[..., Any]]:
    """The activity callables for a worker, wired to real clients built from ``settings``.

    ``store`` defaults to the store at ``settings.store_url`` (migrated here), when settings name one.
    """
    if store is None and hasattr(settings, "store_url"):
        from core.store import Store

        store = Store(settings.store_url)
        store.migrate()
    if hasattr(settings, "state_dir"):
        from core.sealing import configure as configure_sealing

        configure_sealing(settings)  # the webhook activity opens sealed customHeaders with this key
    from canary.activities import build as canary_activities
    from canary.stage_activities import build as canary_stage_activities
    from integrations.dinghy.activities import build as dinghy_activities
    from providers.registry import build_clouds

    from .bake import build as bake_activities
    from .ci import build as ci_activities
    from .ci_triggers import build as ci_trigger_activities
    from .cloud_cache import CloudCacheActivities
    from .deploy import build as deploy_activities
    from .events import build as event_activities
    from .expressions import UrlFetcher
    from .infrastructure import build as infrastructure_activities
    from .jenkins import build as jenkins_activities
    from .jenkins_triggers import build as jenkins_trigger_activities
    from .manifest import build as manifest_activities
    from .notification_events import build as notification_reader
    from .notify import build as notify_activities
    from .reconciler import ReconcilerActivities
    from .run_job import build as run_job_activities
    from .terraform import build as terraform_activities
    from .triggers import TriggerActivities
    from .webhook import build as webhook_activities

    if clouds is None:
        clouds = build_clouds(list(getattr(settings, "accounts", []) or []))
    from integrations.outbound import policy_from

    fetcher = UrlFetcher(list(getattr(settings, "expression_url_allow_list", []) or []), policy=policy_from(settings))
    triggers = TriggerActivities(Launcher(client, store, settings), store) if store is not None else None
    engine = EngineActivities(
        client,
        settings.task_queue,
        configs
        or (
            StoreConfigSource(store)
            if store is not None
            else DirectoryConfigSource(Path(settings.state_dir) / "pipelines")
        ),
        url_fetcher=fetcher,
        # the engine always keeps a projection: without a store, in the process's own (activities/local_projection.py)
        store=store if store is not None else local_projection_store(),
        on_finished=triggers.start_dependents if triggers is not None else None,
    )
    events_settings = getattr(settings, "events", None)  # settings made without the section: no trimming
    reconciler = (
        ReconcilerActivities(client, store, engine.on_finished, getattr(events_settings, "retention_days", 0))
        if store is not None
        else None
    )
    return [
        engine.request_concurrency_slot,
        engine.closed_executions,
        engine.record_execution_update,
        engine.load_execution,
        engine.get_pipeline_config,
        engine.evaluate_expressions,
        *webhook_activities(settings, client),
        *notify_activities(settings, client, engine.store),
        *notification_reader(settings, engine.store),
        *deploy_activities(clouds, store),
        *infrastructure_activities(clouds, store),
        *jenkins_activities(settings, client),
        *ci_activities(settings, client),
        *run_job_activities(settings),
        *manifest_activities(settings, store=store),
        *(bake_activities(settings, client, store) if store is not None else []),
        *([CloudCacheActivities(clouds, store).refresh] if store is not None else []),
        *([triggers.start_cron_pipeline] if triggers is not None else []),
        *([reconciler.reconcile_executions] if reconciler is not None else []),
        *(jenkins_trigger_activities(settings, client, store) if store is not None else []),
        *(ci_trigger_activities(settings, client, store) if store is not None else []),
        *(canary_activities(settings, store) if store is not None and hasattr(settings, "canary") else []),
        *(canary_stage_activities(settings, store) if store is not None and hasattr(settings, "canary") else []),
        *(terraform_activities(settings, store) if store is not None else []),
        *(dinghy_activities(settings, store, client) if store is not None else []),
        *event_activities(settings, store),
    ]

"""Gate: Spinnaker's REST API on port 8084. This module only assembles the app from its routers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from gennaker import __version__
from gennaker.settings import Settings, load_settings

from . import errors, limits
from .auth import audit, forwarded
from .routes import (
    applications,
    auth,
    authorize,
    bakery,
    builds,
    canary,
    canary_backtest,
    credentials,
    dinghy,
    executions,
    firewalls,
    infrastructure,
    manifests,
    misc,
    networks,
    notifications,
    payload_codec,
    pipeline_configs,
    pipeline_templates,
    pipelines,
    projects,
    terraform,
    webhooks,
)

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, temporal: Any = None, store: Any = None) -> FastAPI:
    """The API. Tests pass their own Temporal client and store; otherwise both come from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from api.store import Store
        from gennaker.temporal_client import connect

        own_store = app.state.store is None
        if own_store:
            app.state.store = Store(app.state.settings.store_url)
            app.state.store.migrate()
        if app.state.temporal is None:
            app.state.temporal = await connect(app.state.settings)
        # cron Schedules follow the stored configs; catch up with changes made while the API was down
        reconciling = asyncio.create_task(reconcile_schedules(app.state.temporal, app.state.settings, app.state.store))
        try:
            yield
        finally:
            reconciling.cancel()
            if getattr(app.state, "jenkins", None) is not None:
                app.state.jenkins.close()
            if own_store:
                app.state.store.close()

    app = FastAPI(
        title="Gennaker (Gate)",
        version=__version__,
        lifespan=lifespan,
        description="Spinnaker's Gate API, served by Gennaker",
    )
    app.state.settings = settings or load_settings()
    app.state.temporal = temporal
    app.state.store = store
    errors.install(app)
    audit.install(app)
    forwarded.install(app)  # after the audit: runs first, so the audit sees the settled client
    limits.install(app, app.state.settings)  # last added runs first: body limits before anything reads it
    errors.document(app)
    # executions before pipelines: `POST /pipelines/{id}/evaluateVariables` must win over the trigger route
    # `POST /pipelines/{application}/{name}`, as Spring prefers the literal segment in Gate
    routers = (
        misc,
        auth,
        authorize,
        applications,
        notifications,
        pipeline_configs,
        executions,
        pipelines,
        projects,
        webhooks,
        infrastructure,
        credentials,
        networks,
        firewalls,
        manifests,
        builds,
        bakery,
        payload_codec,
        canary_backtest,  # before canary: /canary/{id}/report is not a deprecated /canary/{cfg}/{id}
        canary,
        terraform,
        pipeline_templates,
        dinghy,
    )
    for module in routers:
        app.include_router(module.router, responses=errors.ERROR_RESPONSES)
    return app


async def reconcile_schedules(client: Any, settings: Settings, store: Any) -> None:
    """Make the cron Schedules match every stored pipeline, the cloud cache Schedules the configured
    accounts and the Jenkins poll Schedules the configured masters (logged, never fatal)."""
    from integrations.triggers.schedules import reconcile, store_loader

    from .cloud_cache import sync_cache_schedules

    try:
        pipelines = await asyncio.to_thread(store.list_pipelines)
        result = await reconcile(client, settings, pipelines, store_loader(store))  # deletions re-read the store
        log.info("cron schedules reconciled: %s", result)
    except Exception as err:  # noqa: BLE001 - Temporal or the store not reachable: the next start retries
        log.warning("could not reconcile cron schedules: %s", err)
    try:
        log.info("cloud cache schedules: %s", await sync_cache_schedules(client, settings))
    except Exception as err:  # noqa: BLE001 - as above
        log.warning("could not set up the cloud cache schedules: %s", err)
    try:
        from integrations.jenkins.schedules import sync_jenkins_schedules

        log.info("jenkins poll schedules: %s", await sync_jenkins_schedules(client, settings))
    except Exception as err:  # noqa: BLE001 - as above
        log.warning("could not set up the jenkins poll schedules: %s", err)
    try:
        from integrations.dinghy.start import sync_poll_schedules

        log.info("dinghy poll schedules: %s", await sync_poll_schedules(client, settings))
    except Exception as err:  # noqa: BLE001 - as above
        log.warning("could not set up the dinghy poll schedules: %s", err)


def __getattr__(name: str) -> Any:
    # `uvicorn api.main:app` looks the app up after import; build it then, so importing this module
    # (tests, tools) does not read settings or connect anywhere.
    if name == "app":
        return create_app()
    raise AttributeError(name)

"""Gate: Spinnaker's REST API on port 8084. This module only assembles the app from its routers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from core.errors import temporal_unreachable
from core.observability import tracing
from core.observability.logs import configure_server as configure_logs
from core.settings import Settings, load_settings
from gennaker import __version__

from . import errors, limits, metrics
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
    events,
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
    preview,
    projects,
    swagger,
    terraform,
    ui_stream,
    webhooks,
)

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, temporal: Any = None, store: Any = None, settle_heap: bool = False
) -> FastAPI:
    """The API. Tests pass their own Temporal client and store; otherwise both come from settings. ``settle_heap``
    (the API's own process, under uvicorn) times garbage collections and freezes what start-up loaded
    (core/observability/collector.py); tests, which build many apps in one process, leave it off."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from core.store import Store

        own_store = app.state.store is None
        if own_store:
            app.state.store = Store(app.state.settings.store_url)
            app.state.store.migrate()
        if app.state.temporal is None:
            app.state.temporal = await connect_or_wait(app.state.settings)
        # cron Schedules follow the stored configs; catch up with changes made while the API was down
        reconciling = asyncio.create_task(
            reconcile_when_reachable(app.state.temporal, app.state.settings, app.state.store)
        )
        if settle_heap:
            from core.observability import collector

            collector.install()
            collector.settle("API started")
        try:
            yield
        finally:
            reconciling.cancel()
            if getattr(app.state, "jenkins", None) is not None:
                app.state.jenkins.close()
            if getattr(app.state, "ci_services", None) is not None:
                app.state.ci_services.close()
            if own_store:
                app.state.store.close()

    app = FastAPI(
        title="Gennaker (Gate)",
        version=__version__,
        lifespan=lifespan,
        description="Spinnaker's Gate API, served by Gennaker",
        generate_unique_id_function=swagger.gate_operation_ids(),
    )
    app.state.settings = settings or load_settings()
    app.state.temporal = temporal
    app.state.store = store
    errors.install(app)
    audit.install(app)
    forwarded.install(app)  # after the audit: runs first, so the audit sees the settled client
    limits.install(app, app.state.settings)  # last added runs first: body limits before anything reads it
    metrics.install(app, app.state.settings)  # outermost: times what the client waits for, 413s included
    tracing.instrument_app(app, app.state.settings)
    configure_logs(app.state.settings)
    errors.document(app)
    # executions before pipelines: `POST /pipelines/{id}/evaluateVariables` must win over the trigger route
    # `POST /pipelines/{application}/{name}`, as Spring prefers the literal segment in Gate
    routers = (
        misc,
        swagger,
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
        events,
        ui_stream,
        preview,
    )
    for module in routers:
        app.include_router(module.router, responses=errors.ERROR_RESPONSES)
    return app


async def connect_or_wait(settings: Settings) -> Any:
    """The API's Temporal client. Temporal down at start-up does not stop the API: it serves what the store answers
    and what needs Temporal is a 503 (api/errors.py) until the client, connected lazily, reaches it."""
    from gennaker.temporal_client import TemporalConnectError, connect

    try:
        return await connect(settings)
    except TemporalConnectError as err:
        log.warning("%s; the API serves what the store answers and connects when Temporal is back", err)
        return await connect(settings, lazy=True)


#: the waits between the start-up reconciliation's probes of an unreachable Temporal
PROBE_FIRST_S, PROBE_LONGEST_S = 1.0, 30.0


async def reconcile_when_reachable(client: Any, settings: Settings, store: Any) -> bool:
    """:func:`reconcile_once`, once Temporal answers (probed with backoff while it is unreachable)."""
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

    wait = PROBE_FIRST_S
    while True:
        try:
            await client.workflow_service.get_system_info(GetSystemInfoRequest())
            break
        except Exception as err:  # noqa: BLE001 - anything but an outage: reconcile_once logs what it meets
            if not temporal_unreachable(err):
                break
            await asyncio.sleep(wait)
            wait = min(wait * 2, PROBE_LONGEST_S)
    return await reconcile_once(client, settings, store)


async def reconcile_once(client: Any, settings: Settings, store: Any) -> bool:
    """:func:`reconcile_schedules` in one of the API processes that start together (``api.workers`` of them,
    or replicas): the first to claim the start-up lease in the database reconciles, the others skip it. The
    lease is named by the settings it reconciles to, so a restart with changed settings always reconciles,
    and kept for STARTUP_SIBLINGS_MS after it is done, so a sibling that starts a little later does not redo it.
    True when this process reconciled."""
    name, holder = startup_lease(settings)
    try:
        claimed = await asyncio.to_thread(store.leases.claim, name, holder, STARTUP_LEASE_MS)
    except Exception as err:  # noqa: BLE001 - the store not reachable: reconcile anyway (it is idempotent)
        log.warning("could not claim the start-up lease, reconciling anyway: %s", err)
        claimed = True
    if not claimed:
        log.info("start-up reconciliation: another API process does it")
        return False
    try:
        await reconcile_schedules(client, settings, store)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(store.leases.release, name, holder, keep_ms=STARTUP_SIBLINGS_MS)
    return True


STARTUP_LEASE_MS = 10 * 60 * 1000  # a reconciliation still running after this is presumed dead
STARTUP_SIBLINGS_MS = 30 * 1000  # API processes starting this long after one reconciled skip it


def startup_lease(settings: Settings) -> tuple[str, str]:
    """The start-up lease's name (a digest of the settings but the listening address, which differs per
    replica) and this process's holder id."""
    digest = hashlib.sha256(settings.model_dump_json(exclude={"api"}).encode()).hexdigest()[:16]
    return f"api-startup:{digest}", f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def reconcile_schedules(client: Any, settings: Settings, store: Any) -> None:
    """Make the cron Schedules match every stored pipeline, the cloud cache Schedules the configured
    accounts and the Jenkins poll Schedules the configured masters (logged, never fatal)."""
    from integrations.triggers.schedules import reconcile, store_loader

    from .cloud_cache import sync_cache_schedules

    try:
        pipelines = await asyncio.to_thread(store.pipelines.all)
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
        from integrations.ci.schedules import sync_ci_schedules

        log.info("build service poll schedules: %s", await sync_ci_schedules(client, settings))
    except Exception as err:  # noqa: BLE001 - as above
        log.warning("could not set up the build service poll schedules: %s", err)
    try:
        from integrations.dinghy.start import sync_poll_schedules

        log.info("dinghy poll schedules: %s", await sync_poll_schedules(client, settings))
    except Exception as err:  # noqa: BLE001 - as above
        log.warning("could not set up the dinghy poll schedules: %s", err)


def __getattr__(name: str) -> Any:
    # `uvicorn api.main:app` looks the app up after import; build it then, so importing this module
    # (tests, tools) does not read settings or connect anywhere.
    if name == "app":
        return create_app(settle_heap=True)
    raise AttributeError(name)

"""The composition root: settings → real clients → activities → Temporal workers, one per task queue.

    python worker.py                         # every queue: the main one and each dedicated activity queue
    python worker.py --queue gennaker-bake   # only the queues named (repeatable), to scale one kind out

The main queue (``settings.task_queue``) runs every workflow and each activity not routed elsewhere by
``settings.activity_queues``; each dedicated queue runs the activities routed to it.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError

if TYPE_CHECKING:
    from temporalio.client import Client

    from core.settings import Settings

log = logging.getLogger("gennaker.worker")

# Threads for sync (blocking SDK) activities per worker; also the worker's activity slot count, so the two agree.
MAX_ACTIVITY_THREADS = 100
GRACEFUL_SHUTDOWN = timedelta(seconds=5)
# After SIGTERM/SIGINT the process exits by this time at the latest, stopped gracefully or not.
HARD_EXIT_AFTER = GRACEFUL_SHUTDOWN + timedelta(seconds=5)


class UnknownQueueError(ConfigError, ValueError):
    """``--queue`` named a task queue this deployment does not have."""


@dataclass
class QueuePlan:
    """What one worker registers on one task queue."""

    task_queue: str
    workflows: list[type] = field(default_factory=list)
    activities: list[Callable[..., Any]] = field(default_factory=list)


def activity_name(fn: Callable[..., Any]) -> str:
    """The registered name of an ``@activity.defn`` callable (a function or a bound method)."""
    from temporalio import activity

    defn = activity._Definition.from_callable(fn)
    if defn is None or not defn.name:
        raise ValueError(f"{fn!r} is not an @activity.defn callable with a name")
    return defn.name


def plan_queues(
    settings: Settings,
    workflows: Sequence[type],
    activities: Sequence[Callable[..., Any]],
    queues: Sequence[str] | None = None,
) -> list[QueuePlan]:
    """Split workflows and activities over the task queues; ``queues`` keeps only the ones named.

    Queues with nothing to run are left out. An unknown name in ``queues`` is an error naming the known ones.
    """
    plans: dict[str, QueuePlan] = {settings.task_queue: QueuePlan(settings.task_queue, workflows=list(workflows))}
    for queue in settings.activity_queues.values():
        plans.setdefault(queue, QueuePlan(queue))
    for fn in activities:
        plans[settings.queue_for_activity(activity_name(fn))].activities.append(fn)
    if queues:
        unknown = sorted(set(queues) - set(plans))
        if unknown:
            known = ", ".join(plans)
            raise UnknownQueueError(f"unknown task queue(s) {', '.join(unknown)}; this deployment has {known}")
        plans = {name: plan for name, plan in plans.items() if name in queues}
    return [plan for plan in plans.values() if plan.workflows or plan.activities]


async def run_worker(
    settings: Settings,
    client: Client,
    *,
    stop: asyncio.Event | None = None,
    queues: list[str] | None = None,
    workflows: Sequence[type] | None = None,
    activities: Sequence[Callable[..., Any]] | None = None,
    on_ready: Callable[[], object] | None = None,
) -> None:
    """Run one Temporal worker per task queue until ``stop`` is set (forever when None), then shut down gracefully.

    ``workflows`` and ``activities`` default to ``workflows.all.WORKFLOWS`` and ``activities.all.build_activities``;
    ``on_ready`` is called once every worker runs.
    """
    from temporalio.worker import Worker

    from core.observability.worker import ObservabilityInterceptor
    from gennaker.versioning import deployment_config, keep_promoted
    from workflows.all import workflow_runner

    if workflows is None:
        from workflows.all import WORKFLOWS

        workflows = WORKFLOWS
    if activities is None:
        from activities.all import build_activities

        activities = build_activities(settings, client)
    names = {activity_name(fn) for fn in activities}
    for key in sorted(set(settings.activity_queues) - names):
        log.warning("activity_queues key %r names no activity of this worker; routing here is by activity name", key)
    plans = plan_queues(settings, workflows, activities, queues)
    stop = stop or asyncio.Event()
    if not plans:
        log.warning("no workflows or activities to run on %s; idling until stopped", queues or "any task queue")
        await stop.wait()
        return
    executors: list[concurrent.futures.ThreadPoolExecutor] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            for plan in plans:
                executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=MAX_ACTIVITY_THREADS, thread_name_prefix=f"activity-{plan.task_queue}"
                )
                executors.append(executor)
                worker = Worker(
                    client,
                    task_queue=plan.task_queue,
                    workflows=plan.workflows,
                    activities=plan.activities,
                    activity_executor=executor,
                    workflow_runner=workflow_runner(),
                    max_concurrent_activities=MAX_ACTIVITY_THREADS,
                    graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
                    deployment_config=deployment_config(settings),  # workflows PINNED to this build
                    interceptors=[ObservabilityInterceptor()],  # task retries, the task's log context
                )
                await stack.enter_async_context(worker)
                log.info(
                    "worker running on task queue %s: %d workflows, %d activities",
                    plan.task_queue,
                    len(plan.workflows),
                    len(plan.activities),
                )
            log.info("worker ready on %s (namespace %s)", ", ".join(p.task_queue for p in plans), client.namespace)
            if on_ready is not None:
                on_ready()
            promoting = asyncio.create_task(keep_promoted(client, settings))
            await stop.wait()
            promoting.cancel()
            log.info("worker stopping")
    finally:
        for executor in executors:
            executor.shutdown(wait=False, cancel_futures=True)
    log.info("worker stopped")


def _hard_exit() -> None:
    log.error("the worker did not stop within %ss of the signal; exiting now", HARD_EXIT_AFTER.total_seconds())
    logging.shutdown()
    os._exit(1)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run Gennaker's Temporal workers.")
    parser.add_argument(
        "--queue",
        action="append",
        dest="queues",
        metavar="NAME",
        help="serve only this task queue (repeatable); default: the main queue and every activity queue",
    )
    parser.add_argument(
        "--with-api",
        action="store_true",
        help="also serve the API and the UI in this process (gennaker up's one-process stack, gennaker/localstack.py)",
    )
    return parser.parse_args(argv)


async def serve(settings: Settings, queues: list[str] | None = None, *, with_api: bool = False) -> None:
    """Connect to Temporal and run the workers until SIGINT or SIGTERM (with ``with_api``, the API and the UI too)."""
    from gennaker.temporal_client import connect

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(*_: object) -> None:
        # A plain handler (not the loop's): it runs even while the loop is busy, and arms the hard exit that
        # bounds the graceful shutdown (which can hang on polls when Temporal is already gone).
        if not stop.is_set():
            timer = threading.Timer(HARD_EXIT_AFTER.total_seconds(), _hard_exit)
            timer.daemon = True
            timer.start()
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    from core.observability import collector, tracing
    from core.observability.worker import start_worker_metrics

    collector.install()  # garbage collection pauses: a metric, and a warning when one nears the deadlock budget
    start_worker_metrics(settings)  # before connecting: the client's runtime exports the SDK's metrics
    tracing.setup(settings, "worker")
    client = await connect(settings)
    log.info("connected to Temporal at %s, namespace %s", settings.temporal.address, settings.temporal.namespace)
    from activities.reconciler import put_reconciler_schedule

    log.info("reconciler schedule: %s", await put_reconciler_schedule(client, settings))
    from activities.all import build_activities
    from activities.events import start_deliveries
    from core.store import Store

    store = Store(settings.store_url)
    await asyncio.to_thread(store.migrate)
    activities = build_activities(settings, client, store=store)
    # after the migration (a new endpoint's first cursor is the outbox's head) and before serving
    log.info("event deliveries: %s", await start_deliveries(client, settings, store))
    ready = asyncio.Event()

    def on_ready() -> None:
        # what start-up loaded lives as long as the process: out of the way of later full collections
        collector.settle("worker started")
        ready.set()

    # once this build's workers poll: the reader runs on this build (activities/notification_events.py)
    readers = asyncio.create_task(_start_notifications(client, settings, store, ready))
    working = run_worker(
        settings,
        client,
        stop=stop,
        queues=queues,
        activities=activities,
        on_ready=on_ready,
    )
    if with_api:  # the API and the UI next to the worker, on the same client and store
        from gennaker.localstack import serve_with_api

        try:
            await serve_with_api(settings, client, store, stop, working)
        finally:
            readers.cancel()
        return
    try:
        await working
    finally:
        readers.cancel()


async def _start_notifications(client: Any, settings: Settings, store: Any, ready: asyncio.Event) -> None:
    """Once this worker polls, and every 30 s after, start the deployment's notifications' reader unless it runs, while
    this worker's build is the current one (activities/notification_events.py): a build rolled out beside the current
    one leaves the reader to it (the reader moves to each new current build by itself)."""
    from temporalio.service import RPCError

    from activities.notification_events import start_notifications
    from gennaker.versioning import current_build

    await ready.wait()
    deployment = settings.deployment
    started = ""
    while True:
        try:
            if not deployment.versioning or await current_build(client, deployment.name) == deployment.build_id:
                wid = await start_notifications(client, settings, store)
                if wid != started:
                    log.info("notifications: %s", wid)
                    started = wid
        except RPCError as err:
            log.warning("could not start the notifications' reader (again in 30 s): %s", err)
        await asyncio.sleep(30 if started else 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python worker.py`` and ``gennaker worker``; returns the exit code."""
    from pydantic import ValidationError

    from core.settings import ConfigFileError, describe_error, load_settings
    from gennaker.localstack import StackServerError
    from gennaker.temporal_client import TemporalConnectError

    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except (ValidationError, ConfigFileError) as exc:
        log.error("bad settings:\n%s", describe_error(exc))
        return 2
    from core.observability.logs import configure as configure_logs

    configure_logs(settings.observability.log_format)
    try:
        asyncio.run(serve(settings, args.queues, with_api=args.with_api))
    except (TemporalConnectError, UnknownQueueError, StackServerError) as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":  # the workflow sandbox re-imports modules: nothing may run on import
    from gennaker.temporal_client import exit_now

    exit_now(main())

"""What every Clouddriver-style activity class shares: the clouds, the cache write-through, turning
errors into task answers, and heartbeating while a cloud call runs."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from providers import targets
from providers.base import CloudError, ServerGroup, ServerGroupCloud, TransientCloudError
from providers.naming import NameError_
from workflows.stages.base import TaskInput, TaskResult

log = logging.getLogger("activities.deploy")
JSON = dict[str, Any]
UP_BACKOFF_MS = 10_000
PLATFORM_HEALTH = {"amazon", "google", "aws", "gce"}


class StageInputError(ValueError):
    """The stage's context cannot be acted on; the message names the field."""


def platform_health_only(context: JSON, where: JSON | ServerGroup) -> bool:
    """Count instances Up on the cloud's own health: when ``interestingHealthProviderNames`` (of the cluster
    ``where``, else of the stage) names only the platform (Deck's "consider only cloud provider health"), or
    when nothing else could report on them: the cluster, or the existing group, has no load balancers and
    no target groups -- Orca would wait forever there unless the application set it."""
    if isinstance(where, ServerGroup):
        names = context.get("interestingHealthProviderNames")
        balanced = bool(where.load_balancers or where.target_groups)
    else:
        names = where.get("interestingHealthProviderNames", context.get("interestingHealthProviderNames"))
        balanced = bool(where.get("loadBalancers") or where.get("targetGroups"))
    if isinstance(names, list) and names:
        return all(str(n).lower() in PLATFORM_HEALTH for n in names)
    return not balanced


@contextlib.contextmanager
def heartbeating() -> Iterator[None]:
    """Heartbeat from a side thread while the activity runs, when its task set a heartbeat timeout: a cloud
    call may block for a while, but a worker that dies is noticed within the timeout, not start-to-close."""
    if not activity.in_activity() or not activity.info().heartbeat_timeout:
        yield
        return
    timeout = activity.info().heartbeat_timeout
    assert timeout is not None
    interval = max(0.5, timeout.total_seconds() / 4)
    stop = threading.Event()
    context = contextvars.copy_context()

    def beat() -> None:
        while not stop.wait(interval):
            activity.heartbeat()

    thread = threading.Thread(target=context.run, args=(beat,), name="deploy-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 1)


def _failure(err: Exception) -> TaskResult:
    """A cloud or input error as the task's answer: transient ones are retried by Temporal instead."""
    if isinstance(err, TransientCloudError):
        raise ApplicationError(str(err), type="TransientCloudError") from err
    return TaskResult.terminal(str(err))


class DeployBase:
    """The clouds configured in settings (``aws``, ``gce``) and the store whose cache the activities write through."""

    def __init__(self, clouds: dict[str, ServerGroupCloud], store: Any = None) -> None:
        self.clouds = clouds
        self.store = store

    def _cache(self, cloud: ServerGroupCloud, account: str, region: str, name: str) -> None:
        """Write the group's new state through the API's cache (Orca's forceCacheRefresh), best effort."""
        if self.store is None:
            return
        try:
            group = cloud.server_group(account, region, name)
            if group is None:
                self.store.drop_cloud_cache_item(cloud.cloud_provider, account, "serverGroups", region, name)
            else:
                self.store.put_cloud_cache_item(cloud.cloud_provider, account, "serverGroups", group.to_json())
        except Exception as err:  # noqa: BLE001 - the next scheduled refresh catches up
            log.info("cache write-through of %s failed: %s", name, err)

    def cloud(self, name: Any) -> ServerGroupCloud:
        cloud = self.clouds.get(str(name or "aws"))
        if cloud is None:
            known = ", ".join(sorted(self.clouds)) or "none configured"
            raise StageInputError(f"cloudProvider: '{name}' has no accounts here (known: {known})")
        return cloud

    def _guarded(self, fn: Callable[[TaskInput], TaskResult]) -> Callable[[TaskInput], TaskResult]:
        def run(inp: TaskInput) -> TaskResult:
            with heartbeating():
                try:
                    return fn(inp)
                except (StageInputError, NameError_, targets.TargetError, CloudError, ValueError) as err:
                    return _failure(err)

        return run

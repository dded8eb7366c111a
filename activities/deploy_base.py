"""What every Clouddriver-style activity class is handed and shares: the provider sessions (each cloud's
client with the cache its writes go through), turning errors into task answers, and heartbeating while a
cloud call runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from temporalio.exceptions import ApplicationError

from core.errors import InvalidInputError
from core.tasks import TaskInput, TaskResult
from providers import targets
from providers.base import CloudError, ServerGroup, ServerGroupCloud, TransientCloudError
from providers.naming import NameError_

from .heartbeat import heartbeating

log = logging.getLogger("activities.deploy")
JSON = dict[str, Any]
UP_BACKOFF_MS = 10_000
PLATFORM_HEALTH = {"amazon", "google", "aws", "gce"}


class StageInputError(InvalidInputError, ValueError):
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


def _failure(err: Exception) -> TaskResult:
    """A cloud or input error as the task's answer: transient ones are retried by Temporal instead."""
    if isinstance(err, TransientCloudError):
        raise ApplicationError(str(err), type="TransientCloudError") from err
    return TaskResult.terminal(str(err))


class ProviderSession:
    """One cloud provider as the activities use it: its client, and the API's cache that its writes go through
    (Orca's ``forceCacheRefresh``)."""

    def __init__(self, cloud: ServerGroupCloud, store: Any = None) -> None:
        self.cloud = cloud
        self.store = store

    def refresh(self, account: str, region: str, name: str) -> None:
        """Write the group's new state through the API's cache, best effort."""
        if self.store is None:
            return
        provider = self.cloud.cloud_provider
        try:
            group = self.cloud.server_group(account, region, name)
            if group is None:
                self.store.cloud_cache.drop_item(provider, account, "serverGroups", region, name)
            else:
                self.store.cloud_cache.put_item(provider, account, "serverGroups", group.to_json())
        except Exception as err:  # noqa: BLE001 - the next scheduled refresh catches up
            log.info("cache write-through of %s failed: %s", name, err)


class ProviderSessions:
    """The provider sessions of a worker, by Spinnaker's cloud-provider key (``aws``, ``gce``): built once by
    the composition root and handed to every activity class that acts on server groups."""

    def __init__(self, clouds: dict[str, ServerGroupCloud], store: Any = None) -> None:
        self.store = store
        self._sessions = {name: ProviderSession(cloud, store) for name, cloud in clouds.items()}

    def session(self, name: Any) -> ProviderSession:
        """The session of the stage's ``cloudProvider`` (``aws`` when it names none)."""
        session = self._sessions.get(str(name or "aws"))
        if session is None:
            known = ", ".join(sorted(self._sessions)) or "none configured"
            raise StageInputError(f"cloudProvider: '{name}' has no accounts here (known: {known})")
        return session

    def cloud(self, name: Any) -> ServerGroupCloud:
        return self.session(name).cloud


def guarded(fn: Callable[[TaskInput], TaskResult]) -> Callable[[TaskInput], TaskResult]:
    """Run a task heartbeating; a cloud or input error becomes its answer (transient ones are retried)."""

    def run(inp: TaskInput) -> TaskResult:
        with heartbeating():
            try:
                return fn(inp)
            except (StageInputError, NameError_, targets.TargetError, CloudError, ValueError) as err:
                return _failure(err)

    return run

"""What the manifest activities (``manifest.py``, ``manifest_ops.py``) share: the account a stage names, the
guard that turns cloud faults into task results, manifests named by namespace, and the cache refresh after a stage
changed what it touched (Orca's ``ManifestForceCacheRefreshTask``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from temporalio.exceptions import ApplicationError

from core.errors import ConfigError
from core.tasks import TaskInput, TaskResult
from providers import kubernetes_manifest as km
from providers.base import CloudError, TransientCloudError
from providers.kubernetes import KubernetesCloud

from .deploy import heartbeating

JSON = dict[str, Any]
log = logging.getLogger(__name__)


def account_of(context: JSON) -> str:
    """The Kubernetes account a manifest stage names (``account``, or ``credentials`` as Deck writes it)."""
    account = context.get("account") or context.get("credentials")
    if not isinstance(account, str) or not account:
        raise km.ManifestError("account: the stage needs a Kubernetes account")
    return account


def guarded(fn: Callable[[TaskInput], TaskResult]) -> Callable[[TaskInput], TaskResult]:
    """Run a manifest task heartbeating; a transient cloud fault is retried, a cloud or input error ends the stage."""

    def run(inp: TaskInput) -> TaskResult:
        with heartbeating():
            try:
                return fn(inp)
            except TransientCloudError as err:
                raise ApplicationError(str(err), type="TransientCloudError") from err
            except (CloudError, ValueError) as err:
                return TaskResult.terminal(str(err))

    return run


def names_by_namespace(manifests: list[JSON]) -> dict[str, list[str]]:
    """``{namespace: [kind name, ...]}``, the shape Clouddriver reports manifests in."""
    out: dict[str, list[str]] = {}
    for manifest in manifests:
        out.setdefault(manifest["metadata"].get("namespace", ""), []).append(km.coordinates(manifest))
    return out


class CacheRefresh:
    """Re-read the namespaces a manifest stage touched into the cloud cache the API serves (Orca's force cache
    refresh), so ``/applications/{app}/serverGroups`` shows a new ReplicaSet when the stage ends, not at the next
    scheduled refresh. Only the account and namespaces named are read; what is cached of them and no longer exists
    is dropped. A failed read is logged and left to the scheduled refresh: the stage's change is done either way."""

    def __init__(self, cloud: KubernetesCloud, store: Any = None) -> None:
        self.cloud = cloud
        self.store = store

    def __call__(self, account: str, namespaces: Iterable[str]) -> list[str]:
        """Refresh each namespace; returns those refreshed (none without a store)."""
        if self.store is None:
            return []
        from providers.kubernetes_cache import PROVIDER, read_namespace

        done = []
        for namespace in sorted({n for n in namespaces if n}):  # "" is where cluster-scoped kinds are named
            try:
                kinds = read_namespace(self.cloud, account, namespace)
            except (CloudError, ConfigError) as err:
                log.warning("cache refresh of kubernetes/%s/%s after a stage failed: %s", account, namespace, err)
                continue
            if kinds is None:  # the account does not cover the namespace: nothing of it is cached
                continue
            cache = self.store.cloud_cache
            for kind, items in kinds.items():
                fresh = {str(item["name"]) for item in items}
                for old in cache.items(kind, account=account, region=namespace, provider=PROVIDER):
                    if str(old.get("name")) not in fresh:
                        cache.drop_item(PROVIDER, account, kind, namespace, str(old.get("name")))
                for item in items:
                    cache.put_item(PROVIDER, account, kind, item)
            done.append(namespace)
        return done

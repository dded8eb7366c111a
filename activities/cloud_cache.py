"""Refreshing the cloud cache the API reads (Clouddriver's caching agents, one pass per Schedule tick)."""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity

from core.messages.cloud_cache import RefreshCloudCacheInput
from providers.base import CloudError, ServerGroupCloud
from providers.infra import infra_items

log = logging.getLogger(__name__)


class CloudCacheActivities:
    def __init__(self, clouds: dict[str, ServerGroupCloud], store: Any, kubernetes: Any = None) -> None:
        self.clouds = clouds
        self.store = store
        #: the Kubernetes cloud (``providers.kubernetes.KubernetesCloud``), made when first needed
        self.kubernetes = kubernetes

    @activity.defn(name="refresh_cloud_cache")
    def refresh(self, inp: RefreshCloudCacheInput) -> dict[str, int]:
        """Read every region of the account and replace its cached server groups, load balancers and images.
        A failed read keeps the previous copy and records the error (the API shows how old the copy is)."""
        if inp.provider == "kubernetes":
            return self._refresh_kubernetes(inp)
        cloud = self.clouds.get(inp.provider)
        if cloud is None:
            return {}
        kinds: dict[str, list[dict[str, Any]]] = {"serverGroups": [], "loadBalancers": [], "images": []}
        skipped: set[str] = set()
        try:
            for region in cloud.regions(inp.account):
                kinds["serverGroups"] += [g.to_json() for g in cloud.server_groups(inp.account, region)]
                lister = getattr(cloud, "load_balancers", None)
                if lister is not None:
                    kinds["loadBalancers"] += [
                        {**lb, "region": lb.get("region") or region} for lb in lister(inp.account, region)
                    ]
                kinds["images"] += [
                    {**image.to_json(), "name": image.name, "account": inp.account}
                    for image in cloud.find_images(inp.account, region)
                ]
                for kind, found in infra_items(cloud, inp.account, region).items():  # networks, firewalls...
                    if found is None:  # that kind's read failed: its previous copy is kept
                        skipped.add(kind)
                    kinds.setdefault(kind, []).extend(found or [])
        except CloudError as err:
            log.warning("cache refresh of %s/%s failed: %s", inp.provider, inp.account, err)
            self.store.cloud_cache.replace(inp.provider, inp.account, "serverGroups", [], error=str(err))
            return {}
        for kind, items in kinds.items():
            if kind not in skipped:
                self.store.cloud_cache.replace(inp.provider, inp.account, kind, items)
        return {kind: len(items) for kind, items in kinds.items()}

    def _refresh_kubernetes(self, inp: RefreshCloudCacheInput) -> dict[str, int]:
        """A Kubernetes account's server groups, server group managers and load balancers
        (``providers/kubernetes_cache.py``); a failed read keeps the previous copy and records the error."""
        from core.errors import ConfigError
        from providers.kubernetes import KubernetesCloud
        from providers.kubernetes_cache import read_account

        if self.kubernetes is None:  # it finds the accounts providers/registry.py registered, by name
            self.kubernetes = KubernetesCloud([])
        try:
            kinds = read_account(self.kubernetes, inp.account)
        except (CloudError, ConfigError) as err:
            log.warning("cache refresh of kubernetes/%s failed: %s", inp.account, err)
            self.store.cloud_cache.replace(inp.provider, inp.account, "serverGroups", [], error=str(err))
            return {}
        for kind, items in kinds.items():
            self.store.cloud_cache.replace(inp.provider, inp.account, kind, items)
        return {kind: len(items) for kind, items in kinds.items()}

"""Refreshing the cloud cache the API reads (Clouddriver's caching agents, one pass per Schedule tick)."""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity

from providers.base import CloudError, ServerGroupCloud
from providers.infra import infra_items
from workflows.cloud_cache import RefreshCloudCacheInput

log = logging.getLogger(__name__)


class CloudCacheActivities:
    def __init__(self, clouds: dict[str, ServerGroupCloud], store: Any) -> None:
        self.clouds = clouds
        self.store = store

    @activity.defn(name="refresh_cloud_cache")
    def refresh(self, inp: RefreshCloudCacheInput) -> dict[str, int]:
        """Read every region of the account and replace its cached server groups, load balancers and images.
        A failed read keeps the previous copy and records the error (the API shows how old the copy is)."""
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
            self.store.replace_cloud_cache(inp.provider, inp.account, "serverGroups", [], error=str(err))
            return {}
        for kind, items in kinds.items():
            if kind not in skipped:
                self.store.replace_cloud_cache(inp.provider, inp.account, kind, items)
        return {kind: len(items) for kind, items in kinds.items()}

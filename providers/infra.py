"""The infrastructure kinds the cloud cache keeps besides server groups (networks, subnets, key pairs,
instance types, security groups / firewalls), for whichever clouds have readers.

A cached row is keyed by (provider, account, kind, region, name); names of these kinds repeat within a
region (every VPC has a ``default`` group), so each item is wrapped as ``{name: <unique key>, region,
moniker, item}`` and the routes serve ``item``.
"""

from __future__ import annotations

import logging
from typing import Any

from .base import CloudError

log = logging.getLogger(__name__)
JSON = dict[str, Any]
#: the infrastructure kinds, as the cache stores them
INFRA_KINDS = ("networks", "subnets", "keyPairs", "instanceTypes", "securityGroups")


def readers_for(cloud: Any) -> Any:
    """The infrastructure reader of a cloud object, or None for a cloud without one."""
    provider = getattr(cloud, "cloud_provider", None)
    if provider == "aws" and hasattr(cloud, "_client"):
        from .aws_infra import AwsInfraReads

        return AwsInfraReads(cloud)
    if provider == "gce" and hasattr(cloud, "ops"):
        from .gce_infra import GceInfraReads

        return GceInfraReads(cloud)
    return None


def wrap(kind: str, item: JSON, key: str) -> JSON:
    """One item as the cache stores it (see the module docstring)."""
    return {
        "name": f"{kind}:{item.get(key)}",
        "region": item.get("region") or "",
        "moniker": item.get("moniker") or {},
        "item": item,
    }


def infra_items(cloud: Any, account: str, region: str) -> dict[str, list[JSON] | None]:
    """Every infrastructure kind of one account and region, wrapped for the cache. A kind whose read failed
    (an account whose role may not list key pairs...) is None: the cache keeps its previous copy of that kind,
    and the server groups, load balancers and images are refreshed all the same."""
    readers = readers_for(cloud)
    if readers is None:
        return {}
    out: dict[str, list[JSON] | None] = {}
    for kind, (method, key) in readers.KINDS.items():
        try:
            out[kind] = [wrap(kind, item, key) for item in getattr(readers, method)(account, region)]
        except CloudError as err:
            log.warning("cache refresh of %s in %s/%s failed: %s", kind, account, region, err)
            out[kind] = None
    return out

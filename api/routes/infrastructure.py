"""Gate's infrastructure reads (Clouddriver behind Gate): clusters, server groups, load balancers, images,
instances and search, answered from the cloud cache.

Every answer says how fresh it is: ``X-Gennaker-Cache-Refreshed-At`` (epoch ms of the oldest refresh
among the accounts it covers) and ``X-Gennaker-Cache-Age-Seconds``; an account whose last refresh
failed adds ``X-Gennaker-Cache-Error``. The cache is refreshed every 30 seconds by a Temporal
Schedule per account, and written through by every deploy, resize, disable, enable and destroy.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Query, Response

from ..auth.enforce import READ, Guard, GuardDep
from ..deps import StoreDep
from ..errors import ApiError
from ..models.infrastructure import (
    Cluster,
    ClusterSummary,
    Image,
    Instance,
    LoadBalancer,
    SearchResults,
    ServerGroup,
)

if TYPE_CHECKING:
    from core.store import Store


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


#: every cached read says how fresh it is (see the module docstring); declared on each answer's 200
FRESHNESS: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "X-Gennaker-Cache-Refreshed-At": _header(
                "Epoch ms of the oldest refresh of the accounts covered, or never"
            ),
            "X-Gennaker-Cache-Age-Seconds": _header("Seconds since that refresh"),
            "X-Gennaker-Cache-Error": _header("The accounts whose last refresh failed, with the errors"),
        }
    }
}
router = APIRouter(tags=["infrastructure"], responses=FRESHNESS)
Json = dict[str, Any]
SERVER_GROUPS, LOAD_BALANCERS, IMAGES = "serverGroups", "loadBalancers", "images"
SERVER_GROUP_MANAGERS = "serverGroupManagers"


async def _answer(store: Store, body: Any, accounts: set[str] | None = None) -> Response:
    statuses = await asyncio.to_thread(store.cloud_cache.status)
    relevant = [s for s in statuses if accounts is None or s["account"] in accounts]
    headers: dict[str, str] = {}
    if relevant:
        oldest = min(s["refreshedAt"] for s in relevant)
        headers["X-Gennaker-Cache-Refreshed-At"] = str(oldest)
        headers["X-Gennaker-Cache-Age-Seconds"] = f"{max(0.0, time.time() - oldest / 1000):.1f}"
        errors = [f"{s['provider']}/{s['account']}: {s['error']}" for s in relevant if s.get("error")]
        if errors:
            headers["X-Gennaker-Cache-Error"] = "; ".join(errors)[:500].encode("ascii", "replace").decode()
    else:
        headers["X-Gennaker-Cache-Refreshed-At"] = "never"
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json", headers=headers)


def _app_of(item: Any) -> Any:
    if not isinstance(item, dict):
        return None
    return item.get("application") or (item.get("moniker") or {}).get("app")


async def _visible(guard: Guard, items: list[Json]) -> list[Json]:
    """The cache entries whose account and application the caller may READ (all while auth is off)."""
    if not guard.enabled:
        return items
    return await guard.keep_apps(guard.keep_accounts(items), key=_app_of)


async def _scoped(guard: Guard, application: str | None, account: str | None) -> None:
    """403 unless the caller may READ the application and the account a single-resource read names."""
    if application is not None:
        await guard.app(application, READ)
    guard.account(account, READ)


async def _groups(store: Store, **where: Any) -> list[Json]:
    return await asyncio.to_thread(store.cloud_cache.items, SERVER_GROUPS, **where)


def _clusters(groups: list[Json]) -> list[Json]:
    """Server groups gathered into Gate's cluster objects (per account, provider and cluster name)."""
    clusters: dict[tuple[str, str, str], Json] = {}
    for group in groups:
        key = (group["account"], group.get("type") or group.get("cloudProvider") or "", group["cluster"])
        cluster = clusters.setdefault(
            key,
            {
                "name": group["cluster"],
                "account": group["account"],
                "accountName": group["account"],
                "type": key[1],
                "moniker": {k: v for k, v in (group.get("moniker") or {}).items() if k != "sequence"},
                "serverGroups": [],
                "loadBalancers": [],
            },
        )
        cluster["serverGroups"].append(group)
        for name in group.get("loadBalancers") or []:
            if name not in cluster["loadBalancers"]:
                cluster["loadBalancers"].append(name)
    return list(clusters.values())


@router.get("/applications/{application}/clusters", response_model=dict[str, list[str]])
async def app_clusters(application: str, store: StoreDep, guard: GuardDep) -> Response:
    """``{account: [cluster names]}``, as Gate answers."""
    await _scoped(guard, application, None)
    groups = guard.keep_accounts(await _groups(store, application=application))
    out: dict[str, list[str]] = {}
    for group in groups:
        names = out.setdefault(group["account"], [])
        if group["cluster"] not in names:
            names.append(group["cluster"])
    return await _answer(store, out, {g["account"] for g in groups})


@router.get("/applications/{application}/clusters/{account}", response_model=list[ClusterSummary])
async def account_clusters(application: str, account: str, store: StoreDep, guard: GuardDep) -> Response:
    await _scoped(guard, application, account)
    groups = await _groups(store, application=application, account=account)
    summaries = [{**c, "serverGroups": [g["name"] for g in c["serverGroups"]]} for c in _clusters(groups)]
    return await _answer(store, summaries, {account})


@router.get("/applications/{application}/clusters/{account}/{cluster}", response_model=list[Cluster])
async def cluster(application: str, account: str, cluster: str, store: StoreDep, guard: GuardDep) -> Response:
    await _scoped(guard, application, account)
    groups = await _groups(store, application=application, account=account, cluster=cluster)
    return await _answer(store, _clusters(groups), {account})


@router.get("/applications/{application}/clusters/{account}/{cluster}/serverGroups", response_model=list[ServerGroup])
async def cluster_server_groups(
    application: str, account: str, cluster: str, store: StoreDep, guard: GuardDep
) -> Response:
    await _scoped(guard, application, account)
    groups = await _groups(store, application=application, account=account, cluster=cluster)
    return await _answer(store, groups, {account})


@router.get(
    "/applications/{application}/clusters/{account}/{cluster}/serverGroups/{name}", response_model=list[ServerGroup]
)
async def cluster_server_group(
    application: str, account: str, cluster: str, name: str, store: StoreDep, guard: GuardDep
) -> Response:
    """The server group of that name, once per region it is in."""
    await _scoped(guard, application, account)
    groups = await _groups(store, application=application, account=account, cluster=cluster, name=name)
    return await _answer(store, groups, {account})


@router.get(
    "/applications/{application}/clusters/{account}/{cluster}/{provider}/{region}/serverGroups/target/{target}",
    response_model=ServerGroup,
)
async def target_server_group(
    application: str,
    account: str,
    cluster: str,
    provider: str,
    region: str,
    target: str,
    store: StoreDep,
    guard: GuardDep,
) -> Response:
    """``current_asg_dynamic`` / ``ancestor_asg_dynamic`` / ``oldest_asg_dynamic`` of a cluster in a region."""
    await _scoped(guard, application, account)
    groups = await _groups(store, account=account, cluster=cluster, region=region, provider=provider)
    ordered = sorted(groups, key=lambda g: (g.get("createdTime") or 0, g["name"]), reverse=True)
    index = {"current_asg_dynamic": 0, "current_asg": 0, "ancestor_asg_dynamic": 1, "ancestor_asg": 1}.get(target)
    if target in ("oldest_asg_dynamic", "oldest_asg") and ordered:
        return await _answer(store, ordered[-1], {account})
    if index is None:
        raise ApiError(
            400,
            f"target '{target}' is not current_asg_dynamic, ancestor_asg_dynamic or oldest_asg_dynamic",
            field="target",
        )
    if len(ordered) <= index:
        raise ApiError(404, f"no {target} server group in {account}/{region}/{cluster}")
    return await _answer(store, ordered[index], {account})


@router.get("/applications/{application}/serverGroups", response_model=list[ServerGroup])
async def app_server_groups(
    application: str,
    store: StoreDep,
    guard: GuardDep,
    cloudProvider: str | None = None,  # noqa: N803
) -> Response:
    await _scoped(guard, application, None)
    groups = guard.keep_accounts(await _groups(store, application=application, provider=cloudProvider))
    return await _answer(store, groups, {g["account"] for g in groups})


@router.get("/serverGroups", response_model=list[ServerGroup])
async def server_groups(
    store: StoreDep,
    guard: GuardDep,
    applications: str | None = None,
    cloudProvider: str | None = None,  # noqa: N803
) -> Response:
    wanted = [a.strip() for a in (applications or "").split(",") if a.strip()]
    if wanted:
        groups = [g for app in wanted for g in await _groups(store, application=app, provider=cloudProvider)]
    else:
        groups = await _groups(store, provider=cloudProvider)
    groups = await _visible(guard, groups)
    return await _answer(store, groups, {g["account"] for g in groups})


@router.get("/applications/{application}/serverGroups/{account}/{region}/{name}", response_model=ServerGroup)
async def server_group(
    application: str, account: str, region: str, name: str, store: StoreDep, guard: GuardDep
) -> Response:
    await _scoped(guard, application, account)
    found = await _groups(store, account=account, region=region, name=name)
    if not found:
        raise ApiError(404, f"Server group {name} not found in {account}/{region}")
    return await _answer(store, found[0], {account})


@router.get("/applications/{application}/serverGroupManagers", response_model=list[Json])
async def app_server_group_managers(application: str, store: StoreDep, guard: GuardDep) -> Response:
    """Kubernetes Deployments of the application, each with the server groups (ReplicaSets) it manages."""
    await _scoped(guard, application, None)
    found = await asyncio.to_thread(store.cloud_cache.items, SERVER_GROUP_MANAGERS, application=application)
    items = guard.keep_accounts(found)
    return await _answer(store, items, {i["account"] for i in items})


@router.get("/loadBalancers", response_model=list[LoadBalancer])
async def load_balancers(store: StoreDep, guard: GuardDep, provider: str = "aws") -> Response:
    items = await _visible(guard, await asyncio.to_thread(store.cloud_cache.items, LOAD_BALANCERS, provider=provider))
    return await _answer(store, items)


@router.get("/applications/{application}/loadBalancers", response_model=list[LoadBalancer])
async def app_load_balancers(application: str, store: StoreDep, guard: GuardDep) -> Response:
    await _scoped(guard, application, None)
    found = await asyncio.to_thread(store.cloud_cache.items, LOAD_BALANCERS, application=application)
    items = guard.keep_accounts(found)
    return await _answer(store, items)


@router.get("/loadBalancers/{account}/{region}/{name}", response_model=list[LoadBalancer])
async def load_balancer(account: str, region: str, name: str, store: StoreDep, guard: GuardDep) -> Response:
    await _scoped(guard, None, account)
    items = await asyncio.to_thread(store.cloud_cache.items, LOAD_BALANCERS, account=account, region=region, name=name)
    if not items:
        raise ApiError(404, f"Load balancer {name} not found in {account}/{region}")
    return await _answer(store, items, {account})


@router.get("/images/find", response_model=list[Image])
async def find_images(
    store: StoreDep,
    guard: GuardDep,
    provider: str = "aws",
    q: str | None = None,
    region: str | None = None,
    account: str | None = None,
    count: int = Query(1000, ge=1, le=10000),
) -> Response:
    """Images whose name matches ``q`` (``*`` wildcards; a plain word matches anywhere), newest first."""
    await _scoped(guard, None, account)
    images = await asyncio.to_thread(store.cloud_cache.items, IMAGES, provider=provider, region=region, account=account)
    if q:
        pattern = q if "*" in q else f"*{q}*"
        images = [i for i in images if fnmatch.fnmatchcase(str(i.get("imageName") or ""), pattern)]
    images = guard.keep_accounts(images)
    images.sort(key=lambda i: i.get("creationDate") or 0, reverse=True)
    return await _answer(store, images[:count], {account} if account else None)


@router.get("/instances/{account}/{region}/{instance_id}", response_model=Instance)
async def instance(account: str, region: str, instance_id: str, store: StoreDep, guard: GuardDep) -> Response:
    await _scoped(guard, None, account)
    for group in await _groups(store, account=account, region=region):
        for item in group.get("instances") or []:
            if instance_id in (item.get("id"), item.get("humanReadableName")):  # Kubernetes: uid or "pod name"
                await guard.app(_app_of(group), READ)
                body = {
                    **item,
                    "account": account,
                    "region": region,
                    "serverGroup": group["name"],
                    "cluster": group["cluster"],
                    "cloudProvider": group.get("cloudProvider"),
                }
                return await _answer(store, body, {account})
    raise ApiError(404, f"Instance {instance_id} not found in {account}/{region}")


SEARCH_TYPES = ("serverGroups", "clusters", "applications", "instances", "loadBalancers")


def _search_results(kind: str, needle: str, provider: str, groups: list[Json], lbs: list[Json]) -> list[Json]:
    """One provider's matches of one type. Kubernetes results add Clouddriver's fields (``name``, ``namespace``,
    ``kubernetesKind``...) and match a Pod by its name as well as its uid."""
    kube = provider == "kubernetes"
    if kind == "serverGroups":
        return [
            {
                "type": "serverGroups",
                "serverGroup": g["name"],
                "cluster": g["cluster"],
                "account": g["account"],
                "region": g["region"],
                "application": (g.get("moniker") or {}).get("app"),
                "provider": provider,
                **({"name": g["name"], "namespace": g["region"], "kubernetesKind": g.get("kind")} if kube else {}),
            }
            for g in groups
            if needle in g["name"].lower()
        ]
    if kind == "clusters":
        seen = {
            (g["account"], g["cluster"], (g.get("moniker") or {}).get("app"))
            for g in groups
            if needle in g["cluster"].lower()
        }
        return [
            {"type": "clusters", "cluster": c, "account": a, "application": app, "provider": provider}
            for a, c, app in sorted(seen, key=lambda t: tuple(str(x) for x in t))
        ]
    if kind == "applications":
        apps = sorted({str((g.get("moniker") or {}).get("app")) for g in groups} - {"None"})
        return [{"type": "applications", "application": a, "provider": provider} for a in apps if needle in a.lower()]
    if kind == "instances":
        return [
            {
                "type": "instances",
                "instanceId": i.get("humanReadableName") or i["id"] if kube else i["id"],
                "serverGroup": g["name"],
                "account": g["account"],
                "region": g["region"],
                "provider": provider,
                **({"name": i.get("humanReadableName"), "uid": i["id"], "namespace": g["region"]} if kube else {}),
            }
            for g in groups
            for i in g.get("instances") or []
            if needle in str(i.get("id", "")).lower() or (kube and needle in str(i.get("name", "")).lower())
        ]
    return [
        {
            "type": "loadBalancers",
            "loadBalancer": lb["name"],
            "account": lb.get("account"),
            "region": lb.get("region"),
            "provider": provider,
            **({"name": lb["name"], "namespace": lb.get("region"), "kubernetesKind": lb.get("kind")} if kube else {}),
        }
        for lb in lbs
        if needle in lb["name"].lower()
    ]


@router.get("/search", response_model=list[SearchResults])
async def search(
    store: StoreDep,
    guard: GuardDep,
    q: str = "",
    type: str = "serverGroups",  # noqa: A002 - Gate's parameter name
    platform: str | None = None,
    pageSize: int = Query(10000, ge=1, le=10000),  # noqa: N803
    page: int = Query(1, ge=1),
) -> Response:
    """Gate's search over the cache (``type``: serverGroups, clusters, applications, loadBalancers, instances).

    With ``platform``, one result set of that provider; without, one per provider the cache holds (``aws`` first,
    as Clouddriver answers one set per search provider; an empty cache answers one empty ``aws`` set)."""
    if type not in SEARCH_TYPES:
        raise ApiError(
            400, f"type '{type}' is not serverGroups, clusters, applications, instances or loadBalancers", field="type"
        )
    needle = q.lower()
    if platform is not None:
        providers = [platform]
    else:  # the providers the cache holds accounts of
        statuses = await asyncio.to_thread(store.cloud_cache.status)
        providers = sorted({str(s["provider"]) for s in statuses}, key=lambda p: (p != "aws", p)) or ["aws"]
    start = (page - 1) * pageSize
    body = []
    for provider in providers:
        groups = await _visible(guard, await _groups(store, provider=provider))
        lbs: list[Json] = []
        if type == "loadBalancers":
            lbs = await _visible(
                guard, await asyncio.to_thread(store.cloud_cache.items, LOAD_BALANCERS, provider=provider)
            )
        results = _search_results(type, needle, provider, groups, lbs)
        body.append(
            {
                "pageNumber": page,
                "pageSize": pageSize,
                "platform": provider,
                "query": q,
                "results": results[start : start + pageSize],
                "totalMatches": len(results),
            }
        )
    return await _answer(store, body)

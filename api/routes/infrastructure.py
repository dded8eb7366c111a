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
from typing import Any

from fastapi import APIRouter, Query, Response

from ..auth.enforce import READ, Guard, GuardDep
from ..deps import StoreDep
from ..errors import ApiError

router = APIRouter(tags=["infrastructure"])
Json = dict[str, Any]
SERVER_GROUPS, LOAD_BALANCERS, IMAGES = "serverGroups", "loadBalancers", "images"


async def _answer(store: Any, body: Any, accounts: set[str] | None = None) -> Response:
    statuses = await asyncio.to_thread(store.cloud_cache_status)
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


async def _groups(store: Any, **where: Any) -> list[Json]:
    return await asyncio.to_thread(store.cloud_cache, SERVER_GROUPS, **where)  # type: ignore[no-any-return]


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


@router.get("/applications/{application}/clusters")
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


@router.get("/applications/{application}/clusters/{account}")
async def account_clusters(application: str, account: str, store: StoreDep, guard: GuardDep) -> Response:
    await _scoped(guard, application, account)
    groups = await _groups(store, application=application, account=account)
    summaries = [{**c, "serverGroups": [g["name"] for g in c["serverGroups"]]} for c in _clusters(groups)]
    return await _answer(store, summaries, {account})


@router.get("/applications/{application}/clusters/{account}/{cluster}")
async def cluster(application: str, account: str, cluster: str, store: StoreDep, guard: GuardDep) -> Response:
    await _scoped(guard, application, account)
    groups = await _groups(store, application=application, account=account, cluster=cluster)
    return await _answer(store, _clusters(groups), {account})


@router.get("/applications/{application}/clusters/{account}/{cluster}/serverGroups")
async def cluster_server_groups(
    application: str, account: str, cluster: str, store: StoreDep, guard: GuardDep
) -> Response:
    await _scoped(guard, application, account)
    groups = await _groups(store, application=application, account=account, cluster=cluster)
    return await _answer(store, groups, {account})


@router.get("/applications/{application}/clusters/{account}/{cluster}/serverGroups/{name}")
async def cluster_server_group(
    application: str, account: str, cluster: str, name: str, store: StoreDep, guard: GuardDep
) -> Response:
    """The server group of that name, once per region it is in."""
    await _scoped(guard, application, account)
    groups = await _groups(store, application=application, account=account, cluster=cluster, name=name)
    return await _answer(store, groups, {account})


@router.get("/applications/{application}/clusters/{account}/{cluster}/{provider}/{region}/serverGroups/target/{target}")
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


@router.get("/applications/{application}/serverGroups")
async def app_server_groups(
    application: str,
    store: StoreDep,
    guard: GuardDep,
    cloudProvider: str | None = None,  # noqa: N803
) -> Response:
    await _scoped(guard, application, None)
    groups = guard.keep_accounts(await _groups(store, application=application, provider=cloudProvider))
    return await _answer(store, groups, {g["account"] for g in groups})


@router.get("/serverGroups")
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


@router.get("/applications/{application}/serverGroups/{account}/{region}/{name}")
async def server_group(
    application: str, account: str, region: str, name: str, store: StoreDep, guard: GuardDep
) -> Response:
    await _scoped(guard, application, account)
    found = await _groups(store, account=account, region=region, name=name)
    if not found:
        raise ApiError(404, f"Server group {name} not found in {account}/{region}")
    return await _answer(store, found[0], {account})


@router.get("/loadBalancers")
async def load_balancers(store: StoreDep, guard: GuardDep, provider: str = "aws") -> Response:
    items = await _visible(guard, await asyncio.to_thread(store.cloud_cache, LOAD_BALANCERS, provider=provider))
    return await _answer(store, items)


@router.get("/applications/{application}/loadBalancers")
async def app_load_balancers(application: str, store: StoreDep, guard: GuardDep) -> Response:
    await _scoped(guard, application, None)
    items = guard.keep_accounts(await asyncio.to_thread(store.cloud_cache, LOAD_BALANCERS, application=application))
    return await _answer(store, items)


@router.get("/loadBalancers/{account}/{region}/{name}")
async def load_balancer(account: str, region: str, name: str, store: StoreDep, guard: GuardDep) -> Response:
    await _scoped(guard, None, account)
    items = await asyncio.to_thread(store.cloud_cache, LOAD_BALANCERS, account=account, region=region, name=name)
    if not items:
        raise ApiError(404, f"Load balancer {name} not found in {account}/{region}")
    return await _answer(store, items, {account})


@router.get("/images/find")
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
    images = await asyncio.to_thread(store.cloud_cache, IMAGES, provider=provider, region=region, account=account)
    if q:
        pattern = q if "*" in q else f"*{q}*"
        images = [i for i in images if fnmatch.fnmatchcase(str(i.get("imageName") or ""), pattern)]
    images = guard.keep_accounts(images)
    images.sort(key=lambda i: i.get("creationDate") or 0, reverse=True)
    return await _answer(store, images[:count], {account} if account else None)


@router.get("/instances/{account}/{region}/{instance_id}")
async def instance(account: str, region: str, instance_id: str, store: StoreDep, guard: GuardDep) -> Response:
    await _scoped(guard, None, account)
    for group in await _groups(store, account=account, region=region):
        for item in group.get("instances") or []:
            if item.get("id") == instance_id:
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


@router.get("/search")
async def search(
    store: StoreDep,
    guard: GuardDep,
    q: str = "",
    type: str = "serverGroups",  # noqa: A002 - Gate's parameter name
    platform: str = "aws",
    pageSize: int = Query(10000, ge=1, le=10000),  # noqa: N803
    page: int = Query(1, ge=1),
) -> Response:
    """Gate's search over the cache (``type``: serverGroups, clusters, applications, loadBalancers, instances)."""
    needle = q.lower()
    groups = await _visible(guard, await _groups(store, provider=platform))
    results: list[Json] = []
    if type == "serverGroups":
        results = [
            {
                "type": "serverGroups",
                "serverGroup": g["name"],
                "cluster": g["cluster"],
                "account": g["account"],
                "region": g["region"],
                "application": (g.get("moniker") or {}).get("app"),
                "provider": platform,
            }
            for g in groups
            if needle in g["name"].lower()
        ]
    elif type == "clusters":
        seen = {
            (g["account"], g["cluster"], (g.get("moniker") or {}).get("app"))
            for g in groups
            if needle in g["cluster"].lower()
        }
        results = [
            {"type": "clusters", "cluster": c, "account": a, "application": app, "provider": platform}
            for a, c, app in sorted(seen)
        ]
    elif type == "applications":
        apps = sorted({str((g.get("moniker") or {}).get("app")) for g in groups} - {"None"})
        results = [
            {"type": "applications", "application": a, "provider": platform} for a in apps if needle in a.lower()
        ]
    elif type == "instances":
        results = [
            {
                "type": "instances",
                "instanceId": i["id"],
                "serverGroup": g["name"],
                "account": g["account"],
                "region": g["region"],
                "provider": platform,
            }
            for g in groups
            for i in g.get("instances") or []
            if needle in str(i.get("id", "")).lower()
        ]
    elif type == "loadBalancers":
        lbs = await _visible(guard, await asyncio.to_thread(store.cloud_cache, LOAD_BALANCERS, provider=platform))
        results = [
            {
                "type": "loadBalancers",
                "loadBalancer": lb["name"],
                "account": lb.get("account"),
                "region": lb.get("region"),
                "provider": platform,
            }
            for lb in lbs
            if needle in lb["name"].lower()
        ]
    else:
        raise ApiError(
            400, f"type '{type}' is not serverGroups, clusters, applications, instances or loadBalancers", field="type"
        )
    start = (page - 1) * pageSize
    body = [
        {
            "pageNumber": page,
            "pageSize": pageSize,
            "platform": platform,
            "query": q,
            "results": results[start : start + pageSize],
            "totalMatches": len(results),
        }
    ]
    return await _answer(store, body)

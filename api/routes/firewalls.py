"""Gate's security group (firewall) reads, as Clouddriver's ``SecurityGroupController``: summaries by account,
provider and region, and whole groups with their ingress rules (other groups named and linked, CIDR ranges).
From the cloud cache, with its freshness headers. Every route also answers under Gate's newer name, ``/firewalls``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from ..auth.enforce import READ, GuardDep
from ..deps import StoreDep
from ..errors import ApiError
from ..models.infrastructure import SecurityGroup, SecurityGroupsByRegion
from .infrastructure import FRESHNESS, _answer
from .networks import cached

router = APIRouter(tags=["infrastructure"], responses=FRESHNESS)
Json = dict[str, Any]
KIND = "securityGroups"


def _summary(group: Json) -> Json:
    return {"name": group.get("name"), "id": group.get("id"), "vpcId": group.get("vpcId")}


def _by_region(groups: list[Json]) -> dict[str, dict[str, list[Json]]]:
    out: dict[str, dict[str, list[Json]]] = {}
    for g in groups:
        out.setdefault(str(g.get("cloudProvider")), {}).setdefault(str(g.get("region")), []).append(_summary(g))
    return out


@router.get("/securityGroups", response_model=dict[str, SecurityGroupsByRegion])
@router.get("/firewalls", response_model=dict[str, SecurityGroupsByRegion])
async def security_groups(store: StoreDep, guard: GuardDep, provider: str | None = None) -> Response:
    """``{account: {cloudProvider: {region: [{name, id, vpcId}]}}}``."""
    groups = await cached(store, guard, KIND, provider=provider)
    accounts: dict[str, list[Json]] = {}
    for g in groups:
        accounts.setdefault(str(g.get("account")), []).append(g)
    body = {account: _by_region(items) for account, items in accounts.items()}
    return await _answer(store, body, set(accounts))


@router.get("/securityGroups/{account}", response_model=SecurityGroupsByRegion)
@router.get("/firewalls/{account}", response_model=SecurityGroupsByRegion)
async def account_security_groups(
    account: str, store: StoreDep, guard: GuardDep, provider: str | None = None, region: str | None = None
) -> Response:
    """``{cloudProvider: {region: [summary]}}`` of one account."""
    guard.account(account, READ)
    groups = await cached(store, guard, KIND, account=account, provider=provider, region=region)
    return await _answer(store, _by_region(groups), {account})


@router.get("/securityGroups/{account}/{provider}/{name}", response_model=SecurityGroup)
@router.get("/firewalls/{account}/{provider}/{name}", response_model=SecurityGroup)
async def security_group(
    account: str,
    provider: str,
    name: str,
    store: StoreDep,
    guard: GuardDep,
    region: str | None = None,
    vpcId: str | None = None,  # noqa: N803
) -> Response:
    """The whole group, with its ``inboundRules``; ``region`` and ``vpcId`` choose among groups of that name."""
    guard.account(account, READ)
    groups = await cached(store, guard, KIND, account=account, provider=provider)
    found = [
        g
        for g in groups
        if g.get("name") == name
        and (region is None or g.get("region") in (region, "global"))
        and (vpcId is None or g.get("vpcId") == vpcId)
    ]
    if not found:
        raise ApiError(404, f"Security group {name} not found in {account}/{provider}/{region or 'any region'}")
    return await _answer(store, found[0], {account})


@router.get("/applications/{application}/securityGroups", response_model=list[SecurityGroup])
@router.get("/applications/{application}/firewalls", response_model=list[SecurityGroup])
async def app_security_groups(application: str, store: StoreDep, guard: GuardDep) -> Response:
    """The application's groups (by Frigga naming: ``myapp``, ``myapp-elb``...), whole."""
    await guard.app(application, READ)
    groups = await cached(store, guard, KIND, application=application)
    return await _answer(store, groups, {str(g.get("account")) for g in groups})

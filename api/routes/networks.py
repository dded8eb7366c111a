"""Gate's network reads (Clouddriver's ``NetworkController``, ``SubnetController``, ``InstanceTypeController``,
``KeyPairController``), from the cloud cache with its freshness headers (``routes/infrastructure.py``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Response

from ..auth.enforce import Guard, GuardDep
from ..deps import StoreDep
from ..models.infrastructure import Network
from .infrastructure import FRESHNESS, _answer

if TYPE_CHECKING:
    from core.store import Store

router = APIRouter(tags=["infrastructure"], responses=FRESHNESS)
Json = dict[str, Any]


async def cached(store: Store, guard: Guard, kind: str, **where: Any) -> list[Json]:
    """The items of one infrastructure kind (unwrapped from the cache rows), those the caller may READ."""
    rows = await asyncio.to_thread(store.cloud_cache.items, kind, **where)
    items = [r["item"] for r in rows if isinstance(r.get("item"), dict)]
    return guard.keep_accounts(items)


def _accounts(items: list[Json]) -> set[str]:
    return {str(i.get("account")) for i in items}


@router.get("/networks", response_model=dict[str, list[Network]])
async def networks(store: StoreDep, guard: GuardDep) -> Response:
    """``{cloudProvider: [network]}``, as Clouddriver answers."""
    items = await cached(store, guard, "networks")
    out: dict[str, list[Json]] = {}
    for item in items:
        out.setdefault(str(item.get("cloudProvider")), []).append(item)
    return await _answer(store, out, _accounts(items))


@router.get("/networks/{cloudProvider}", response_model=list[Network])
async def provider_networks(cloudProvider: str, store: StoreDep, guard: GuardDep) -> Response:  # noqa: N803
    items = await cached(store, guard, "networks", provider=cloudProvider)
    return await _answer(store, items, _accounts(items))


@router.get("/subnets/{cloudProvider}", response_model=list[Network])
async def subnets(cloudProvider: str, store: StoreDep, guard: GuardDep) -> Response:  # noqa: N803
    items = await cached(store, guard, "subnets", provider=cloudProvider)
    return await _answer(store, items, _accounts(items))


@router.get("/instanceTypes", response_model=list[Network])
async def instance_types(store: StoreDep, guard: GuardDep) -> Response:
    items = await cached(store, guard, "instanceTypes")
    return await _answer(store, items, _accounts(items))


@router.get("/keyPairs", response_model=list[Network])
async def key_pairs(store: StoreDep, guard: GuardDep) -> Response:
    items = await cached(store, guard, "keyPairs")
    return await _answer(store, items, _accounts(items))

"""Application notifications (Front50's ``/notifications/application/{app}`` behind Gate): who hears about
every pipeline of an application, by type (``{"slack": [...], "email": [...]}``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body

from ..auth.enforce import READ, WRITE, GuardDep
from ..deps import StoreDep, UserDep
from ..errors import ApiError, bad_request

router = APIRouter(tags=["notifications"])
Json = dict[str, Any]


def _level(level: str) -> None:
    if level != "application":
        raise ApiError(404, f"No hierarchical level matches '{level}'")


@router.get("/notifications/{level}/{application}")
async def get_notifications(level: str, application: str, store: StoreDep, guard: GuardDep) -> Json:
    """The application's notifications (global ones appended), ``{application}`` alone when it has none."""
    _level(level)
    await guard.app(application, READ)
    return await asyncio.to_thread(store.get_notifications, application)  # type: ignore[no-any-return]


@router.post("/notifications/{level}/{application}")
async def save_notifications(
    level: str, application: str, store: StoreDep, user: UserDep, guard: GuardDep, body: Any = Body(...)
) -> None:
    _level(level)
    await guard.app(application, WRITE)
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object of notification lists by type")
    await asyncio.to_thread(store.save_notifications, application, body, user)


@router.delete("/notifications/{level}/{application}")
async def delete_notifications(level: str, application: str, store: StoreDep, guard: GuardDep) -> None:
    _level(level)
    await guard.app(application, WRITE)
    await asyncio.to_thread(store.delete_notifications, application)

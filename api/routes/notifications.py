"""Application notifications (Front50's ``/notifications/application/{app}`` behind Gate): who hears about
every pipeline of an application, by type (``{"slack": [...], "email": [...]}``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body

from core.errors import ApiError

from ..auth.enforce import READ, WRITE, GuardDep
from ..deps import StoreDep, UserDep
from ..models import ApplicationNotifications, document

router = APIRouter(tags=["notifications"])
Json = dict[str, Any]


def _level(level: str) -> None:
    if level != "application":
        raise ApiError(404, f"No hierarchical level matches '{level}'")


@router.get(
    "/notifications/{level}/{application}",
    response_model=ApplicationNotifications,
    response_model_exclude_unset=True,
)
async def get_notifications(level: str, application: str, store: StoreDep, guard: GuardDep) -> Json:
    """The application's notifications (global ones appended), ``{application}`` alone when it has none."""
    _level(level)
    await guard.app(application, READ)
    return await asyncio.to_thread(store.notifications.get, application)


@router.post("/notifications/{level}/{application}")
async def save_notifications(
    level: str,
    application: str,
    store: StoreDep,
    user: UserDep,
    guard: GuardDep,
    notifications: ApplicationNotifications = Body(...),
) -> None:
    _level(level)
    await guard.app(application, WRITE)
    body = document(notifications)
    await asyncio.to_thread(store.notifications.save, application, body, user)


@router.delete("/notifications/{level}/{application}")
async def delete_notifications(level: str, application: str, store: StoreDep, guard: GuardDep) -> None:
    _level(level)
    await guard.app(application, WRITE)
    await asyncio.to_thread(store.notifications.delete, application)

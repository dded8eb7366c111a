"""Gate's bakery endpoints (Rosco behind Gate): bake options from the image config, and bake logs."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response

from ..deps import SettingsDep, StoreDep
from ..errors import ApiError

router = APIRouter(tags=["bakery"])


def _not_found(err: Exception) -> ApiError:
    return ApiError(404, str(err))


@router.get("/bakery/options")
def bake_options(settings: SettingsDep) -> Any:
    from bakery import api as rosco

    return rosco.options(settings.bakery)


@router.get("/bakery/options/{cloud_provider}")
def bake_options_for(cloud_provider: str, settings: SettingsDep) -> Any:
    from bakery import api as rosco
    from bakery.errors import BakeOptionsNotFoundError

    try:
        return rosco.options(settings.bakery, cloud_provider)
    except BakeOptionsNotFoundError as err:
        raise _not_found(err) from None


@router.get("/bakery/logs/{region}/{status_id}")
async def bake_logs(region: str, status_id: str, settings: SettingsDep, store: StoreDep) -> Response:
    """The bake's packer output, as Gate wraps it (``<pre>...</pre>``)."""
    from bakery import api as rosco
    from bakery.errors import BakeNotFoundError

    try:
        text = await asyncio.to_thread(rosco.logs, settings.state_dir, status_id, store)
    except BakeNotFoundError as err:
        raise _not_found(err) from None
    return Response(text, media_type="text/plain")

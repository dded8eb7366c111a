"""The cache Schedules: one per cloud account in the settings, ``gennaker-cache:<provider>:<account>``,
every ``CACHE_INTERVAL``, starting ``RefreshCloudCache``. The API creates them when it starts and
deletes those of accounts no longer configured."""

from __future__ import annotations

import logging

from temporalio.client import Client, Schedule, ScheduleActionStartWorkflow

from core.messages.cloud_cache import CACHE_INTERVAL, RefreshCloudCacheInput
from core.settings import Settings
from integrations.schedules import every, sync_schedules
from providers.accounts import provider_of

log = logging.getLogger(__name__)
PREFIX = "gennaker-cache:"
CACHED = ("aws", "gce", "kubernetes")


def cached_accounts(settings: Settings) -> list[tuple[str, str]]:
    return [
        (provider_of(e), str(e.get("name")))
        for e in getattr(settings, "accounts", []) or []
        if isinstance(e, dict) and provider_of(e) in CACHED and e.get("name")
    ]


async def sync_cache_schedules(client: Client, settings: Settings) -> list[str]:
    """One Schedule per cached account; returns their ids."""
    wanted: dict[str, Schedule] = {}
    for provider, account in cached_accounts(settings):
        sid = f"{PREFIX}{provider}:{account}"
        wanted[sid] = every(
            ScheduleActionStartWorkflow(
                "RefreshCloudCache", RefreshCloudCacheInput(provider, account), id=sid, task_queue=settings.task_queue
            ),
            CACHE_INTERVAL,
            note=f"Clouddriver's caching agents for {provider} account {account}",
        )
    return await sync_schedules(client, PREFIX, wanted, trigger_immediately=True)

"""The build monitors' Temporal Schedules: one per configured build service, ``gennaker-ci:<name>``, every
``ci.polling.interval_s``, starting ``CiPoll``. The API keeps them in step with the settings when it starts
(services no longer configured lose theirs; polling off removes them all); overlap SKIP, as for Jenkins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import Client, Schedule

from core.messages.ci_poll import PollBuildServiceInput
from core.settings.ci import ci_settings
from integrations.schedules import build_poll_schedules, sync_schedules

PREFIX = "gennaker-ci:"


def schedule_id(service: str) -> str:
    return f"{PREFIX}{service}"


def wanted(settings: Any) -> dict[str, Schedule]:
    """The poll Schedule of every configured build service (none when ``ci.polling.enabled`` is false)."""
    ci = ci_settings(settings)
    if not ci.polling.enabled:
        return {}
    return build_poll_schedules(
        PREFIX,
        [service.name for service in ci.services()],
        workflow="CiPoll",
        make_input=PollBuildServiceInput,
        task_queue=settings.task_queue,
        interval=timedelta(seconds=ci.polling.interval_s),
        label="build service",
    )


async def sync_ci_schedules(client: Client, settings: Any) -> list[str]:
    """Make the poll Schedules exactly those the settings ask for; returns their ids."""
    return await sync_schedules(client, PREFIX, wanted(settings))

"""The build monitor's Temporal Schedules: one per configured Jenkins master, ``gennaker-jenkins:<master>``,
every ``jenkins.polling.interval_s``, starting ``JenkinsPoll``. The API creates or updates them when it
starts and deletes those of masters no longer configured (or all of them when polling is off).
A run still going when the next is due makes the Schedule skip that one (overlap SKIP)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import Client, Schedule, ScheduleActionStartWorkflow

from integrations.schedules import every, sync_schedules
from workflows.jenkins_poll import PollJenkinsMasterInput

from .settings import JenkinsSettings

PREFIX = "gennaker-jenkins:"
#: a poll that takes longer than this is stopped (the next run starts over from the saved cursors)
POLL_TIMEOUT = timedelta(minutes=10)


def schedule_id(master: str) -> str:
    return f"{PREFIX}{master}"


def wanted(settings: Any) -> dict[str, Schedule]:
    """The poll Schedule of every configured master (none when ``jenkins.polling.enabled`` is false)."""
    jenkins = getattr(settings, "jenkins", None)
    if not isinstance(jenkins, JenkinsSettings):
        jenkins = JenkinsSettings.model_validate(jenkins or {})
    if not jenkins.polling.enabled:
        return {}
    interval = timedelta(seconds=jenkins.polling.interval_s)
    out: dict[str, Schedule] = {}
    for master in jenkins.masters:
        sid = schedule_id(master.name)
        out[sid] = every(
            ScheduleActionStartWorkflow(
                "JenkinsPoll",
                PollJenkinsMasterInput(master.name),
                id=sid,
                task_queue=settings.task_queue,
                execution_timeout=POLL_TIMEOUT,
                static_summary=f"poll Jenkins master {master.name} for finished builds",
            ),
            interval,
            note=f"Igor's build monitor of {master.name}",
        )
    return out


async def sync_jenkins_schedules(client: Client, settings: Any) -> list[str]:
    """Make the poll Schedules exactly those the settings ask for; returns their ids."""
    return await sync_schedules(client, PREFIX, wanted(settings))

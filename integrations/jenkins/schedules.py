"""The build monitor's Temporal Schedules: one per configured Jenkins master, ``gennaker-jenkins:<master>``,
every ``jenkins.polling.interval_s``, starting ``JenkinsPoll``. The API creates or updates them when it
starts and deletes those of masters no longer configured (or all of them when polling is off).
A run still going when the next is due makes the Schedule skip that one (overlap SKIP)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import Client, Schedule

from core.messages.jenkins_poll import PollJenkinsMasterInput
from core.settings.jenkins import JenkinsSettings
from integrations.schedules import build_poll_schedules, sync_schedules

PREFIX = "gennaker-jenkins:"


def schedule_id(master: str) -> str:
    return f"{PREFIX}{master}"


def wanted(settings: Any) -> dict[str, Schedule]:
    """The poll Schedule of every configured master (none when ``jenkins.polling.enabled`` is false)."""
    jenkins = getattr(settings, "jenkins", None)
    if not isinstance(jenkins, JenkinsSettings):
        jenkins = JenkinsSettings.model_validate(jenkins or {})
    if not jenkins.polling.enabled:
        return {}
    return build_poll_schedules(
        PREFIX,
        [master.name for master in jenkins.masters],
        workflow="JenkinsPoll",
        make_input=PollJenkinsMasterInput,
        task_queue=settings.task_queue,
        interval=timedelta(seconds=jenkins.polling.interval_s),
        label="Jenkins master",
    )


async def sync_jenkins_schedules(client: Client, settings: Any) -> list[str]:
    """Make the poll Schedules exactly those the settings ask for; returns their ids."""
    return await sync_schedules(client, PREFIX, wanted(settings))

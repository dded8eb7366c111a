"""The build monitor's activities (Igor's ``JenkinsBuildMonitor`` and Echo's ``BuildEventHandler``): poll a
master for finished builds, start the pipelines a successful build triggers, save the master's cursors.

Errors: a master that cannot be reached (or answers 5xx) fails the poll with a retryable error, and the
next Schedule run tries again; a job that cannot be read is left out of this poll (its cursor does not
move) and named in the result, as Igor logs and goes on. A property file that cannot be read or parsed
starts the pipeline without properties, as Echo does, unless the trigger has ``payloadConstraints``
(then it does not fire: the constraints cannot be met). Credentials never appear in messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from core.messages.jenkins_poll import (
    POLL_JENKINS_MASTER,
    SAVE_JENKINS_CURSORS,
    TRIGGER_JENKINS_BUILD,
    JenkinsBuildEvent,
    PollJenkinsMasterInput,
    PollJenkinsMasterResult,
    SaveJenkinsCursorsInput,
    TriggerJenkinsBuildResult,
)
from core.settings.jenkins import JenkinsSettings
from integrations.jenkins import builds, polling, triggers
from integrations.jenkins.client import JenkinsMasters
from integrations.jenkins.errors import JenkinsError
from integrations.triggers.launcher import Launcher

from .build_monitor import BuildMonitor

JSON = dict[str, Any]
RETRYABLE_ERROR = "JenkinsRetryable"


class JenkinsTriggerActivities(BuildMonitor):
    retryable_error = RETRYABLE_ERROR
    error_class = JenkinsError

    def __init__(
        self, masters: JenkinsMasters, store: Any, launcher: Launcher, *, handle_first_builds: bool = False
    ) -> None:
        super().__init__(store, launcher, handle_first_builds=handle_first_builds)
        self.masters = masters

    # -- poll

    @activity.defn(name=POLL_JENKINS_MASTER)
    def poll_jenkins_master(self, inp: PollJenkinsMasterInput) -> PollJenkinsMasterResult:
        """Igor's ``generateDelta``: every job's finished builds since its cursor, and the cursors to save."""
        try:
            client = self.masters.client(inp.master)
            tree = client.job_tree()
        except JenkinsError as err:
            raise self.activity_error(err) from None
        cursors = self.store.jenkins_cursors.get(inp.master)
        result = PollJenkinsMasterResult()
        for job, last_build in polling.flatten_jobs(tree):
            activity.heartbeat(job)  # a master with many jobs reads many build lists
            cursor = polling.Cursor.from_json(cursors.get(job))
            delta = polling.delta_without_builds(job, last_build, cursor, handle_first_builds=self.handle_first_builds)
            if delta is None:
                try:
                    listed = client.builds(job)
                except JenkinsError as err:
                    activity.logger.warning("master %s: builds of %s not read: %s", inp.master, job, err.message)
                    result.errors.append(f"{job}: {err.message}")
                    continue
                newest = polling.build_number(last_build) or 0
                delta = polling.delta_with_builds(job, newest, cursor, listed)
            if cursor is None and delta.cursor is not None and not delta.finished:
                activity.logger.info(
                    "master %s: first sight of %s, cursor at #%s", inp.master, job, delta.cursor.last_build
                )
            for build in delta.finished:
                result.events.append(
                    JenkinsBuildEvent(
                        inp.master,
                        job,
                        int(build["number"]),
                        build.get("result") if isinstance(build.get("result"), str) else None,
                        building=False,
                        url=build.get("url") if isinstance(build.get("url"), str) else None,
                    )
                )
            if delta.cursor is not None:
                result.cursors[job] = delta.cursor.to_json()
        return result

    # -- fire

    @activity.defn(name=TRIGGER_JENKINS_BUILD)
    async def trigger_jenkins_build(self, event: JenkinsBuildEvent) -> TriggerJenkinsBuildResult:
        """Echo's ``BuildEventHandler``: start every pipeline this finished build triggers, once."""
        if not triggers.is_successful_build(event.result, event.building):
            return TriggerJenkinsBuildResult(skipped=f"{event.job} #{event.number} is {event.result}, not SUCCESS")
        matches = triggers.jenkins_trigger_matches(event.master, event.job, event.result, await self.pipelines())
        if not matches:
            return TriggerJenkinsBuildResult(skipped="no pipeline triggers on this job")
        masters = self.masters
        launched = await self.fire(
            event.key,
            matches,
            read_build=lambda: self.soft_read(
                lambda: builds.build_info(event.job, masters.client(event.master).build(event.job, event.number)),
                f"buildInfo of {event.key}",
            ),
            read_properties=lambda _build, name: self.soft_read(
                lambda: masters.client(event.master).property_file(event.job, event.number, name),
                f"property file {name} of {event.key}",
            ),
            make_trigger=lambda pipeline, config, build_info, properties: triggers.build_jenkins_trigger(
                pipeline,
                config,
                master=event.master,
                job=event.job,
                number=event.number,
                build_info=build_info,
                properties=properties,
                link=event.url,
                event_key=event.key,
            ),
        )
        return TriggerJenkinsBuildResult(launched=launched)

    # -- commit

    @activity.defn(name=SAVE_JENKINS_CURSORS)
    def save_jenkins_cursors(self, inp: SaveJenkinsCursorsInput) -> None:
        """Igor's ``commitDelta``: the cursors move once the poll's events were handled."""
        self.save_cursors(inp.master, inp.cursors)


def build(settings: Any, client: Any, store: Any) -> list[Callable[..., Any]]:
    """The build monitor's activities around the masters in ``settings.jenkins``."""
    jenkins = getattr(settings, "jenkins", None)
    if not isinstance(jenkins, JenkinsSettings):
        jenkins = JenkinsSettings.model_validate(jenkins or {})
    acts = JenkinsTriggerActivities(
        JenkinsMasters(jenkins.masters),
        store,
        Launcher(client, store, settings),
        handle_first_builds=jenkins.polling.handle_first_builds,
    )
    return activities_of(acts)


def activities_of(acts: JenkinsTriggerActivities) -> list[Callable[..., Any]]:
    return [acts.poll_jenkins_master, acts.trigger_jenkins_build, acts.save_jenkins_cursors]

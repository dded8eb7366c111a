"""The build monitor's activities (Igor's ``JenkinsBuildMonitor`` and Echo's ``BuildEventHandler``): poll a
master for finished builds, start the pipelines a successful build triggers, save the master's cursors.

Errors: a master that cannot be reached (or answers 5xx) fails the poll with a retryable error, and the
next Schedule run tries again; a job that cannot be read is left out of this poll (its cursor does not
move) and named in the result, as Igor logs and goes on. A property file that cannot be read or parsed
starts the pipeline without properties, as Echo does, unless the trigger has ``payloadConstraints``
(then it does not fire: the constraints cannot be met). Credentials never appear in messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from integrations.jenkins import builds, polling, triggers
from integrations.jenkins.client import JenkinsMasters
from integrations.jenkins.errors import JenkinsError
from integrations.jenkins.properties import PropertyFileError
from integrations.jenkins.settings import JenkinsSettings
from integrations.triggers.launcher import Launcher
from workflows.jenkins_poll import (
    POLL_JENKINS_MASTER,
    SAVE_JENKINS_CURSORS,
    TRIGGER_JENKINS_BUILD,
    JenkinsBuildEvent,
    PollJenkinsMasterInput,
    PollJenkinsMasterResult,
    SaveJenkinsCursorsInput,
    TriggerJenkinsBuildResult,
)

JSON = dict[str, Any]
RETRYABLE_ERROR = "JenkinsRetryable"
CONFIG_CACHE_S = 5.0  # how stale the pipeline configs may be (Echo's own cache refreshes every 30 s)


class JenkinsTriggerActivities:
    def __init__(
        self, masters: JenkinsMasters, store: Any, launcher: Launcher, *, handle_first_builds: bool = False
    ) -> None:
        self.masters = masters
        self.store = store
        self.launcher = launcher
        self.handle_first_builds = handle_first_builds
        self._configs: tuple[float, list[JSON]] | None = None

    # -- poll

    @activity.defn(name=POLL_JENKINS_MASTER)
    def poll_jenkins_master(self, inp: PollJenkinsMasterInput) -> PollJenkinsMasterResult:
        """Igor's ``generateDelta``: every job's finished builds since its cursor, and the cursors to save."""
        try:
            client = self.masters.client(inp.master)
            tree = client.job_tree()
        except JenkinsError as err:
            raise _activity_error(err) from None
        cursors = self.store.jenkins_cursors(inp.master)
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

    async def pipelines(self) -> list[JSON]:
        now = time.monotonic()
        if self._configs is None or now - self._configs[0] > CONFIG_CACHE_S:
            self._configs = (now, await asyncio.to_thread(_trigger_views, self.store))
        return self._configs[1]

    @activity.defn(name=TRIGGER_JENKINS_BUILD)
    async def trigger_jenkins_build(self, event: JenkinsBuildEvent) -> TriggerJenkinsBuildResult:
        """Echo's ``BuildEventHandler``: start every pipeline this finished build triggers, once."""
        if not triggers.is_successful_build(event.result, event.building):
            return TriggerJenkinsBuildResult(skipped=f"{event.job} #{event.number} is {event.result}, not SUCCESS")
        matches = triggers.jenkins_trigger_matches(event.master, event.job, event.result, await self.pipelines())
        if not matches:
            return TriggerJenkinsBuildResult(skipped="no pipeline triggers on this job")
        build_info = await asyncio.to_thread(self._build_info, event)
        files: dict[str, JSON | None] = {}
        launched: list[JSON] = []
        for pipeline, config in matches:
            name = triggers.property_file(config)
            if name is not None and name not in files:
                files[name] = await asyncio.to_thread(self._properties, event, name)
            properties = files.get(name) if name is not None else None
            if not triggers.constraints_met(config, properties):
                activity.logger.info("pipeline %s: payload constraints not met by %s", pipeline.get("id"), event.key)
                continue
            match = triggers.build_jenkins_trigger(
                pipeline,
                config,
                master=event.master,
                job=event.job,
                number=event.number,
                build_info=build_info,
                properties=properties,
                link=event.url,
                event_key=event.key,
            )
            outcome = await self.launcher.launch(pipeline, match.trigger, event.key, run_as=match.run_as_user)
            launched.append(outcome.to_json())
        return TriggerJenkinsBuildResult(launched=launched)

    def _build_info(self, event: JenkinsBuildEvent) -> JSON | None:
        try:
            return builds.build_info(event.job, self.masters.client(event.master).build(event.job, event.number))
        except JenkinsError as err:
            if err.retryable:
                raise _activity_error(err) from None
            activity.logger.warning("no buildInfo for %s: %s", event.key, err.message)
            return None

    def _properties(self, event: JenkinsBuildEvent, file_name: str) -> JSON | None:
        try:
            return self.masters.client(event.master).property_file(event.job, event.number, file_name)
        except PropertyFileError as err:
            activity.logger.warning("property file %s of %s is invalid: %s", file_name, event.key, err)
            return None
        except JenkinsError as err:
            if err.retryable:
                raise _activity_error(err) from None
            activity.logger.warning("property file %s of %s not read: %s", file_name, event.key, err.message)
            return None

    # -- commit

    @activity.defn(name=SAVE_JENKINS_CURSORS)
    def save_jenkins_cursors(self, inp: SaveJenkinsCursorsInput) -> None:
        """Igor's ``commitDelta``: the cursors move once the poll's events were handled."""
        self.store.save_jenkins_cursors(inp.master, inp.cursors)


def _activity_error(err: JenkinsError) -> ApplicationError:
    kind = RETRYABLE_ERROR if err.retryable else type(err).__name__
    return ApplicationError(err.message, type=kind, non_retryable=not err.retryable)


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


def _trigger_views(store: Any) -> list[JSON]:
    """Pipelines as triggers see them: templated ones with their rendered triggers (api/store/templates.py)."""
    from api.store.templates import trigger_views

    return trigger_views(store, store.list_pipelines())

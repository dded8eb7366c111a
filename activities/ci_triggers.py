"""The build monitor of every non-Jenkins build service (Igor's Travis/GitLab/GitHub build monitors, Echo's
``BuildEventHandler``): poll a service's jobs for finished builds, start the pipelines a successful build
triggers, save the service's cursors (the Jenkins cursors table: names are unique across build services).

Errors, as for Jenkins (``activities/jenkins_triggers.py``): a service that cannot be reached fails the poll
with a retryable error and the next Schedule run tries again; a job that cannot be read is left out (its
cursor does not move) and named in the result; properties that cannot be read start the pipeline without
them, unless its trigger has ``payloadConstraints``. Tokens never appear in messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from core.messages.ci_poll import (
    POLL_BUILD_SERVICE,
    SAVE_CI_CURSORS,
    TRIGGER_CI_BUILD,
    CiBuildEvent,
    PollBuildServiceInput,
    PollBuildServiceResult,
    SaveCiCursorsInput,
    TriggerCiBuildResult,
)
from core.settings.ci import ci_settings
from integrations.ci import triggers
from integrations.ci.base import BuildService, CiError
from integrations.ci.polling import job_delta
from integrations.ci.services import BuildServices
from integrations.jenkins.polling import Cursor
from integrations.triggers.launcher import Launcher

from .build_monitor import BuildMonitor

JSON = dict[str, Any]
RETRYABLE_ERROR = "CiRetryable"


class CiTriggerActivities(BuildMonitor):
    retryable_error = RETRYABLE_ERROR
    error_class = CiError

    def __init__(
        self,
        services: BuildServices,
        store: Any,
        launcher: Launcher,
        *,
        handle_first_builds: bool = False,
        build_limit: int = 10,
    ) -> None:
        super().__init__(store, launcher, handle_first_builds=handle_first_builds)
        self.services = services
        self.build_limit = build_limit

    # -- poll

    @activity.defn(name=POLL_BUILD_SERVICE)
    def poll_build_service(self, inp: PollBuildServiceInput) -> PollBuildServiceResult:
        """Igor's ``generateDelta``: every job's finished builds since its cursor, and the cursors to save."""
        try:
            service = self.services.service(inp.service)
            jobs = service.list_jobs()
        except CiError as err:
            raise self.activity_error(err) from None
        cursors = self.store.jenkins_cursors.get(inp.service)
        limit = int(getattr(getattr(service, "config", None), "build_result_limit", self.build_limit))
        result = PollBuildServiceResult()
        for job in jobs:
            activity.heartbeat(job)
            try:
                builds = service.builds(job, limit=limit)
            except CiError as err:
                activity.logger.warning("build service %s: builds of %s not read: %s", inp.service, job, err.message)
                result.errors.append(f"{job}: {err.message}")
                continue
            cursor = Cursor.from_json(cursors.get(job))
            delta = job_delta(job, builds, cursor, handle_first_builds=self.handle_first_builds)
            if cursor is None and delta.cursor is not None and not delta.finished:
                activity.logger.info("%s: first sight of %s, cursor at #%s", inp.service, job, delta.cursor.last_build)
            result.events.extend(_event(service, b) for b in delta.finished)
            if delta.cursor is not None:
                result.cursors[job] = delta.cursor.to_json()
        return result

    # -- fire

    @activity.defn(name=TRIGGER_CI_BUILD)
    async def trigger_ci_build(self, event: CiBuildEvent) -> TriggerCiBuildResult:
        """Echo's ``BuildEventHandler``: start every pipeline this finished build triggers, once."""
        if not triggers.is_successful_build(event.result, event.building):
            return TriggerCiBuildResult(skipped=f"{event.job} #{event.number} is {event.result}, not SUCCESS")
        names = event.names or [event.job]
        matches = triggers.ci_trigger_matches(event.type, event.service, names, event.result, await self.pipelines())
        if not matches:
            return TriggerCiBuildResult(skipped="no pipeline triggers on this job")
        services = self.services

        def read_properties(build: Any, name: str) -> JSON | None:
            if build is None:  # no build, no artifact to read the properties from
                return None
            return self.soft_read(
                lambda: services.service(event.service).properties(event.job, build, name),
                f"property file {name} of {event.key}",
            )

        launched = await self.fire(
            event.key,
            matches,
            read_build=lambda: self.soft_read(
                lambda: services.service(event.service).get_run(event.job, event.build_id), f"buildInfo of {event.key}"
            ),
            read_properties=read_properties,
            make_trigger=lambda pipeline, config, build, properties: triggers.build_ci_trigger(
                pipeline,
                config,
                trigger_type=event.type,
                master=event.service,
                job=str(config.get("job")),
                number=event.number,
                build_info=build.to_build_info() if build is not None else None,
                properties=properties,
                link=event.url,
                event_key=event.key,
            ),
        )
        return TriggerCiBuildResult(launched=launched)

    # -- commit

    @activity.defn(name=SAVE_CI_CURSORS)
    def save_ci_cursors(self, inp: SaveCiCursorsInput) -> None:
        """Igor's ``commitDelta``: the cursors move once the poll's events were handled."""
        self.save_cursors(inp.service, inp.cursors)


def _event(service: BuildService, build: Any) -> CiBuildEvent:
    return CiBuildEvent(
        service.name,
        service.type,
        build.job,
        build.number,
        build.id,
        build.result.value,
        names=build.names,
        building=build.building,
        url=build.url,
        branch=build.branch,
    )


def build(settings: Any, client: Any, store: Any, services: BuildServices | None = None) -> list[Callable[..., Any]]:
    """The build monitor's activities around the services in ``settings.ci``."""
    ci = ci_settings(settings)
    acts = CiTriggerActivities(
        services or BuildServices.from_settings(settings),
        store,
        Launcher(client, store, settings),
        handle_first_builds=ci.polling.handle_first_builds,
    )
    return activities_of(acts)


def activities_of(acts: CiTriggerActivities) -> list[Callable[..., Any]]:
    return [acts.poll_build_service, acts.trigger_ci_build, acts.save_ci_cursors]

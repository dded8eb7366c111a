"""The CI stages' activities (``travis``, ``github-actions``, ``gitlab-ci``): start a build, find the build a
start became, watch it, read its properties, cancel it when the stage is canceled. Orca's ``orca-igor`` tasks
(``StartJenkinsJobTask``, ``MonitorQueuedJenkinsJobTask``, ``MonitorJenkinsJobTask``,
``GetBuildPropertiesTask``, ``StopJenkinsJobTask``), which Orca runs for every CI stage through Igor, here on
the :class:`~integrations.ci.base.BuildService` interface.

Starting once. A build request has no idempotency key, and Temporal runs an activity again when its answer
is lost. So the start is two calls of one polling task, as the Jenkins stage's: the first records where the
job's builds stand (``ciStart``: the newest build number and the time), the second sends the start and
records what came back as ``queuedBuild``. When the second runs again (attempt > 1) it first looks for a
build the lost attempt started (``find_started`` from the record) and adopts it. Left: a start of the same
job on the same ref by someone else in that window is taken for ours.

Errors: an unreachable service or a 5xx retries the start (30 s apart, as Orca, for 15 min) and keeps the
waits polling; refused tokens, unknown jobs and refused requests are TERMINAL with a message naming the
service and the job. Tokens never appear in messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.fields import nonblank, truthy
from core.messages.ci import (
    BUILD_SERVICE_TYPE,
    GET_CI_BUILD_PROPERTIES,
    GET_CI_PROPERTIES_STAGE,
    MONITOR_CI_JOB,
    START_CI_JOB,
    STOP_CI_JOB,
    TRAVIS,
    WAIT_FOR_CI_JOB_START,
)
from core.settings.ci import ci_settings
from core.status import ExecutionStatus
from core.tasks import JSON, TaskInput, TaskResult, has_property_file
from integrations.ci.base import (
    BuildResult,
    BuildService,
    CiBuild,
    CiError,
    CiNotFoundError,
    CiRequestError,
    StartedRun,
    UnknownBuildServiceError,
)
from integrations.ci.services import BuildServices
from integrations.jenkins.builds import parameter_text
from integrations.jenkins.properties import PropertyFileError

from .jenkins import property_file_error

RETRYABLE_ERROR = "CiRetryable"
START_RETRY_DELAY = timedelta(seconds=30)
START_MAX_ATTEMPTS = 30
PROPERTIES_RETRY_DELAY = timedelta(seconds=2)
PROPERTIES_MAX_ATTEMPTS = 5
START_STEP_BACKOFF_MS = 1


def stage_parameters(parameters: Any) -> dict[str, str]:
    """The stage's ``parameters`` map as text values (null values left out, as Orca's request leaves them)."""
    if parameters is None or parameters == "":
        return {}
    if not isinstance(parameters, Mapping):
        raise CiRequestError("parameters must be a map of parameter names to values")
    return {str(k): parameter_text(v) for k, v in parameters.items() if v is not None}


def stage_ref(context: Mapping[str, Any]) -> str | None:
    """The branch or tag the stage builds: ``ref`` (``branch`` is read too); None: the job's own or the default."""
    return nonblank(context.get("ref")) or nonblank(context.get("branch"))


def started_from(job: str, context: Mapping[str, Any]) -> StartedRun | None:
    """The ``queuedBuild`` record (or only the ``ciStart`` marker) as a :class:`StartedRun`, to find the build."""
    queued = context.get("queuedBuild")
    record = queued if isinstance(queued, Mapping) else context.get("ciStart")
    if not isinstance(record, Mapping):
        return None
    parameters = record.get("parameters")
    return StartedRun(
        job,
        nonblank(record.get("ref")),
        request_id=nonblank(record.get("requestId")),
        since=_int(record.get("since")) or 0,
        since_number=_int(record.get("sinceNumber")) or 0,
        parameters=dict(parameters) if isinstance(parameters, Mapping) else {},
    )


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _breadcrumb(error: str) -> JSON:
    return {"exception": {"details": {"errors": [error]}}}


class CiActivities:
    """The activities of every CI stage, around the configured build services."""

    def __init__(
        self,
        services: BuildServices,
        *,
        poll_interval: timedelta = timedelta(seconds=10),
        retry_delay: timedelta = START_RETRY_DELAY,
        properties_retry_delay: timedelta = PROPERTIES_RETRY_DELAY,
    ) -> None:
        self.services = services
        self.poll_ms = max(1, int(poll_interval.total_seconds() * 1000))
        self.retry_delay = retry_delay
        self.properties_retry_delay = properties_retry_delay

    def _service(self, inp: TaskInput) -> tuple[BuildService, str]:
        master, job = nonblank(inp.context.get("master")), nonblank(inp.context.get("job"))
        if not master or not job:
            raise CiRequestError(f"The {inp.stage_type} stage needs a master and a job (got {master!r}, {job!r})")
        kind = inp.stage_type
        if kind == GET_CI_PROPERTIES_STAGE:  # the on-failure stage: the type of the stage it follows
            kind = nonblank(inp.context.get(BUILD_SERVICE_TYPE)) or kind
        return self.services.service(master, kind), job

    # -- start

    @activity.defn(name=START_CI_JOB)
    def start_ci_job(self, inp: TaskInput) -> TaskResult:
        """``StartJenkinsJobTask`` for a CI stage: first record where the job stands, then start it."""
        ctx = inp.context
        if isinstance(ctx.get("queuedBuild"), Mapping) or nonblank(ctx.get("buildId")):
            return TaskResult.succeeded()
        try:
            service, job = self._service(inp)
            parameters = stage_parameters(ctx.get("parameters"))
            ref = stage_ref(ctx)
            if not isinstance(ctx.get("ciStart"), Mapping):
                newest = service.builds(job, branch=ref, limit=1)
                marker = {
                    "since": int(time.time() * 1000),
                    "sinceNumber": newest[0].number if newest else 0,
                    "ref": ref,
                    "parameters": parameters,
                }
                return TaskResult.running(START_STEP_BACKOFF_MS, ciStart=marker)
            if activity.info().attempt > 1:
                record = started_from(job, ctx)
                found = service.find_started(record) if record is not None else None
                if found is not None:
                    activity.logger.info(
                        "%s on %s: adopting build #%s of an earlier attempt", job, service.name, found.number
                    )
                    return TaskResult.succeeded(self._queued(StartedRun(job, ref, build=found)))
            started = service.start(job, ref=ref, parameters=parameters)
        except CiError as err:
            return self._start_failed(inp, err)
        activity.logger.info(
            "%s on %s started (request %s, build %s)",
            job,
            service.name,
            started.request_id,
            started.build.number if started.build else None,
        )
        return TaskResult.succeeded(self._queued(started))

    @staticmethod
    def _queued(started: StartedRun) -> JSON:
        context: JSON = {"queuedBuild": started.to_json()}
        if started.build is not None:
            context.update(buildNumber=started.build.number, buildId=started.build.id)
        return context

    def _start_failed(self, inp: TaskInput, err: CiError) -> TaskResult:
        if err.retryable and activity.info().attempt < START_MAX_ATTEMPTS:
            activity.logger.warning("%s (retryable)", err.message)
            raise ApplicationError(err.message, type=RETRYABLE_ERROR, next_retry_delay=self.retry_delay)
        activity.logger.warning("%s stage %s failed: %s", inp.stage_type, inp.stage_id, err.message)
        return TaskResult.terminal(err.message)

    # -- start → build

    @activity.defn(name=WAIT_FOR_CI_JOB_START)
    def wait_for_ci_job_start(self, inp: TaskInput) -> TaskResult:
        """``MonitorQueuedJenkinsJobTask``: poll until the start became a build (``buildNumber``, ``buildId``)."""
        ctx = inp.context
        if nonblank(ctx.get("buildId")):
            return TaskResult.succeeded({"buildNumber": _int(ctx.get("buildNumber")), "buildId": ctx["buildId"]})
        try:
            service, job = self._service(inp)
            record = started_from(job, ctx)
            if record is None:
                return TaskResult.terminal(f"No started build of job {job} on {service.name} to wait for")
            build = service.find_started(record)
        except CiError as err:
            return self._poll_failed(inp, err)
        if build is None:
            return TaskResult.running(self.poll_ms)
        return TaskResult.succeeded({"buildNumber": build.number, "buildId": build.id})

    def _poll_failed(self, inp: TaskInput, err: CiError) -> TaskResult:
        """Orca keeps polling through Igor's 404/5xx; refused tokens, unknown services and refusals end it."""
        gone = isinstance(err, CiNotFoundError) and not isinstance(err, UnknownBuildServiceError)
        if err.retryable or gone:
            activity.logger.warning("%s, will poll again", err.message)
            return TaskResult(ExecutionStatus.RUNNING, backoff_ms=self.poll_ms)
        activity.logger.warning("%s stage %s failed: %s", inp.stage_type, inp.stage_id, err.message)
        return TaskResult.terminal(err.message)

    # -- build → result

    @activity.defn(name=MONITOR_CI_JOB)
    def monitor_ci_job(self, inp: TaskInput) -> TaskResult:
        """``MonitorJenkinsJobTask``: read the build once; ``buildInfo`` while it runs, its result as our status."""
        ctx = inp.context
        build_id = nonblank(ctx.get("buildId"))
        try:
            service, job = self._service(inp)
            if build_id is None:
                return TaskResult.terminal(f"failed to get build number for job {job} from {service.name}")
            build = service.get_run(job, build_id)
        except CiError as err:
            return self._poll_failed(inp, err)
        info = build.to_build_info()
        status, error = build.outcome(truthy(ctx.get("markUnstableAsSuccessful")))
        if status == ExecutionStatus.RUNNING:
            return TaskResult(ExecutionStatus.RUNNING, context={"buildInfo": info}, backoff_ms=self.poll_ms)
        context: JSON = {"buildInfo": info, "buildNumber": build.number}
        if error:
            error = f"{error} (see {build.url or service.name})"
            if status == ExecutionStatus.CANCELED:
                context.update(_breadcrumb(error))
        activity.logger.info("%s #%s on %s finished: %s", job, build.number, service.name, build.result.value)
        return TaskResult(status, context=context, outputs={"buildInfo": info}, error=error)

    # -- properties

    @activity.defn(name=GET_CI_BUILD_PROPERTIES)
    def get_ci_build_properties(self, inp: TaskInput) -> TaskResult:
        """``GetBuildPropertiesTask``: the build's properties as outputs (and ``propertyFileContents``)."""
        ctx = inp.context
        if not has_property_file(ctx):
            return TaskResult.succeeded()
        file_name = str(ctx["propertyFile"]).strip()
        try:
            service, job = self._service(inp)
            build_id = nonblank(ctx.get("buildId"))
            if build_id is None:
                return TaskResult.terminal(
                    "Can't retrieve property file because the build number is not available, "
                    "check for build start failures"
                )
            properties = service.properties(job, self._build(service, job, ctx, build_id), file_name)
        except PropertyFileError as err:
            return TaskResult.terminal(property_file_error(file_name, str(err)))
        except CiError as err:
            retry = err.retryable or (
                isinstance(err, CiNotFoundError) and not isinstance(err, UnknownBuildServiceError)
            )
            if retry and activity.info().attempt < PROPERTIES_MAX_ATTEMPTS:
                activity.logger.warning("%s (will retry)", err.message)
                raise ApplicationError(
                    err.message, type=RETRYABLE_ERROR, next_retry_delay=self.properties_retry_delay
                ) from None
            return TaskResult.terminal(property_file_error(file_name, err.message))
        if not properties:
            if TRAVIS in (
                inp.stage_type,
                ctx.get(BUILD_SERVICE_TYPE),
            ):  # Orca: a Travis build without SPINNAKER_ lines is no error
                return TaskResult.succeeded()
            return TaskResult.terminal(property_file_error(file_name))
        outputs = {**properties, "propertyFileContents": properties}
        return TaskResult.succeeded(outputs, outputs)

    @staticmethod
    def _build(service: BuildService, job: str, ctx: Mapping[str, Any], build_id: str) -> CiBuild:
        info = ctx.get("buildInfo")
        if isinstance(info, Mapping) and str(info.get("id")) == build_id and isinstance(info.get("number"), int):
            return CiBuild(job, int(info["number"]), build_id, BuildResult(str(info.get("result") or "SUCCESS")))
        return service.get_run(job, build_id)

    # -- cancel

    @activity.defn(name=STOP_CI_JOB)
    def stop_ci_job(self, inp: TaskInput) -> TaskResult:
        """``StopJenkinsJobTask`` (the stage's cancel): cancel the build, or the build a start became.
        Best effort: only an unreachable service makes it retry."""
        ctx = inp.context
        try:
            service, job = self._service(inp)
            stopped = self._stop(service, job, ctx)
        except CiError as err:
            if err.retryable:
                raise ApplicationError(err.message, type=RETRYABLE_ERROR) from None
            activity.logger.warning("could not cancel %s stage %s: %s", inp.stage_type, inp.stage_id, err.message)
            return TaskResult.succeeded()
        activity.logger.info("canceled stage %s: %s", inp.stage_id, stopped)
        return TaskResult.succeeded()

    @staticmethod
    def _stop(service: BuildService, job: str, ctx: Mapping[str, Any]) -> str:
        build_id = nonblank(ctx.get("buildId"))
        if build_id is None:
            record = started_from(job, ctx)
            if record is None:
                return "nothing was started"
            found = service.find_started(record)
            if found is None:
                return "no build of this stage found"
            build_id = found.id
        service.cancel(job, build_id)
        return f"build {build_id} of {job} canceled"


def build(settings: Any, client: Any = None, services: BuildServices | None = None) -> list[Callable[..., Any]]:
    """The CI stages' activities around the services in ``settings.ci``."""
    ci = ci_settings(settings)
    acts = CiActivities(
        services or BuildServices.from_settings(settings), poll_interval=timedelta(seconds=ci.poll_interval_s)
    )
    return activities_of(acts)


def activities_of(acts: CiActivities) -> list[Callable[..., Any]]:
    return [
        acts.start_ci_job,
        acts.wait_for_ci_job_start,
        acts.monitor_ci_job,
        acts.get_ci_build_properties,
        acts.stop_ci_job,
    ]

"""The Jenkins stages' activities: start a job, follow its queue item to a build, watch the build, read
its property file, stop it on cancel.

Behaviour follows Orca's ``orca-igor`` tasks (``StartJenkinsJobTask``, ``StartScriptTask``,
``MonitorQueuedJenkinsJobTask``, ``MonitorJenkinsJobTask``, ``GetBuildPropertiesTask``,
``StopJenkinsJobTask``) over Igor's ``BuildController``/``JenkinsService``, which here is
:class:`~integrations.jenkins.client.JenkinsClient`.

Starting exactly once. Jenkins has no idempotency key, and Temporal runs an activity again when its
result is lost (the worker died, the answer timed out). So the start is two calls of one polling
task: the first reads the job, checks the parameters and records the job's ``nextBuildNumber`` in the
stage context (the workflow keeps it durably); the second starts the build and records the queue
item as ``queuedBuild``, as Orca does. When that second call runs again (attempt > 1), it first looks
in Jenkins for a queue item of the job, or a build numbered ``nextBuildNumber`` or later, with the
same parameters and started by our user, and adopts it instead of starting another. What is left: a
different start of the same job with the same parameters, by the same user, in that same window is
taken for ours (both stages then follow one build); and a build Jenkins forgot or filtered out of its
newest 100 is started again.

Errors: Jenkins unreachable, timing out or answering 5xx makes a retryable ``ApplicationError``
(type ``JenkinsRetryable``) or, in the polling tasks, another poll (as Orca keeps polling through
igor's 404/500/503); refused credentials, a missing job and refused requests are TERMINAL results
with a message naming master, job and the HTTP status. No credentials appear in messages or logs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.fields import nonblank, truthy
from core.settings.jenkins import JenkinsSettings, ScriptJobSettings
from core.status import ExecutionStatus
from core.tasks import (
    GET_BUILD_PROPERTIES,
    JSON,
    MONITOR_JENKINS_JOB,
    START_JENKINS_JOB,
    START_SCRIPT,
    STOP_JENKINS_JOB,
    WAIT_FOR_JENKINS_JOB_START,
    TaskInput,
    TaskResult,
    has_property_file,
)
from integrations.jenkins import builds
from integrations.jenkins.client import JenkinsClient, JenkinsMasters, UnknownMasterError
from integrations.jenkins.errors import JenkinsError, JenkinsNotFoundError
from integrations.jenkins.properties import PropertyFileError

#: Temporal error type of a Jenkins call that should be made again
RETRYABLE_ERROR = "JenkinsRetryable"
#: StartJenkinsJobTask's 30 s backoff; 30 attempts is its 15 minute timeout
START_RETRY_DELAY = timedelta(seconds=30)
START_MAX_ATTEMPTS = 30
#: RetryableIgorTask: 5 consecutive errors (igor retries a missing property file 5 times, 2 s apart)
PROPERTIES_RETRY_DELAY = timedelta(seconds=2)
PROPERTIES_MAX_ATTEMPTS = 5
#: the first start call only reads the job; the second follows at once
START_STEP_BACKOFF_MS = 1

NO_BUILD_NUMBER = (
    "Can't retrieve property file because the build number is not available, check for build start failures"
)
NO_MASTER_OR_JOB = (
    "Can't retrieve property file: propertyFile, master, and job can't be null, check for build start failures"
)


def property_file_error(file_name: str, reason: str | None = None) -> str:
    """Orca's message for a property file it could not use, with our reason when there is one."""
    text = f"Expected properties file {file_name} but it was either missing, empty or contained invalid syntax"
    return f"{text} ({reason})" if reason else text


def script_request(context: Mapping[str, Any], trigger: Mapping[str, Any], script: ScriptJobSettings) -> JSON:
    """``StartScriptTask``: the script job, and its parameters from the stage (strategy pipelines fall
    back to their trigger's parameters for image, cluster, account and region)."""
    image, region = context.get("image"), context.get("region")
    account, cluster = context.get("account"), context.get("cluster")
    if trigger.get("strategy"):
        given: Mapping[str, Any] = trigger["parameters"] if isinstance(trigger.get("parameters"), Mapping) else {}
        image = image or given.get("amiName") or given.get("imageId") or ""
        cluster = cluster or given.get("cluster") or ""
        account = account or given.get("credentials") or ""
        region = region or given.get("region") or given.get("zone") or ""
    parameters = {
        "SCRIPT_PATH": context.get("scriptPath"),
        "COMMAND": context.get("command"),
        "IMAGE_ID": image,
        "REGION_PARAM": region,
        "ENV_PARAM": account,
        "CLUSTER_PARAM": cluster,
        "CMC": context.get("cmc"),
    }
    if context.get("repoUrl"):
        parameters["REPO_URL"] = context["repoUrl"]
    if context.get("repoBranch"):
        parameters["REPO_BRANCH"] = context["repoBranch"]
    return {
        "master": script.master,
        "job": context.get("job") or script.job,
        "parameters": parameters,
        "REPO_URL": context.get("repoUrl") or "default",
    }


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip()) if value is not None and str(value).strip() else None
    except ValueError:
        return None


class JenkinsActivities:
    """The activities of the ``jenkins``, ``script`` and ``getProperties`` stages, around the masters."""

    def __init__(
        self,
        masters: JenkinsMasters,
        *,
        script: ScriptJobSettings | None = None,
        poll_interval: timedelta = timedelta(seconds=10),
        retry_delay: timedelta = START_RETRY_DELAY,
    ) -> None:
        self.masters = masters
        self.script = script or ScriptJobSettings()
        self.poll_ms = max(1, int(poll_interval.total_seconds() * 1000))
        self.retry_delay = retry_delay

    # -- start

    @activity.defn(name=START_JENKINS_JOB)
    def start_jenkins_job(self, inp: TaskInput) -> TaskResult:
        """``StartJenkinsJobTask``: start ``job`` on ``master`` with ``parameters`` (queue item: ``queuedBuild``)."""
        ctx = inp.context
        return self._start(inp, nonblank(ctx.get("master")), nonblank(ctx.get("job")), ctx.get("parameters"), {})

    @activity.defn(name=START_SCRIPT)
    def start_script(self, inp: TaskInput) -> TaskResult:
        """``StartScriptTask``: start the script job with the stage's script fields as parameters."""
        request = script_request(inp.context, inp.trigger, self.script)
        extra = {"master": request["master"], "job": request["job"], "REPO_URL": request["REPO_URL"]}
        return self._start(inp, nonblank(request["master"]), nonblank(request["job"]), request["parameters"], extra)

    def _start(self, inp: TaskInput, master: str | None, job: str | None, parameters: Any, extra: JSON) -> TaskResult:
        ctx = inp.context
        if nonblank(ctx.get("queuedBuild")) or _int(ctx.get("queuedBuild")) is not None:
            return TaskResult.succeeded({"queuedBuild": str(ctx["queuedBuild"]), **extra})
        if not master or not job:
            return TaskResult.terminal(f"The {inp.stage_type} stage needs a master and a job (got {master!r}, {job!r})")
        try:
            params = builds.build_parameters(parameters)
            client = self.masters.client(master)
            marker = _int(ctx.get("nextBuildNumber"))
            if marker is None:
                # step 1: check the job and remember where its builds stood
                config = client.job(job)
                builds.start_parameters(config, job, params)
                next_number = _int(config.get("nextBuildNumber")) or 1
                return TaskResult.running(START_STEP_BACKOFF_MS, nextBuildNumber=next_number, **extra)
            if activity.info().attempt > 1:
                found = client.find_started(job, params, marker)
                if found is not None:
                    activity.logger.info(
                        "job %s on %s: adopting queue item %s from an earlier attempt", job, master, found.queue_id
                    )
                    adopted: JSON = {"queuedBuild": str(found.queue_id), **extra}
                    if found.build_number is not None:
                        adopted["buildNumber"] = found.build_number
                    return TaskResult.succeeded(adopted)
            queue_id = client.start_job(job, params)
        except JenkinsError as err:
            return self._start_failed(inp, err)
        activity.logger.info("job %s on %s queued as item %s", job, master, queue_id)
        return TaskResult.succeeded({"queuedBuild": str(queue_id), **extra})

    def _start_failed(self, inp: TaskInput, err: JenkinsError) -> TaskResult:
        if err.retryable and activity.info().attempt < START_MAX_ATTEMPTS:
            activity.logger.warning("%s (retryable)", err.message)
            raise ApplicationError(err.message, type=RETRYABLE_ERROR, next_retry_delay=self.retry_delay)
        activity.logger.warning("%s stage %s failed: %s", inp.stage_type, inp.stage_id, err.message)
        return TaskResult.terminal(err.message)

    # -- queue item → build

    @activity.defn(name=WAIT_FOR_JENKINS_JOB_START)
    def wait_for_jenkins_job_start(self, inp: TaskInput) -> TaskResult:
        """``MonitorQueuedJenkinsJobTask``: poll the queue item until it became a build (``buildNumber``)."""
        ctx = inp.context
        master, job = nonblank(ctx.get("master")), nonblank(ctx.get("job"))
        queued = _int(ctx.get("queuedBuild"))
        if _int(ctx.get("buildNumber")) is not None:
            return TaskResult.succeeded({"buildNumber": _int(ctx["buildNumber"])})
        if not master or not job or queued is None:
            return TaskResult.terminal(f"No queued build of job {job} on master {master} to wait for")
        try:
            client = self.masters.client(master)
            try:
                item = client.queue_item(queued)
            except JenkinsNotFoundError:
                # Jenkins forgets a queue item minutes after it left the queue: find its build instead
                number = client.build_number_of_queue_item(job, queued)
                return self._started(number)
        except JenkinsError as err:
            return self._poll_failed(inp, err)
        if builds.queue_item_cancelled(item):
            error = f"The queued build of job {job} was cancelled in Jenkins"
            return TaskResult(ExecutionStatus.CANCELED, context=_breadcrumb(error), error=error)
        return self._started(builds.queued_build_number(item))

    def _started(self, number: int | None) -> TaskResult:
        if number is None:
            return TaskResult.running(self.poll_ms)
        return TaskResult.succeeded({"buildNumber": number})

    def _poll_failed(self, inp: TaskInput, err: JenkinsError, context: JSON | None = None) -> TaskResult:
        """Orca keeps polling through igor's 404, 500 and 503 (and lost connections); the rest is TERMINAL."""
        if err.retryable or (isinstance(err, JenkinsNotFoundError) and not _unknown_master(err)):
            activity.logger.warning("%s, will poll again", err.message)
            return TaskResult(ExecutionStatus.RUNNING, context=context or {}, backoff_ms=self.poll_ms)
        activity.logger.warning("%s stage %s failed: %s", inp.stage_type, inp.stage_id, err.message)
        return TaskResult.terminal(err.message, context)

    # -- build → result

    @activity.defn(name=MONITOR_JENKINS_JOB)
    def monitor_jenkins_job(self, inp: TaskInput) -> TaskResult:
        """``MonitorJenkinsJobTask``: read the build once; ``buildInfo`` while it runs, its result as our status."""
        ctx = inp.context
        master, job, number = nonblank(ctx.get("master")), nonblank(ctx.get("job")), _int(ctx.get("buildNumber"))
        if not master or not job or number is None:
            return TaskResult.terminal(f"failed to get build number for job {job} from master {master}")
        try:
            build = self.masters.client(master).build(job, number)
        except JenkinsError as err:
            return self._poll_failed(inp, err)
        info = builds.build_info(job, build)
        outcome = builds.build_outcome(build, truthy(ctx.get("markUnstableAsSuccessful")))
        if outcome.status == ExecutionStatus.RUNNING:
            return TaskResult(ExecutionStatus.RUNNING, context={"buildInfo": info}, backoff_ms=self.poll_ms)
        context: JSON = {"buildInfo": info}
        if outcome.status == ExecutionStatus.CANCELED and outcome.error:
            context.update(_breadcrumb(outcome.error))
        activity.logger.info("%s #%s on %s finished: %s", job, number, master, build.get("result"))
        return TaskResult(outcome.status, context=context, outputs={"buildInfo": info}, error=outcome.error)

    # -- property file

    @activity.defn(name=GET_BUILD_PROPERTIES)
    def get_build_properties(self, inp: TaskInput) -> TaskResult:
        """``GetBuildPropertiesTask``: the build's ``propertyFile`` as outputs (and ``propertyFileContents``)."""
        ctx = inp.context
        if not has_property_file(ctx):
            return TaskResult.succeeded()
        file_name = str(ctx["propertyFile"]).strip()
        number = _int(ctx.get("buildNumber"))
        master, job = nonblank(ctx.get("master")), nonblank(ctx.get("job"))
        if number is None:
            return TaskResult.terminal(NO_BUILD_NUMBER)
        if not master or not job:
            return TaskResult.terminal(NO_MASTER_OR_JOB)
        try:
            properties = self.masters.client(master).property_file(job, number, file_name)
        except PropertyFileError as err:
            return TaskResult.terminal(property_file_error(file_name, str(err)))
        except JenkinsError as err:
            missing_artifact = isinstance(err, JenkinsNotFoundError) and not _unknown_master(err)
            if (err.retryable or missing_artifact) and activity.info().attempt < PROPERTIES_MAX_ATTEMPTS:
                # igor looks for a freshly archived file 5 times, 2 s apart
                activity.logger.warning("%s (will retry)", err.message)
                raise ApplicationError(
                    err.message, type=RETRYABLE_ERROR, next_retry_delay=PROPERTIES_RETRY_DELAY
                ) from None
            return TaskResult.terminal(err.message)
        if not properties:
            if master.startswith("travis-"):
                return TaskResult.succeeded()
            return TaskResult.terminal(property_file_error(file_name))
        outputs = {**properties, "propertyFileContents": properties}
        return TaskResult.succeeded(outputs, outputs)

    # -- cancel

    @activity.defn(name=STOP_JENKINS_JOB)
    def stop_jenkins_job(self, inp: TaskInput) -> TaskResult:
        """``StopJenkinsJobTask`` (the stage's cancel): stop the build, or take its item out of the queue.
        Best effort: only an unreachable Jenkins makes it retry (a few times, as cancel hooks do)."""
        ctx = inp.context
        request = (
            script_request(ctx, inp.trigger, self.script)
            if inp.stage_type == "script"
            else {"master": ctx.get("master"), "job": ctx.get("job"), "parameters": ctx.get("parameters")}
        )
        master, job = (
            nonblank(ctx.get("master")) or nonblank(request["master"]),
            nonblank(ctx.get("job")) or nonblank(request["job"]),
        )
        if not master or not job:
            return TaskResult.succeeded()
        try:
            client = self.masters.client(master)
            stopped = self._stop(client, job, ctx, request.get("parameters"))
        except JenkinsError as err:
            if err.retryable:
                raise ApplicationError(err.message, type=RETRYABLE_ERROR) from None
            activity.logger.warning("could not stop job %s on %s: %s", job, master, err.message)
            return TaskResult.succeeded()
        activity.logger.info("canceled stage %s: %s", inp.stage_id, stopped)
        return TaskResult.succeeded()

    def _stop(self, client: JenkinsClient, job: str, ctx: Mapping[str, Any], parameters: Any) -> str:
        number, queued = _int(ctx.get("buildNumber")), _int(ctx.get("queuedBuild"))
        if number is None and queued is None:
            marker = _int(ctx.get("nextBuildNumber"))
            if marker is None:
                return "nothing was started"
            found = client.find_started(job, builds.build_parameters(parameters), marker)
            if found is None:
                return "no build of this stage found"
            number, queued = found.build_number, found.queue_id
        if number is None and queued is not None:
            try:
                number = builds.queued_build_number(client.queue_item(queued))
            except JenkinsNotFoundError:
                number = client.build_number_of_queue_item(job, queued)
            if number is None:
                client.cancel_queue_item(queued)
                return f"queue item {queued} canceled"
        assert number is not None
        client.stop_build(job, number)
        return f"build {job} #{number} stopped"


def _breadcrumb(error: str) -> JSON:
    """Orca's ``appendErrorMessage``: the error under ``exception.details.errors``."""
    return {"exception": {"details": {"errors": [error]}}}


def _unknown_master(err: JenkinsError) -> bool:
    return isinstance(err, UnknownMasterError)


def build(settings: Any, client: Any = None) -> list[Callable[..., Any]]:
    """The Jenkins activities around the masters in ``settings.jenkins`` (none configured: every
    Jenkins stage fails with "Master 'x' not found"). ``client`` (the Temporal client) is unused."""
    jenkins = getattr(settings, "jenkins", None)
    if not isinstance(jenkins, JenkinsSettings):
        jenkins = JenkinsSettings.model_validate(jenkins or {})
    acts = JenkinsActivities(
        JenkinsMasters(jenkins.masters),
        script=jenkins.script,
        poll_interval=timedelta(seconds=jenkins.poll_interval_s),
    )
    return activities_of(acts)


def activities_of(acts: JenkinsActivities) -> list[Callable[..., Any]]:
    """Every activity of ``acts``, for a worker."""
    return [
        acts.start_jenkins_job,
        acts.start_script,
        acts.wait_for_jenkins_job_start,
        acts.monitor_jenkins_job,
        acts.get_build_properties,
        acts.stop_jenkins_job,
    ]

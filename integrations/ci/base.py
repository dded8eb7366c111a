"""One interface for a build service (Igor's ``BuildOperations`` / ``BuildProperties``), so the build monitor,
the trigger firing, Gate's builds reads and the CI stages are one piece of code for Travis, GitHub Actions,
GitLab CI (and Jenkins where it fits).

Vocabulary, as Igor's:

- a *build service* (Igor's ``BuildService``, Gate's ``/buildServices``) has a ``name`` unique across every
  type, a ``type`` (our trigger/stage type: ``travis``, ``github-actions``, ``gitlab-ci``, ``jenkins``) and
  Igor's ``buildServiceProvider`` (``TRAVIS``, ``GITHUB_ACTIONS``, ``GITLAB_CI``, ``JENKINS``);
- a *job* is what a pipeline names as ``job``: Travis' repository slug ``owner/repo``, GitHub's
  ``owner/repo/<workflow file>``, GitLab's project path ``group/project``;
- a *build* is one run of a job, numbered in order per job (Travis' build number, GitHub's ``run_number``,
  GitLab's pipeline id), with the service's own ``id`` for reading and cancelling it.

Every method is blocking (activities run them in threads, as the Jenkins client's). Errors are the
:class:`CiError` tree; messages name the service and the job, never credentials.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from core.errors import ConfigError, IntegrationError
from core.status import ExecutionStatus

JSON = dict[str, Any]


# ---- errors ------------------------------------------------------------------------------------


class CiError(IntegrationError):
    """Base of every build-service error. ``retryable``: the same call may succeed later."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: the HTTP status the service answered with, when there was one
        self.status = status


class CiUnreachableError(CiError):
    """No answer (refused, reset, timed out), a 5xx or a rate limit: try again later."""

    retryable = True


class CiAuthError(CiError):
    """401/403: the token was refused or may not do this."""


class CiNotFoundError(CiError):
    """404: no such repository, workflow, project, build or file."""


class CiRequestError(CiError):
    """The service refused the request (400, 409, 422...), or we refuse to send it (bad parameters)."""


class CiResponseError(CiError):
    """An answer that cannot be read (not JSON, missing fields): a proxy's error page, usually."""

    retryable = True


class CiConfigError(CiError, ConfigError):
    """No build service of that name, or one whose settings cannot work."""


class UnknownBuildServiceError(CiNotFoundError, CiConfigError):
    """A stage or trigger names a build service that is not configured."""


# ---- Igor's build model ------------------------------------------------------------------------


class BuildResult(StrEnum):
    """Igor's ``Result`` enum: what every build service's states are mapped to."""

    SUCCESS = "SUCCESS"
    UNSTABLE = "UNSTABLE"
    BUILDING = "BUILDING"
    ABORTED = "ABORTED"
    FAILURE = "FAILURE"
    NOT_BUILT = "NOT_BUILT"


#: Orca's ``MonitorJenkinsJobTask`` table, as every CI stage reads a finished build
RESULT_STATUSES: dict[BuildResult, tuple[ExecutionStatus, str | None]] = {
    BuildResult.SUCCESS: (ExecutionStatus.SUCCEEDED, None),
    BuildResult.UNSTABLE: (ExecutionStatus.TERMINAL, "Job is unstable"),
    BuildResult.FAILURE: (ExecutionStatus.TERMINAL, "Job failed"),
    BuildResult.ABORTED: (ExecutionStatus.CANCELED, "Job was aborted"),
    BuildResult.NOT_BUILT: (ExecutionStatus.TERMINAL, "Job was not built"),
}


@dataclass(frozen=True)
class CiBuild:
    """One build as Igor's ``GenericBuild`` sees it, whatever the service.

    ``building`` is True while it is queued or runs (its ``result`` is then ``BUILDING``)."""

    job: str
    number: int
    #: the service's own id of the build (Travis build id, GitHub run id, GitLab pipeline id)
    id: str
    result: BuildResult
    building: bool = False
    url: str | None = None
    #: start (or creation) time in epoch milliseconds
    timestamp: int | None = None
    #: milliseconds, once finished
    duration: int | None = None
    branch: str | None = None
    sha1: str | None = None
    #: the repository's clone URL (Igor's ``GenericGitRevision.remoteUrl``)
    remote_url: str | None = None
    #: a commit message or title, when the service reports one
    message: str | None = None
    display_name: str | None = None
    #: Igor's ``GenericArtifact`` entries the service reports
    artifacts: tuple[JSON, ...] = ()
    #: started by a Spinnaker stage (Igor's ``spinnakerTriggered``): the build monitor posts no event for it
    spinnaker_triggered: bool = False
    #: other job names the build is posted under (Travis: the branched slug ``owner/repo/<branch>``)
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """Every job name a trigger may use for this build: the job first, then its aliases."""
        return [self.job, *(a for a in self.aliases if a != self.job)]

    @property
    def finished(self) -> bool:
        return not self.building

    def outcome(self, mark_unstable_as_successful: bool = False) -> tuple[ExecutionStatus, str | None]:
        """The stage status and the error users read (Orca's rule: RUNNING while building)."""
        if self.building or self.result is BuildResult.BUILDING:
            return ExecutionStatus.RUNNING, None
        if self.result is BuildResult.UNSTABLE and mark_unstable_as_successful:
            return ExecutionStatus.SUCCEEDED, None
        return RESULT_STATUSES[self.result]

    def to_build_info(self) -> JSON:
        """Igor's ``GenericBuild`` JSON (Orca's ``buildInfo``, Gate's ``/v3/builds/{name}/build/{n}``);
        null fields left out, as Igor's are."""
        scm = None
        if self.sha1 or self.branch:
            revision = {"name": self.branch, "branch": self.branch, "sha1": self.sha1, "remoteUrl": self.remote_url}
            if self.message:
                revision["message"] = self.message
            scm = [_without_nulls(revision)]
        return _without_nulls(
            {
                "building": self.building,
                "fullDisplayName": self.display_name or f"{self.job} #{self.number}",
                "name": self.job,
                "number": self.number,
                "duration": self.duration,
                "timestamp": str(self.timestamp) if self.timestamp is not None else None,
                "result": self.result.value,
                "artifacts": [dict(a) for a in self.artifacts] or None,
                "url": self.url,
                "id": self.id,
                "scm": scm,
            }
        )

    def to_summary(self) -> JSON:
        """One entry of Igor's build list (Gate's ``/v3/builds/{name}/builds``)."""
        return _without_nulls(
            {
                "building": self.building,
                "number": self.number,
                "result": self.result.value,
                "timestamp": str(self.timestamp) if self.timestamp is not None else None,
                "duration": self.duration,
                "url": self.url,
                "fullDisplayName": self.display_name or f"{self.job} #{self.number}",
            }
        )


@dataclass(frozen=True)
class StartedRun:
    """What starting a job returned. Services that answer with the build (GitLab) set ``build``; those that
    answer with a request only (Travis' ``/requests``, GitHub's ``workflow_dispatch``) leave it None and
    :meth:`BuildService.find_started` finds the build later from the rest."""

    job: str
    #: the branch or tag the build runs on
    ref: str | None = None
    build: CiBuild | None = None
    #: the service's request id (Travis), when it gave one
    request_id: str | None = None
    #: epoch milliseconds just before the start was sent: builds created earlier are not ours
    since: int = 0
    #: the newest build number of the job before the start (0 when it had none)
    since_number: int = 0
    #: what was sent (the parameters / inputs), to tell our build from others started meanwhile
    parameters: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> JSON:
        return {
            "job": self.job,
            "ref": self.ref,
            "requestId": self.request_id,
            "since": self.since,
            "sinceNumber": self.since_number,
            "parameters": dict(self.parameters),
            "buildId": self.build.id if self.build is not None else None,
            "buildNumber": self.build.number if self.build is not None else None,
        }


# ---- the interface -----------------------------------------------------------------------------


@runtime_checkable
class BuildService(Protocol):
    """One configured build service. Implementations: ``travis.TravisService``,
    ``github_actions.GitHubActionsService``, ``gitlab.GitLabCiService``."""

    #: the configured name (Igor's master name)
    name: str
    #: the trigger and stage type: ``travis``, ``github-actions``, ``gitlab-ci``
    type: str
    #: Igor's ``BuildServiceProvider``: ``TRAVIS``, ``GITHUB_ACTIONS``, ``GITLAB_CI``
    provider: str

    def list_jobs(self) -> list[str]:
        """Every job this service's credentials can see (Igor's ``/jobs/{master}``)."""
        ...

    def builds(self, job: str, *, branch: str | None = None, limit: int = 25) -> list[CiBuild]:
        """The job's builds, newest first, at most ``limit``, of one branch when given."""
        ...

    def get_build(self, job: str, number: int) -> CiBuild:
        """The job's build by number (Gate's ``/v3/builds/{name}/build/{number}``)."""
        ...

    def get_run(self, job: str, build_id: str) -> CiBuild:
        """The build by the service's id (what a stage holds once its build started)."""
        ...

    def start(self, job: str, *, ref: str | None, parameters: Mapping[str, str]) -> StartedRun:
        """Start the job on ``ref`` (None: the default branch) with parameters (Travis env, GitHub inputs,
        GitLab variables)."""
        ...

    def find_started(self, started: StartedRun) -> CiBuild | None:
        """The build a start became, or None while it is not there yet."""
        ...

    def cancel(self, job: str, build_id: str) -> None:
        """Cancel the build (finished builds: no error)."""
        ...

    def properties(self, job: str, build: CiBuild, file_name: str | None) -> JSON:
        """The build's properties (Igor's ``getBuildProperties``): from the artifact ``file_name`` (a
        ``.properties``, ``.json`` or ``.yml`` file) or, without one, what the service's convention gives
        (Travis: ``SPINNAKER_PROPERTY_`` lines of the log). Empty when there are none."""
        ...

    def close(self) -> None: ...


# ---- helpers every implementation uses -----------------------------------------------------------


def _without_nulls(data: JSON) -> JSON:
    return {k: v for k, v in data.items() if v is not None}


def newest_first(builds: Iterable[CiBuild]) -> list[CiBuild]:
    return sorted(builds, key=lambda b: b.number, reverse=True)


def describe(service: BuildService, permissions: Mapping[str, Any] | None = None) -> JSON:
    """Igor's ``BuildService`` entry of ``/buildServices``: name, provider and permissions."""
    return {"name": service.name, "buildServiceProvider": service.provider, "permissions": dict(permissions or {})}


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one (the services' JSON is read defensively)."""
    return value if isinstance(value, Mapping) else {}

"""Igor's ``gitlab-ci`` build service on GitLab's REST API v4, through python-gitlab (``PRIVATE-TOKEN``).

Jobs are projects, by path: ``group/project`` (``group/sub/project`` too); a build is one of the project's
pipelines, numbered by its pipeline ``id`` as Igor numbers it (ids grow, so the build monitor's cursor
rules hold per project). A trigger's ``job`` may also be the numeric project id: Igor posts GitLab build
events under that id, so a pipeline configured that way still fires (:attr:`CiBuild.aliases`).

A stage creates a pipeline on ``ref`` (the project's default branch when none is given) with its
``parameters`` as pipeline variables, waits for it, reads its status and its properties, and cancels it
when the stage is canceled. Properties come from a job artifact first (``propertyFile`` read out of the
archive of the pipeline's newest job that has it, child pipelines included), then, as Igor reads them,
from ``SPINNAKER_PROPERTY_`` lines of the jobs' logs.

python-gitlab's own waits are off: it neither sleeps on a 429 nor retries a 5xx, since the stage's polling
and Temporal's retries decide when to try again. Every call is blocking (activities run them in threads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from core.settings.ci import GitLabCiServiceSettings
from integrations.jenkins.properties import PropertyFileError, parse_property_file

from .base import (
    BuildResult,
    CiAuthError,
    CiBuild,
    CiError,
    CiNotFoundError,
    CiRequestError,
    CiResponseError,
    CiUnreachableError,
    StartedRun,
    newest_first,
)
from .travis import epoch_ms, extract_properties

if TYPE_CHECKING:  # python-gitlab loads when a GitLab service is first used (docs/architecture.md, "Footprint")
    import gitlab
    from gitlab.v4.objects import Project

JSON = dict[str, Any]
T = TypeVar("T")
TYPE = "gitlab-ci"
PROVIDER = "GITLAB_CI"
#: a pipeline's ``status`` → (Igor's result, still running); Igor's ``GitlabCiResultConverter`` with
#: GitLab's newer waiting states read as running
STATES: dict[str, tuple[BuildResult, bool]] = {
    "created": (BuildResult.BUILDING, True),
    "waiting_for_resource": (BuildResult.BUILDING, True),
    "preparing": (BuildResult.BUILDING, True),
    "pending": (BuildResult.BUILDING, True),
    "running": (BuildResult.BUILDING, True),
    "scheduled": (BuildResult.BUILDING, True),
    "manual": (BuildResult.BUILDING, True),
    "canceling": (BuildResult.BUILDING, True),
    "success": (BuildResult.SUCCESS, False),
    "failed": (BuildResult.FAILURE, False),
    "canceled": (BuildResult.ABORTED, False),
    "skipped": (BuildResult.NOT_BUILT, False),
}
#: the source GitLab gives pipelines created through ``POST /projects/:id/pipeline``
API_SOURCE = "api"
#: the largest property file read out of an artifact
MAX_PROPERTY_FILE = 1024 * 1024
#: python-gitlab's per-call switches: no sleeping on 429, no retrying 5xx
_NO_WAIT: dict[str, Any] = {"obey_rate_limit": False, "retry_transient_errors": False}


# ---- pure rules (tested as tables) ---------------------------------------------------------------


def project_path(job: str) -> str:
    """The job as a project path (``group/project``) or numeric id; anything else is refused."""
    path = "/".join(p for p in job.strip().split("/") if p)
    if not path or ("/" not in path and not path.isdigit()):
        raise CiRequestError(f"gitlab-ci job '{job}' must be a project path (group/project) or a project id")
    return path


def to_build(job: str, pipeline: Mapping[str, Any], address: str) -> CiBuild:
    """A pipeline (from a list or read alone) as Igor's ``GenericBuild`` (``GitlabCiPipelineUtils``)."""
    try:
        pipeline_id = int(pipeline["id"])
    except (KeyError, TypeError, ValueError):
        raise CiResponseError(f"a pipeline of {job} has no id") from None
    status = str(pipeline.get("status"))
    result, running = STATES.get(status, (BuildResult.BUILDING, True))
    ref = pipeline.get("ref") if isinstance(pipeline.get("ref"), str) else None
    duration = pipeline.get("duration")
    project_id = pipeline.get("project_id")
    web_url = pipeline.get("web_url")
    return CiBuild(
        job=job,
        number=pipeline_id,
        id=str(pipeline_id),
        result=result,
        building=running,
        url=web_url if isinstance(web_url, str) else f"{address}/{job}/-/pipelines/{pipeline_id}",
        timestamp=epoch_ms(pipeline.get("started_at") or pipeline.get("created_at")),
        duration=int(duration * 1000) if isinstance(duration, int | float) and not running else None,
        branch=ref,
        sha1=pipeline.get("sha") if isinstance(pipeline.get("sha"), str) else None,
        remote_url=f"{address}/{job}.git",
        display_name=f"{ref} ({pipeline_id})" if ref else None,
        aliases=(str(project_id),) if isinstance(project_id, int) and str(project_id) != job else (),
    )


def variables_of(parameters: Mapping[str, Any]) -> list[JSON]:
    """The stage's parameters as pipeline variables (``env_var``: the jobs read them as environment)."""
    found = []
    for key, value in parameters.items():
        name = str(key)
        if not name or len(name) > 255 or not all(c.isalnum() or c == "_" for c in name):
            raise CiRequestError(f"gitlab-ci parameter '{name}' is not a variable name (letters, digits and _)")
        found.append({"key": name, "value": str(value), "variable_type": "env_var"})
    return found


def jobs_with_artifacts(jobs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The pipeline's jobs that keep an artifacts archive, newest first (the last writer of a file wins)."""
    found = [
        j
        for j in jobs
        if any(isinstance(a, Mapping) and a.get("file_type") == "archive" for a in j.get("artifacts") or [])
        or isinstance(j.get("artifacts_file"), Mapping)
    ]
    return sorted(found, key=lambda j: int(j.get("id") or 0), reverse=True)


# ---- the client ----------------------------------------------------------------------------------


class GitLabCiService:
    """One GitLab behind the :class:`~.base.BuildService` interface."""

    type = TYPE
    provider = PROVIDER

    def __init__(self, config: GitLabCiServiceSettings) -> None:
        self.config = config
        self.name = config.name
        self._what = f"gitlab-ci '{config.name}'"
        self._gl: gitlab.Gitlab | None = None

    def __repr__(self) -> str:
        return f"GitLabCiService({self.name!r})"

    @property
    def gl(self) -> gitlab.Gitlab:
        if self._gl is None:
            import gitlab

            self._gl = gitlab.Gitlab(
                self.config.address,
                private_token=self.config.secret(),
                timeout=self.config.timeout,
                retry_transient_errors=False,
                keep_base_url=True,
                user_agent="Gennaker",
            )
        return self._gl

    def close(self) -> None:
        if self._gl is not None:
            self._gl.session.close()

    def _call(self, what: Callable[[], T], doing: str, missing: str | None = None) -> T:
        """Run one python-gitlab call, its errors as the :class:`CiError` tree (never the token)."""
        import gitlab
        import requests

        try:
            return what()
        except gitlab.exceptions.GitlabError as err:
            raise self._error(err.response_code, doing, missing, err.error_message) from None
        except requests.exceptions.Timeout:
            raise CiUnreachableError(f"{self._what}: {doing}: timed out") from None
        except requests.exceptions.RequestException as err:
            raise CiUnreachableError(f"{self._what}: {doing}: {type(err).__name__}") from None
        except (KeyError, TypeError, ValueError) as err:  # an answer python-gitlab could not read
            raise CiResponseError(f"{self._what}: {doing}: unreadable answer ({type(err).__name__})") from None

    def _error(self, status: int | None, doing: str, missing: str | None, reason: Any) -> CiError:
        text = f"{self._what}: {doing}: HTTP {status}"
        if isinstance(reason, str | dict | list) and reason:
            text += f" ({str(reason)[:200]})"
        if status in (401, 403):
            return CiAuthError(text, status=status)
        if status == 404:
            return CiNotFoundError(f"{self._what}: {missing or doing}: not found", status=status)
        if status is None or status == 429 or status >= 500:
            return CiUnreachableError(text, status=status)
        return CiRequestError(text, status=status)

    def _project(self, job: str) -> Project:
        return self.gl.projects.get(project_path(job), lazy=True)

    # -- reads

    def list_jobs(self) -> list[str]:
        """The configured projects, or Igor's ``getProjects``: those the token sees, with CI enabled."""
        if self.config.projects:
            return list(self.config.projects)
        listed = self._call(
            lambda: self.gl.projects.list(
                membership=self.config.limit_by_membership or None,
                owned=self.config.limit_by_ownership or None,
                per_page=100,
                get_all=True,
                **_NO_WAIT,
            ),
            "list projects",
        )
        return [
            str(p.attributes["path_with_namespace"])
            for p in listed
            if p.attributes.get("builds_access_level", "enabled") == "enabled"
            and p.attributes.get("path_with_namespace")
        ]

    def builds(self, job: str, *, branch: str | None = None, limit: int = 25) -> list[CiBuild]:
        params: JSON = {"per_page": min(limit, 100), "order_by": "id", "sort": "desc"}
        if branch:
            params["ref"] = branch
        return self._pipelines(job, params)[:limit]

    def _pipelines(self, job: str, params: Mapping[str, Any]) -> list[CiBuild]:
        project = self._project(job)
        listed = self._call(
            lambda: project.pipelines.list(get_all=False, **params, **_NO_WAIT),
            f"pipelines of {job}",
            missing=f"project {job}",
        )
        return newest_first(to_build(job, p.attributes, self.config.address) for p in listed)

    def get_build(self, job: str, number: int) -> CiBuild:
        return self.get_run(job, str(number))

    def get_run(self, job: str, build_id: str) -> CiBuild:
        project = self._project(job)
        pipeline = self._call(
            lambda: project.pipelines.get(_pipeline_id(build_id), **_NO_WAIT),
            f"pipeline {build_id} of {job}",
        )
        return to_build(job, pipeline.attributes, self.config.address)

    def default_branch(self, job: str) -> str:
        project = self._call(lambda: self.gl.projects.get(project_path(job), **_NO_WAIT), f"project {job}")
        branch = project.attributes.get("default_branch")
        return branch if isinstance(branch, str) and branch else "main"

    # -- start and cancel

    def start(self, job: str, *, ref: str | None, parameters: Mapping[str, str]) -> StartedRun:
        """``POST /projects/:id/pipeline``: GitLab answers with the pipeline, so the build is known at once."""
        branch = ref or self.default_branch(job)
        data = {"ref": branch, "variables": variables_of(parameters)}
        project = self._project(job)
        pipeline = self._call(
            lambda: project.pipelines.create(data, **_NO_WAIT),
            f"create a pipeline of {job} on {branch}",
            missing=f"project {job}",
        )
        build = to_build(job, pipeline.attributes, self.config.address)
        return StartedRun(job, branch, build=build, parameters=dict(parameters))

    def find_started(self, started: StartedRun) -> CiBuild | None:
        """The oldest API-created pipeline on the ref newer than the newest one before the start (a lost
        answer's pipeline)."""
        if started.build is not None:
            return started.build
        params: JSON = {"per_page": 50, "order_by": "id", "sort": "desc", "source": API_SOURCE}
        if started.ref:
            params["ref"] = started.ref
        ours = [b for b in self._pipelines(started.job, params) if b.number > started.since_number]
        return min(ours, key=lambda b: b.number) if ours else None

    def cancel(self, job: str, build_id: str) -> None:
        """``POST .../pipelines/:id/cancel`` (GitLab answers a finished pipeline unchanged)."""
        pipeline = self._project(job).pipelines.get(_pipeline_id(build_id), lazy=True)
        self._call(lambda: pipeline.cancel(**_NO_WAIT), f"cancel pipeline {build_id} of {job}")

    # -- properties

    def properties(self, job: str, build: CiBuild, file_name: str | None) -> JSON:
        """``file_name`` from the newest job artifact that has it, else Igor's ``SPINNAKER_PROPERTY_`` log
        lines; empty without ``file_name`` (as Igor). Neither found: :class:`CiNotFoundError`."""
        if not file_name:
            return {}
        project = self._project(job)
        jobs = self._jobs(job, project, int(build.id))
        for entry in jobs_with_artifacts(jobs):
            content = self._artifact(job, project, int(entry["id"]), file_name)
            if content is not None:
                return parse_property_file(file_name, content)
        found: JSON = {}
        for entry in sorted(jobs, key=lambda j: int(j.get("id") or 0)):
            found.update(extract_properties(self._trace(job, project, int(entry["id"]))))
        if found:
            return found
        raise CiNotFoundError(f"{self._what}: {file_name} is in no artifact or log of {job} pipeline {build.id}")

    def _jobs(self, job: str, project: Project, pipeline_id: int) -> list[Mapping[str, Any]]:
        """The pipeline's jobs and those of its successful child pipelines (Igor's ``getJobsWithBridges``)."""
        pipeline = project.pipelines.get(pipeline_id, lazy=True)
        doing = f"jobs of pipeline {pipeline_id} of {job}"
        jobs = [j.attributes for j in self._call(lambda: pipeline.jobs.list(get_all=True, **_NO_WAIT), doing)]
        bridges = self._call(lambda: pipeline.bridges.list(get_all=True, **_NO_WAIT), f"bridges of {pipeline_id}")
        for bridge in bridges:
            child = bridge.attributes.get("downstream_pipeline")
            if isinstance(child, Mapping) and child.get("status") == "success" and child.get("id") is not None:
                jobs.extend(self._jobs(job, project, int(child["id"])))
        return jobs

    def _artifact(self, job: str, project: Project, job_id: int, file_name: str) -> bytes | None:
        """``GET .../jobs/:id/artifacts/<file>``: the file out of the job's archive, or None where it is not."""
        ci_job = project.jobs.get(job_id, lazy=True)
        try:
            data = self._call(lambda: ci_job.artifact(file_name, **_NO_WAIT), f"artifact {file_name} of job {job_id}")
        except CiNotFoundError:
            return None
        if not isinstance(data, bytes):
            raise CiResponseError(f"{self._what}: artifact {file_name} of job {job_id}: not a file")
        if len(data) > MAX_PROPERTY_FILE:
            raise PropertyFileError(f"{file_name} is larger than {MAX_PROPERTY_FILE} bytes")
        return data

    def _trace(self, job: str, project: Project, job_id: int) -> str:
        ci_job = project.jobs.get(job_id, lazy=True)
        data = self._call(lambda: ci_job.trace(**_NO_WAIT), f"log of job {job_id} of {job}")
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")


def _pipeline_id(build_id: str) -> int:
    try:
        return int(str(build_id).strip())
    except ValueError:
        raise CiRequestError(f"gitlab-ci pipeline id '{build_id}' is not a number") from None

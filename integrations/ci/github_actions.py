"""GitHub Actions as a build service, on GitHub's REST API (``api.github.com`` or GitHub Enterprise's
``/api/v3``), with a token (``Authorization: Bearer``: a fine-grained token with Actions read/write).

Jobs are workflows: ``owner/repo/<workflow file>`` (``owner/repo/ci.yml``; a numeric workflow id works too).
Builds are the workflow's runs, numbered by ``run_number``. A stage dispatches the workflow
(``workflow_dispatch``) on a branch or tag with ``inputs``; a trigger fires on a run that completed with
``success``. Properties come from an artifact of the run: the ``propertyFile`` is looked for in the run's
artifacts (an artifact of that name, or a file of that name inside any of them) and read as Igor reads a
Jenkins property file (``.properties``, ``.json``, ``.yml``).

A client library (githubkit) was considered: what is used here is six endpoints, and githubkit's generated
models weigh tens of MB of imports in a worker (tests/test_footprint.py), so it is httpx, as for Travis.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from core.settings.ci import GitHubActionsServiceSettings
from integrations.jenkins.properties import PropertyFileError, parse_property_file

from .base import (
    BuildResult,
    CiBuild,
    CiNotFoundError,
    CiRequestError,
    CiResponseError,
    StartedRun,
    mapping,
    newest_first,
)
from .http import JsonApi
from .travis import epoch_ms

JSON = dict[str, Any]
TYPE = "github-actions"
PROVIDER = "GITHUB_ACTIONS"
#: a run's ``conclusion`` → Igor's result (``status`` other than ``completed`` is still building)
CONCLUSIONS: dict[str, BuildResult] = {
    "success": BuildResult.SUCCESS,
    "failure": BuildResult.FAILURE,
    "timed_out": BuildResult.FAILURE,
    "startup_failure": BuildResult.FAILURE,
    "cancelled": BuildResult.ABORTED,
    "skipped": BuildResult.NOT_BUILT,
    "neutral": BuildResult.NOT_BUILT,
    "stale": BuildResult.NOT_BUILT,
    "action_required": BuildResult.NOT_BUILT,
}
#: the largest property file read out of an artifact
MAX_PROPERTY_FILE = 1024 * 1024


def split_job(job: str) -> tuple[str, str]:
    """``owner/repo/<workflow>`` → (``owner/repo``, workflow file or id); ``.github/workflows/`` is optional."""
    parts = [p for p in job.strip().split("/") if p]
    if len(parts) < 3:
        raise CiRequestError(f"github-actions job '{job}' must be owner/repo/<workflow file>, e.g. org/app/ci.yml")
    workflow = "/".join(parts[2:]).removeprefix(".github/workflows/")
    if "/" in workflow:
        raise CiRequestError(f"github-actions job '{job}': the workflow must be a file of .github/workflows")
    return f"{parts[0]}/{parts[1]}", workflow


def to_build(job: str, run: Mapping[str, Any]) -> CiBuild:
    """A workflow run as Igor's ``GenericBuild``."""
    try:
        number, run_id = int(run["run_number"]), str(run["id"])
    except (KeyError, TypeError, ValueError):
        raise CiResponseError(f"a workflow run of {job} has no run_number or id") from None
    completed = run.get("status") == "completed"
    result = CONCLUSIONS.get(str(run.get("conclusion")), BuildResult.FAILURE) if completed else BuildResult.BUILDING
    started = epoch_ms(run.get("run_started_at") or run.get("created_at"))
    updated = epoch_ms(run.get("updated_at"))
    commit = mapping(run.get("head_commit"))
    repo = mapping(run.get("repository"))
    return CiBuild(
        job=job,
        number=number,
        id=run_id,
        result=result,
        building=not completed,
        url=run.get("html_url") if isinstance(run.get("html_url"), str) else None,
        timestamp=started,
        duration=updated - started if completed and started is not None and updated is not None else None,
        branch=run.get("head_branch") if isinstance(run.get("head_branch"), str) else None,
        sha1=run.get("head_sha") if isinstance(run.get("head_sha"), str) else None,
        remote_url=repo.get("html_url") if isinstance(repo.get("html_url"), str) else None,
        message=commit.get("message") if isinstance(commit.get("message"), str) else None,
        display_name=f"{job} #{number}",
    )


def inputs_of(parameters: Mapping[str, Any]) -> dict[str, str]:
    """The stage's parameters as ``workflow_dispatch`` inputs (GitHub takes at most 25, all as text here)."""
    if len(parameters) > 25:
        raise CiRequestError("github-actions: a workflow_dispatch takes at most 25 inputs")
    return {str(k): str(v) for k, v in parameters.items()}


def property_from_zip(data: bytes, file_name: str) -> bytes | None:
    """The file ``file_name`` (by its name, in any folder) of an artifact's zip, or None."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise CiResponseError("an artifact of the run is not a zip file") from None
    base = file_name.rsplit("/", 1)[-1]
    for info in archive.infolist():
        if info.is_dir() or (info.filename != file_name and info.filename.rsplit("/", 1)[-1] != base):
            continue
        if info.file_size > MAX_PROPERTY_FILE:
            raise PropertyFileError(f"{file_name} is larger than {MAX_PROPERTY_FILE} bytes")
        with archive.open(info) as member:
            return member.read(MAX_PROPERTY_FILE + 1)[:MAX_PROPERTY_FILE]
    return None


class GitHubActionsService:
    """One GitHub (or GitHub Enterprise) whose workflows are jobs, behind :class:`~.base.BuildService`."""

    type = TYPE
    provider = PROVIDER

    def __init__(self, config: GitHubActionsServiceSettings) -> None:
        self.config = config
        self.name = config.name
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "Gennaker",
        }
        token = config.secret()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.api = JsonApi(f"github-actions '{config.name}'", config.address, headers, config.timeout)

    def __repr__(self) -> str:
        return f"GitHubActionsService({self.name!r})"

    def close(self) -> None:
        self.api.close()

    @staticmethod
    def _repo(repo: str) -> str:
        owner, name = repo.split("/", 1)
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def _workflow(self, job: str) -> tuple[str, str]:
        repo, workflow = split_job(job)
        return repo, f"{self._repo(repo)}/actions/workflows/{quote(workflow, safe='')}"

    def list_jobs(self) -> list[str]:
        jobs: list[str] = []
        for repo in self.config.repositories:
            data = self.api.get_json(
                f"{self._repo(repo)}/actions/workflows", f"workflows of {repo}", params={"per_page": 100}
            )
            for workflow in data.get("workflows") or []:
                path = workflow.get("path") if isinstance(workflow, Mapping) else None
                if isinstance(path, str) and path.startswith(".github/workflows/"):
                    jobs.append(f"{repo}/{path.removeprefix('.github/workflows/')}")
        return jobs

    def _runs(self, job: str, params: Mapping[str, Any]) -> list[CiBuild]:
        repo, path = self._workflow(job)
        data = self.api.get_json(f"{path}/runs", f"runs of {job}", params=params, missing=f"workflow {job}")
        runs = data.get("workflow_runs") or []
        return newest_first(to_build(job, r) for r in runs if isinstance(r, Mapping))

    def builds(self, job: str, *, branch: str | None = None, limit: int = 25) -> list[CiBuild]:
        return self._runs(job, {"per_page": min(limit, 100), "branch": branch})

    def get_build(self, job: str, number: int) -> CiBuild:
        for build in self.builds(job, limit=100):
            if build.number == number:
                return build
        raise CiNotFoundError(f"github-actions '{self.name}': run #{number} of {job}: not found")

    def get_run(self, job: str, build_id: str) -> CiBuild:
        repo, _ = split_job(job)
        data = self.api.get_json(f"{self._repo(repo)}/actions/runs/{quote(build_id, safe='')}", f"run {build_id}")
        return to_build(job, data)

    def default_branch(self, repo: str) -> str:
        data = self.api.get_json(self._repo(repo), f"repository {repo}")
        branch = data.get("default_branch")
        return branch if isinstance(branch, str) and branch else "main"

    def start(self, job: str, *, ref: str | None, parameters: Mapping[str, str]) -> StartedRun:
        """``workflow_dispatch`` on ``ref`` (the repository's default branch when None) with ``inputs``.
        GitHub answers the run's id when it can (``return_run_details``); else the run is found later."""
        repo, path = self._workflow(job)
        branch = ref or self.default_branch(repo)
        newest = self.builds(job, limit=1)
        since_number = newest[0].number if newest else 0
        since = int(time.time() * 1000)
        body = {"ref": branch, "inputs": inputs_of(parameters), "return_run_details": True}
        response = self.api.call("POST", f"{path}/dispatches", f"dispatch {job} on {branch}", json=body)
        started = StartedRun(job, branch, since=since, since_number=since_number, parameters=dict(parameters))
        if response.status_code == 200 and response.content:
            run_id = self.api.json_of(response, f"dispatch {job}").get("workflow_run_id")
            if run_id is not None:
                return StartedRun(
                    job,
                    branch,
                    build=self.get_run(job, str(run_id)),
                    since=since,
                    since_number=since_number,
                    parameters=dict(parameters),
                )
        return started

    def find_started(self, started: StartedRun) -> CiBuild | None:
        """The oldest ``workflow_dispatch`` run on the ref numbered above the newest one before the start."""
        if started.build is not None:
            return started.build
        runs = self._runs(started.job, {"per_page": 50, "event": "workflow_dispatch", "branch": started.ref})
        ours = [r for r in runs if r.number > started.since_number and (r.branch in (None, started.ref))]
        return min(ours, key=lambda r: r.number) if ours else None

    def cancel(self, job: str, build_id: str) -> None:
        repo, _ = split_job(job)
        self.api.call(
            "POST",
            f"{self._repo(repo)}/actions/runs/{quote(build_id, safe='')}/cancel",
            f"cancel run {build_id} of {job}",
            conflict_ok=True,  # 409: the run finished already
        )

    def properties(self, job: str, build: CiBuild, file_name: str | None) -> JSON:
        """The property file from the run's artifacts; empty without ``file_name``. A file named but not
        found raises :class:`CiNotFoundError`; one that does not parse, ``PropertyFileError``."""
        if not file_name:
            return {}
        repo, _ = split_job(job)
        data = self.api.get_json(
            f"{self._repo(repo)}/actions/runs/{quote(build.id, safe='')}/artifacts",
            f"artifacts of run {build.id}",
            params={"per_page": 100},
        )
        artifacts = [a for a in data.get("artifacts") or [] if isinstance(a, Mapping) and not a.get("expired")]
        artifacts.sort(key=lambda a: a.get("name") != file_name)  # an artifact named after the file first
        for artifact in artifacts:
            archive = self.api.call(
                "GET",
                f"{self._repo(repo)}/actions/artifacts/{artifact.get('id')}/zip",
                f"artifact {artifact.get('name')} of run {build.id}",
                follow_redirects=True,
            )
            content = property_from_zip(archive.content, file_name)
            if content is not None:
                return parse_property_file(file_name, content)
        raise CiNotFoundError(f"github-actions '{self.name}': {file_name} is in no artifact of {job} #{build.number}")

"""Igor's ``travis`` build service on Travis CI's API v3 (``Travis-API-Version: 3``, ``Authorization:
token <API token>``).

Jobs are repository slugs, as Igor names them: ``owner/repo`` (every build of the repository) or the
*branched slug* ``owner/repo/<branch>`` (``owner/repo/tags`` for tag builds, ``owner/repo/pull_request_<branch>``
for pull requests). A stage's job picks the branch its build runs on; a trigger's job picks the builds it
fires on. Parameters become the build's environment (``env.matrix: "K=V ..."``, merged into ``.travis.yml``
as Igor's ``Config``), so the build reads them as variables next to Travis' own ``TRAVIS_`` ones.

Properties come from the build's log, as Igor reads them: lines ``SPINNAKER_PROPERTY_<NAME>=value`` (the name
lower-cased) and ``SPINNAKER_CONFIG_JSON={...}``; Travis has no archived files to read.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from core.settings.ci import TravisServiceSettings

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

JSON = dict[str, Any]
TYPE = "travis"
PROVIDER = "TRAVIS"
#: Igor's ``RepoRequest.message``: builds whose commit message starts so were started by a stage
SPINNAKER_MESSAGE = "Triggered from Spinnaker"
#: Igor's ``TravisBuildState``: state → (result, still running)
STATES: dict[str, tuple[BuildResult, bool]] = {
    "created": (BuildResult.BUILDING, True),
    "received": (BuildResult.BUILDING, True),
    "queued": (BuildResult.BUILDING, True),
    "started": (BuildResult.BUILDING, True),
    "passed": (BuildResult.SUCCESS, False),
    "failed": (BuildResult.FAILURE, False),
    "errored": (BuildResult.FAILURE, False),
    "canceled": (BuildResult.ABORTED, False),
}
#: what every build read includes: the commit, and whether the log is complete (Igor's ``build.log_complete``)
INCLUDE = "build.commit,build.log_complete"
PROPERTY_PREFIX = "SPINNAKER_PROPERTY_"
CONFIG_JSON_PREFIX = "SPINNAKER_CONFIG_JSON="
_PROPERTY = re.compile(r"^\s*" + PROPERTY_PREFIX)
_CONFIG_JSON = re.compile(r"^\s*" + CONFIG_JSON_PREFIX)


# ---- pure rules (tested as tables) ---------------------------------------------------------------


def split_job(job: str) -> tuple[str, str | None]:
    """``owner/repo[/branch]`` → (slug, branch); Igor's ``cleanRepoSlug`` and ``branchFromRepoSlug``
    (``tags`` is no branch, ``pull_request_x`` is branch ``x``)."""
    parts = [p for p in job.strip().split("/") if p]
    if len(parts) < 2:
        raise CiRequestError(f"travis job '{job}' must be a repository slug, owner/repo or owner/repo/branch")
    slug = f"{parts[0]}/{parts[1]}"
    branch = "/".join(parts[2:]) or None
    if branch is not None:
        branch = branch.removeprefix("pull_request_")
        if branch.lower() == "tags":
            branch = None
    return slug, branch


def branched_slug(slug: str, build: Mapping[str, Any]) -> str:
    """Igor's ``V3Build.branchedRepoSlug``: the slug with the build's branch, ``tags`` or ``pull_request_<b>``."""
    commit = mapping(build.get("commit"))
    branch = mapping(build.get("branch"))
    if build.get("event_type") == "pull_request":
        return f"{slug}/pull_request_{branch.get('name')}"
    if str(commit.get("ref") or "").startswith("refs/tags/") or build.get("tag"):
        return f"{slug}/tags"
    return f"{slug}/{branch.get('name')}"


def epoch_ms(value: Any) -> int | None:
    """An ISO-8601 time (``2026-12-06T05:00:00Z``) in epoch milliseconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def to_build(slug: str, build: Mapping[str, Any], base_url: str) -> CiBuild:
    """A v3 ``build`` resource as Igor's ``GenericBuild`` (``TravisBuildConverter``), posted under the
    repository slug and the branched slug (Igor sends an event for each)."""
    try:
        number, build_id = int(build["number"]), str(build["id"])
    except (KeyError, TypeError, ValueError):
        raise CiResponseError(f"travis build of {slug} has no number or id") from None
    result, running = STATES.get(str(build.get("state")), (BuildResult.BUILDING, True))
    if result is BuildResult.SUCCESS and build.get("log_complete") is False:
        # Igor's isLogReady: a passed build whose log is still being written is not done for us yet (its
        # SPINNAKER_PROPERTY_ lines may be missing); it finishes on a later read
        result, running = BuildResult.BUILDING, True
    commit = mapping(build.get("commit"))
    branch = mapping(build.get("branch"))
    repo = mapping(build.get("repository"))
    message = commit.get("message") if isinstance(commit.get("message"), str) else None
    duration = build.get("duration")
    return CiBuild(
        job=slug,
        number=number,
        id=build_id,
        result=result,
        building=running,
        url=f"{base_url}/{slug}/builds/{build_id}",
        timestamp=epoch_ms(build.get("started_at") or build.get("finished_at")),
        duration=int(duration) * 1000 if isinstance(duration, int) else None,
        branch=branch.get("name") if isinstance(branch.get("name"), str) else None,
        sha1=commit.get("sha") if isinstance(commit.get("sha"), str) else None,
        remote_url=f"https://github.com/{repo.get('slug') or slug}",
        message=message,
        aliases=(branched_slug(slug, build),),
        spinnaker_triggered=build.get("event_type") == "api"
        and (message or "").lower().startswith(SPINNAKER_MESSAGE.lower()),
    )


def env_matrix(parameters: Mapping[str, str]) -> str:
    """Igor's ``Config``: the parameters as one ``K=V K2=V2`` environment line (values with blanks quoted)."""
    parts = []
    for name, value in parameters.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise CiRequestError(f"travis parameter '{name}' is not an environment variable name")
        text = str(value)
        parts.append(f'{name}="{text}"' if re.search(r"\s", text) or not text else f"{name}={text}")
    return " ".join(parts)


def extract_properties(log: str) -> JSON:
    """Igor's ``PropertyParser.extractPropertiesFromLog``: ``SPINNAKER_PROPERTY_NAME=value`` lines (name
    lower-cased; unlike Igor, a value keeps its own ``=``) and ``SPINNAKER_CONFIG_JSON={...}`` lines."""
    found: JSON = {}
    for line in log.splitlines():
        if _PROPERTY.match(line) and "=" in line:
            key, value = line.strip().split("=", 1)
            found[key.removeprefix(PROPERTY_PREFIX).lower()] = value.strip()
        elif _CONFIG_JSON.match(line):
            text = line.strip().removeprefix(CONFIG_JSON_PREFIX)
            try:
                document = json.loads(text)
            except ValueError:
                raise CiResponseError(f"{CONFIG_JSON_PREFIX} line is not JSON") from None
            if isinstance(document, dict):
                found.update(document)
    return found


# ---- the client ----------------------------------------------------------------------------------


class TravisService:
    """One Travis CI (``travis-ci.com`` or Travis Enterprise) behind the :class:`~.base.BuildService` interface."""

    type = TYPE
    provider = PROVIDER

    def __init__(self, config: TravisServiceSettings) -> None:
        self.config = config
        self.name = config.name
        headers = {"Travis-API-Version": "3", "User-Agent": "Gennaker", "Accept": "application/json"}
        token = config.secret()
        if token:
            headers["Authorization"] = f"token {token}"
        self.api = JsonApi(f"travis '{config.name}'", config.address, headers, config.timeout)

    def __repr__(self) -> str:
        return f"TravisService({self.name!r})"

    def close(self) -> None:
        self.api.close()

    @staticmethod
    def _repo(slug: str) -> str:
        return "/repo/" + quote(slug, safe="")

    def list_jobs(self) -> list[str]:
        if self.config.repositories:
            return list(self.config.repositories)
        data = self.api.get_json(
            "/repos",
            "list repositories",
            params={"repository.active": "true", "limit": self.config.number_of_repositories, "sort_by": "name"},
        )
        return [r["slug"] for r in data.get("repositories") or [] if isinstance(r, Mapping) and r.get("slug")]

    def builds(self, job: str, *, branch: str | None = None, limit: int = 25) -> list[CiBuild]:
        slug, job_branch = split_job(job)
        params = {"limit": min(limit, 100), "branch.name": branch or job_branch, "include": INCLUDE}
        data = self.api.get_json(
            f"{self._repo(slug)}/builds", f"builds of {slug}", params=params, missing=f"repository {slug}"
        )
        listed = [to_build(slug, b, self.config.base_url) for b in data.get("builds") or [] if isinstance(b, Mapping)]
        return newest_first(listed)

    def get_build(self, job: str, number: int) -> CiBuild:
        for build in self.builds(job, limit=100):
            if build.number == number:
                return build
        raise CiNotFoundError(f"travis '{self.name}': build #{number} of {job}: not found")

    def get_run(self, job: str, build_id: str) -> CiBuild:
        slug, _ = split_job(job)
        data = self.api.get_json(
            f"/build/{quote(build_id, safe='')}",
            f"build {build_id} of {slug}",
            params={"include": INCLUDE},
        )
        return to_build(slug, data, self.config.base_url)

    def default_branch(self, slug: str) -> str:
        data = self.api.get_json(self._repo(slug), f"repository {slug}")
        branch = data.get("default_branch")
        name = branch.get("name") if isinstance(branch, Mapping) else None
        return name if isinstance(name, str) and name else "master"

    def start(self, job: str, *, ref: str | None, parameters: Mapping[str, str]) -> StartedRun:
        """Igor's ``triggerBuildWithParameters``: a build request on the job's (or ``ref``'s) branch."""
        slug, job_branch = split_job(job)
        branch = ref or job_branch or self.default_branch(slug)
        request: JSON = {"branch": branch, "message": SPINNAKER_MESSAGE}
        if parameters:
            request["config"] = {"merge_mode": "deep_merge", "env": {"matrix": env_matrix(parameters)}}
        since = int(time.time() * 1000)
        response = self.api.call(
            "POST", f"{self._repo(slug)}/requests", f"request a build of {slug}", json={"request": request}
        )
        data = self.api.json_of(response, f"request a build of {slug}")
        pending = mapping(data.get("request"))
        if pending.get("id") is None:
            raise CiResponseError(f"travis '{self.name}': the build request of {slug} has no id")
        return StartedRun(job, branch, request_id=str(pending["id"]), since=since, parameters=dict(parameters))

    def find_started(self, started: StartedRun) -> CiBuild | None:
        """Igor's ``queuedBuild``: the request's first build, once Travis made one."""
        if started.build is not None:
            return started.build
        slug, _ = split_job(started.job)
        if started.request_id is None:  # the request's answer was lost: our build is the next one we started
            ours = [
                b
                for b in self.builds(started.job, branch=started.ref, limit=25)
                if b.number > started.since_number and b.spinnaker_triggered
            ]
            return min(ours, key=lambda b: b.number) if ours else None
        data = self.api.get_json(
            f"{self._repo(slug)}/request/{quote(str(started.request_id), safe='')}",
            f"build request {started.request_id} of {slug}",
        )
        if data.get("result") == "rejected":
            raise CiRequestError(
                f"travis '{self.name}': build request {started.request_id} of {slug} was rejected"
                + (f" ({data['message']})" if isinstance(data.get("message"), str) else "")
            )
        for build in data.get("builds") or []:
            if isinstance(build, Mapping) and build.get("id") is not None:
                return self.get_run(started.job, str(build["id"]))
        return None

    def cancel(self, job: str, build_id: str) -> None:
        self.api.call("POST", f"/build/{quote(build_id, safe='')}/cancel", f"cancel build {build_id}", conflict_ok=True)

    def log(self, build_id: str) -> str:
        """The logs of every job of the build, joined (Igor's ``getLog``)."""
        data = self.api.get_json(f"/build/{quote(build_id, safe='')}/jobs", f"jobs of build {build_id}")
        texts = []
        for job in data.get("jobs") or []:
            if not isinstance(job, Mapping) or job.get("id") is None:
                continue
            entry = self.api.get_json(f"/job/{job['id']}/log", f"log of job {job['id']}")
            if isinstance(entry.get("content"), str):
                texts.append(entry["content"])
        return "\n".join(texts)

    def properties(self, job: str, build: CiBuild, file_name: str | None) -> JSON:
        """Igor's ``getBuildProperties`` for Travis: the ``SPINNAKER_`` lines of the build's log
        (``file_name`` is not used: Travis keeps no files)."""
        return extract_properties(self.log(build.id))

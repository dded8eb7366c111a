"""A stand-in GitLab for the REST API v4 parts Igor's GitLab CI uses (no GitLab here), driven by the real
client (``integrations/ci/gitlab.py`` over python-gitlab).

``PRIVATE-TOKEN: <token>`` (401 ``{"message": "401 Unauthorized"}`` otherwise); projects by id or by
URL-encoded path (``group%2Fapp``), in memory:

- ``GET /api/v4/projects?membership&owned`` (``path_with_namespace``, ``builds_access_level``),
  ``GET /api/v4/projects/:id``;
- ``GET .../pipelines?ref&source&per_page&order_by=id&sort=desc`` (GitLab's short pipeline form);
- ``POST .../pipeline`` ``{ref, variables: [{key, value, variable_type}]}``: 400 ``Reference not found``
  for an unknown ref, else 201 with the pipeline (``source: api``), ``created`` then ``running``, then
  finished with the project's ``conclusion`` after ``pipeline_polls`` reads of ``GET .../pipelines/:id``
  (never while ``hold``; :meth:`finish` ends it);
- ``POST .../pipelines/:id/cancel`` (200 with the pipeline; a finished one unchanged);
- ``GET .../pipelines/:id/jobs``, ``.../bridges`` (child pipelines), ``GET .../jobs/:id/trace`` (the log)
  and ``GET .../jobs/:id/artifacts/<path>`` (one file out of the job's archive, 404 when it has none).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .standin import JSON, Answer, StandIn

PROJECT = r"/api/v4/projects/(?P<pid>[^/]+)"
FINISHED = ("success", "failed", "canceled", "skipped")


@dataclass
class CiJob:
    id: int
    name: str
    #: file path → content inside the job's artifacts archive
    files: dict[str, bytes] = field(default_factory=dict)
    log: str = ""


@dataclass
class Pipeline:
    id: int
    project: GitLabProject
    ref: str
    source: str
    status: str = "created"
    variables: dict[str, str] = field(default_factory=dict)
    reads: int = 0
    jobs: list[CiJob] = field(default_factory=list)
    children: list[Pipeline] = field(default_factory=list)


@dataclass
class GitLabProject:
    id: int
    path: str
    default_branch: str = "main"
    branches: set[str] = field(default_factory=lambda: {"main"})
    builds_access_level: str = "enabled"
    pipeline_polls: int = 1
    hold: bool = False
    conclusion: str = "success"
    #: what each pipeline's one job leaves: files in its artifacts archive, its log
    files: dict[str, bytes] = field(default_factory=dict)
    log: str = "$ make\n"
    pipelines: list[Pipeline] = field(default_factory=list)


@dataclass
class GitLabStandIn(StandIn):
    token: str = "glpat-standin-secret-token"
    projects: dict[str, GitLabProject] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._project_ids = itertools.count(40)
        self._ids = itertools.count(1000)
        self.route("GET", "/api/v4/projects", self._list_projects)
        self.route("GET", PROJECT, self._project)
        self.route("GET", f"{PROJECT}/pipelines", self._pipelines)
        self.route("POST", f"{PROJECT}/pipeline", self._create)
        self.route("GET", f"{PROJECT}/pipelines/(?P<plid>\\d+)", self._pipeline)
        self.route("POST", f"{PROJECT}/pipelines/(?P<plid>\\d+)/cancel", self._cancel)
        self.route("GET", f"{PROJECT}/pipelines/(?P<plid>\\d+)/jobs", self._jobs)
        self.route("GET", f"{PROJECT}/pipelines/(?P<plid>\\d+)/bridges", self._bridges)
        self.route("GET", f"{PROJECT}/jobs/(?P<jid>\\d+)/trace", self._trace)
        self.route("GET", f"{PROJECT}/jobs/(?P<jid>\\d+)/artifacts/(?P<file>.+)", self._artifact)

    def authorized(self, headers: dict[str, str]) -> Answer | None:
        if headers.get("private-token") != self.token:
            return 401, {"message": "401 Unauthorized"}, {}
        return None

    # -- test helpers

    def add_project(self, path: str, **kw: Any) -> GitLabProject:
        project = self.projects[path] = GitLabProject(next(self._project_ids), path, **kw)
        return project

    def add_pipeline(
        self,
        path: str,
        status: str = "success",
        ref: str = "main",
        source: str = "push",
        files: dict[str, bytes] | None = None,
    ) -> Pipeline:
        """A pipeline made outside any stage (a push), in ``status``; its job keeps ``files``."""
        project = self.projects[path]
        pipeline = self._new_pipeline(project, ref, source, {})
        pipeline.status = status
        pipeline.jobs[0].files.update(files or {})
        return pipeline

    def finish(self, path: str, pipeline_id: int, status: str = "success") -> None:
        for pipeline in self.projects[path].pipelines:
            if pipeline.id == pipeline_id:
                pipeline.status = status

    def pipeline(self, path: str, pipeline_id: int) -> Pipeline:
        return next(p for p in self.projects[path].pipelines if p.id == pipeline_id)

    # -- internals

    def _new_pipeline(self, project: GitLabProject, ref: str, source: str, variables: dict[str, str]) -> Pipeline:
        pipeline = Pipeline(next(self._ids), project, ref, source, variables=variables)
        pipeline.jobs.append(CiJob(next(self._ids), "build", dict(project.files), project.log))
        project.pipelines.append(pipeline)
        return pipeline

    def _find(self, pid: str) -> GitLabProject | None:
        return self.projects.get(pid) or next((p for p in self.projects.values() if str(p.id) == pid), None)

    def _find_pipeline(self, pid: str, plid: str) -> Pipeline | None:
        project = self._find(pid)
        every = [c for p in project.pipelines for c in (p, *p.children)] if project else []
        return next((p for p in every if p.id == int(plid)), None)

    @staticmethod
    def _time(pipeline: Pipeline) -> str:
        created = datetime(2026, 12, 6, 5, 0, tzinfo=UTC) + timedelta(seconds=pipeline.id)
        return created.isoformat().replace("+00:00", "Z")

    def _short(self, pipeline: Pipeline) -> JSON:
        return {
            "id": pipeline.id,
            "iid": pipeline.project.pipelines.index(pipeline) + 1 if pipeline in pipeline.project.pipelines else 1,
            "project_id": pipeline.project.id,
            "sha": f"{pipeline.id:040x}",
            "ref": pipeline.ref,
            "status": pipeline.status,
            "source": pipeline.source,
            "created_at": self._time(pipeline),
            "updated_at": self._time(pipeline),
            "web_url": f"https://gitlab.example.com/{pipeline.project.path}/-/pipelines/{pipeline.id}",
        }

    def _detail(self, pipeline: Pipeline) -> JSON:
        finished = pipeline.status in FINISHED
        return {
            **self._short(pipeline),
            "tag": False,
            "started_at": self._time(pipeline),
            "finished_at": self._time(pipeline) if finished else None,
            "duration": 42 if finished else None,
            "user": {"username": "ann"},
        }

    def _project_json(self, project: GitLabProject) -> JSON:
        return {
            "id": project.id,
            "path_with_namespace": project.path,
            "default_branch": project.default_branch,
            "builds_access_level": project.builds_access_level,
            "web_url": f"https://gitlab.example.com/{project.path}",
        }

    def _list_projects(self, query: dict[str, str], **_: Any) -> Answer:
        return 200, [self._project_json(p) for p in self.projects.values()], {}

    def _project(self, pid: str, **_: Any) -> Answer:
        project = self._find(pid)
        if project is None:
            return 404, {"message": "404 Project Not Found"}, {}
        return 200, self._project_json(project), {}

    def _pipelines(self, pid: str, query: dict[str, str], **_: Any) -> Answer:
        project = self._find(pid)
        if project is None:
            return 404, {"message": "404 Project Not Found"}, {}
        found = [
            p
            for p in sorted(project.pipelines, key=lambda p: p.id, reverse=query.get("sort", "desc") == "desc")
            if (not query.get("ref") or p.ref == query["ref"])
            and (not query.get("source") or p.source == query["source"])
        ]
        per_page = int(query.get("per_page") or 20)
        return 200, [self._short(p) for p in found[:per_page]], {}

    def _create(self, pid: str, body: Any, **_: Any) -> Answer:
        project = self._find(pid)
        if project is None:
            return 404, {"message": "404 Project Not Found"}, {}
        ref = body.get("ref") if isinstance(body, dict) else None
        if not isinstance(ref, str) or ref not in project.branches:
            return 400, {"message": {"base": ["Reference not found"]}}, {}
        variables = {str(v["key"]): str(v["value"]) for v in (body.get("variables") or [])}
        pipeline = self._new_pipeline(project, ref, "api", variables)
        return 201, self._detail(pipeline), {}

    def _pipeline(self, pid: str, plid: str, **_: Any) -> Answer:
        pipeline = self._find_pipeline(pid, plid)
        if pipeline is None:
            return 404, {"message": "404 Not found"}, {}
        project = pipeline.project
        if pipeline.status not in FINISHED and pipeline.source == "api":
            pipeline.reads += 1
            pipeline.status = "running"
            if not project.hold and pipeline.reads > project.pipeline_polls:
                pipeline.status = project.conclusion
        return 200, self._detail(pipeline), {}

    def _cancel(self, pid: str, plid: str, **_: Any) -> Answer:
        pipeline = self._find_pipeline(pid, plid)
        if pipeline is None:
            return 404, {"message": "404 Not found"}, {}
        if pipeline.status not in FINISHED:
            pipeline.status = "canceled"
        return 200, self._detail(pipeline), {}

    def _jobs(self, pid: str, plid: str, **_: Any) -> Answer:
        pipeline = self._find_pipeline(pid, plid)
        if pipeline is None:
            return 404, {"message": "404 Not found"}, {}
        jobs = []
        for job in pipeline.jobs:
            entry: JSON = {"id": job.id, "name": job.name, "status": pipeline.status, "ref": pipeline.ref}
            entry["artifacts"] = (
                [{"file_type": "archive", "size": 100, "filename": "artifacts.zip", "file_format": "zip"}]
                if job.files
                else []
            )
            if job.files:
                entry["artifacts_file"] = {"filename": "artifacts.zip", "size": 100}
            jobs.append(entry)
        return 200, jobs, {}

    def _bridges(self, pid: str, plid: str, **_: Any) -> Answer:
        pipeline = self._find_pipeline(pid, plid)
        if pipeline is None:
            return 404, {"message": "404 Not found"}, {}
        bridges = [
            {"id": next(self._ids), "name": "child", "downstream_pipeline": self._short(child)}
            for child in pipeline.children
        ]
        return 200, bridges, {}

    def _ci_job(self, pid: str, jid: str) -> CiJob | None:
        project = self._find(pid)
        every = [c for p in project.pipelines for c in (p, *p.children)] if project else []
        return next((j for p in every for j in p.jobs if j.id == int(jid)), None)

    def _trace(self, pid: str, jid: str, **_: Any) -> Answer:
        job = self._ci_job(pid, jid)
        if job is None:
            return 404, {"message": "404 Not found"}, {}
        return 200, job.log.encode(), {"Content-Type": "text/plain"}

    def _artifact(self, pid: str, jid: str, file: str, **_: Any) -> Answer:
        job = self._ci_job(pid, jid)
        if job is None or file not in job.files:
            return 404, {"message": "404 Not Found"}, {}
        return 200, job.files[file], {"Content-Type": "application/octet-stream"}

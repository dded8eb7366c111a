"""A stand-in GitHub for the Actions REST API (no GitHub here), driven by the real client
(``integrations/ci/github_actions.py`` over httpx).

``Authorization: Bearer <token>`` (401 "Bad credentials" otherwise); repositories with workflows, in memory:

- ``GET /repos/{o}/{r}`` (``default_branch``), ``GET .../actions/workflows``;
- ``GET .../actions/workflows/{file or id}/runs?branch&event&per_page`` (``workflow_runs``, newest first);
- ``POST .../actions/workflows/{wf}/dispatches`` ``{ref, inputs, return_run_details}``: 422 for an unknown
  ref, an undeclared input or a missing required one; 204, or 200 with ``workflow_run_id`` when the stand-in
  ``returns_run_details`` (GitHub's newer answer); the run is queued, then in progress, then completed
  after ``run_polls`` reads of ``GET .../actions/runs/{id}`` (or when :meth:`finish` is called, ``hold``);
- ``POST .../actions/runs/{id}/cancel`` (202; 409 once completed);
- ``GET .../actions/runs/{id}/artifacts``; ``GET .../actions/artifacts/{id}/zip`` answers 302 to a
  short-lived ``/blob/...`` URL that serves the zip (as GitHub redirects to its blob storage).
"""

from __future__ import annotations

import io
import itertools
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .standin import JSON, Answer, StandIn

REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


@dataclass
class Workflow:
    id: int
    path: str
    inputs: dict[str, bool] = field(default_factory=dict)  # name → required
    run_polls: int = 1
    hold: bool = False
    conclusion: str = "success"
    #: file name → content, uploaded as artifact ``artifact_name`` when a run completes
    files: dict[str, bytes] = field(default_factory=dict)
    artifact_name: str = "build-info"


@dataclass
class Run:
    id: int
    run_number: int
    repo: str
    workflow: Workflow
    branch: str
    event: str
    status: str = "queued"
    conclusion: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    reads: int = 0
    artifacts: list[tuple[int, str, bytes]] = field(default_factory=list)


@dataclass
class GitHubRepo:
    full_name: str
    default_branch: str = "main"
    branches: set[str] = field(default_factory=lambda: {"main"})
    workflows: dict[str, Workflow] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)


@dataclass
class GitHubStandIn(StandIn):
    token: str = "ghp_standin-secret-token"
    returns_run_details: bool = False
    repos: dict[str, GitHubRepo] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ids = itertools.count(5000)
        self.route("GET", REPO, self._repo)
        self.route("GET", f"{REPO}/actions/workflows", self._workflows)
        self.route("GET", f"{REPO}/actions/workflows/(?P<wf>[^/]+)/runs", self._runs)
        self.route("POST", f"{REPO}/actions/workflows/(?P<wf>[^/]+)/dispatches", self._dispatch)
        self.route("GET", f"{REPO}/actions/runs/(?P<rid>\\d+)", self._run)
        self.route("POST", f"{REPO}/actions/runs/(?P<rid>\\d+)/cancel", self._cancel)
        self.route("GET", f"{REPO}/actions/runs/(?P<rid>\\d+)/artifacts", self._artifacts)
        self.route("GET", f"{REPO}/actions/artifacts/(?P<aid>\\d+)/zip", self._zip)
        self.route("GET", "/blob/(?P<key>[^/]+)", self._blob)

    def authorized(self, headers: dict[str, str]) -> Answer | None:
        return None  # checked per route: blob URLs are pre-signed and take no token

    def _auth(self, headers: dict[str, str]) -> Answer | None:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, {}
        return None

    # -- test helpers

    def add_repo(self, full_name: str, **kw: Any) -> GitHubRepo:
        repo = self.repos[full_name] = GitHubRepo(full_name, **kw)
        return repo

    def add_workflow(self, full_name: str, file: str, **kw: Any) -> Workflow:
        workflow = Workflow(next(self._ids), f".github/workflows/{file}", **kw)
        self.repos[full_name].workflows[file] = workflow
        return workflow

    def add_run(
        self, full_name: str, file: str, conclusion: str | None = "success", branch: str = "main", event: str = "push"
    ) -> Run:
        """A run made outside any test dispatch (a push), completed with ``conclusion`` (None: in progress)."""
        run = self._new_run(self.repos[full_name], self.repos[full_name].workflows[file], branch, event, {})
        if conclusion is None:
            run.status = "in_progress"
        else:
            self._complete(run, conclusion)
        return run

    def finish(self, full_name: str, run_id: int, conclusion: str = "success") -> None:
        for run in self.repos[full_name].runs:
            if run.id == run_id:
                self._complete(run, conclusion)

    # -- internals

    def _new_run(self, repo: GitHubRepo, workflow: Workflow, branch: str, event: str, inputs: dict[str, str]) -> Run:
        number = 1 + sum(1 for r in repo.runs if r.workflow is workflow)
        run = Run(next(self._ids), number, repo.full_name, workflow, branch, event, inputs=inputs)
        repo.runs.append(run)
        return run

    def _complete(self, run: Run, conclusion: str) -> None:
        run.status, run.conclusion = "completed", conclusion
        if run.workflow.files and not run.artifacts:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for name, content in run.workflow.files.items():
                    archive.writestr(name, content)
            run.artifacts.append((next(self._ids), run.workflow.artifact_name, buffer.getvalue()))

    def _workflow(self, repo: GitHubRepo, wf: str) -> Workflow | None:
        return repo.workflows.get(wf) or next((w for w in repo.workflows.values() if str(w.id) == wf), None)

    def _json(self, run: Run) -> JSON:
        created = datetime(2026, 12, 6, 5, 0, tzinfo=UTC) + timedelta(seconds=run.run_number)
        updated = created + timedelta(seconds=30)
        return {
            "id": run.id,
            "name": run.workflow.path.rsplit("/", 1)[-1],
            "run_number": run.run_number,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow.id,
            "head_branch": run.branch,
            "head_sha": f"{run.id:040x}",
            "display_title": "a commit",
            "html_url": f"https://github.com/{run.repo}/actions/runs/{run.id}",
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "run_started_at": created.isoformat().replace("+00:00", "Z"),
            "updated_at": updated.isoformat().replace("+00:00", "Z"),
            "head_commit": {"id": f"{run.id:040x}", "message": "a commit"},
            "repository": {"full_name": run.repo, "html_url": f"https://github.com/{run.repo}"},
        }

    def _find(self, owner: str, name: str, rid: str) -> Run | None:
        repo = self.repos.get(f"{owner}/{name}")
        return next((r for r in repo.runs if r.id == int(rid)), None) if repo else None

    def _repo(self, owner: str, name: str, headers: dict[str, str], **_: Any) -> Answer:
        if (refused := self._auth(headers)) is not None:
            return refused
        repo = self.repos.get(f"{owner}/{name}")
        if repo is None:
            return 404, {"message": "Not Found"}, {}
        return 200, {"full_name": repo.full_name, "default_branch": repo.default_branch}, {}

    def _workflows(self, owner: str, name: str, headers: dict[str, str], **_: Any) -> Answer:
        if (refused := self._auth(headers)) is not None:
            return refused
        repo = self.repos.get(f"{owner}/{name}")
        if repo is None:
            return 404, {"message": "Not Found"}, {}
        flows = [{"id": w.id, "path": w.path, "state": "active"} for w in repo.workflows.values()]
        return 200, {"total_count": len(flows), "workflows": flows}, {}

    def _runs(self, owner: str, name: str, wf: str, query: dict[str, str], headers: dict[str, str], **_: Any) -> Answer:
        if (refused := self._auth(headers)) is not None:
            return refused
        repo = self.repos.get(f"{owner}/{name}")
        workflow = self._workflow(repo, wf) if repo else None
        if repo is None or workflow is None:
            return 404, {"message": "Not Found"}, {}
        runs = [
            r
            for r in reversed(repo.runs)
            if r.workflow is workflow
            and (not query.get("branch") or r.branch == query["branch"])
            and (not query.get("event") or r.event == query["event"])
        ]
        per_page = int(query.get("per_page") or 30)
        return 200, {"total_count": len(runs), "workflow_runs": [self._json(r) for r in runs[:per_page]]}, {}

    def _dispatch(self, owner: str, name: str, wf: str, body: Any, headers: dict[str, str], **_: Any) -> Answer:
        if (refused := self._auth(headers)) is not None:
            return refused
        repo = self.repos.get(f"{owner}/{name}")
        workflow = self._workflow(repo, wf) if repo else None
        if repo is None or workflow is None:
            return 404, {"message": "Not Found"}, {}
        ref = body.get("ref") if isinstance(body, dict) else None
        inputs = body.get("inputs") or {} if isinstance(body, dict) else {}
        if not isinstance(ref, str) or ref.removeprefix("refs/heads/").removeprefix("refs/tags/") not in repo.branches:
            return 422, {"message": f"No ref found for: {ref}"}, {}
        unexpected = sorted(set(inputs) - set(workflow.inputs))
        if unexpected:
            return 422, {"message": f"Unexpected inputs provided: {unexpected}"}, {}
        missing = sorted(k for k, required in workflow.inputs.items() if required and k not in inputs)
        if missing:
            return 422, {"message": f"Required input '{missing[0]}' not provided"}, {}
        run = self._new_run(repo, workflow, ref, "workflow_dispatch", {str(k): str(v) for k, v in inputs.items()})
        if self.returns_run_details and body.get("return_run_details") is True:
            return (
                200,
                {
                    "workflow_run_id": run.id,
                    "run_url": f"/repos/{repo.full_name}/actions/runs/{run.id}",
                    "html_url": f"https://github.com/{repo.full_name}/actions/runs/{run.id}",
                },
                {},
            )
        return 204, None, {}

    def _run(self, owner: str, name: str, rid: str, headers: dict[str, str], **_: Any) -> Answer:
        if (refused := self._auth(headers)) is not None:
            return refused
        run = self._find(owner, name, rid)
        if run is None:
            return 404, {"message": "Not Found"}, {}
        if run.status != "completed" and run.event == "workflow_dispatch":
            run.reads += 1
            run.status = "in_progress"
            if not run.workflow.hold and run.reads > run.workflow.run_polls:
                self._complete(run, run.workflow.conclusion)
        return 200, self._json(run), {}

    def _cancel(self, owner: str, name: str, rid: str, headers: dict[str, str], **_: Any) -> Answer:
        if (refused := self._auth(headers)) is not None:
            return refused
        run = self._find(owner, name, rid)
        if run is None:
            return 404, {"message": "Not Found"}, {}
        if run.status == "completed":
            return 409, {"message": "Cannot cancel a workflow run that is completed."}, {}
        run.status, run.conclusion = "completed", "cancelled"
        return 202, {}, {}

    def _artifacts(self, owner: str, name: str, rid: str, headers: dict[str, str], **_: Any) -> Answer:
        if (refused := self._auth(headers)) is not None:
            return refused
        run = self._find(owner, name, rid)
        if run is None:
            return 404, {"message": "Not Found"}, {}
        found = [
            {
                "id": aid,
                "name": label,
                "size_in_bytes": len(data),
                "expired": False,
                "archive_download_url": f"{self.url}/repos/{run.repo}/actions/artifacts/{aid}/zip",
            }
            for aid, label, data in run.artifacts
        ]
        return 200, {"total_count": len(found), "artifacts": found}, {}

    def _zip(self, owner: str, name: str, aid: str, headers: dict[str, str], **_: Any) -> Answer:
        if (refused := self._auth(headers)) is not None:
            return refused
        repo = self.repos.get(f"{owner}/{name}")
        for run in repo.runs if repo else []:
            for artifact_id, _label, data in run.artifacts:
                if artifact_id == int(aid):
                    key = secrets.token_hex(8)
                    self.blobs[key] = data
                    return 302, None, {"Location": f"{self.url}/blob/{key}?sig=presigned"}
        return 404, {"message": "Not Found"}, {}

    def _blob(self, key: str, **_: Any) -> Answer:
        data = self.blobs.pop(key, None)
        if data is None:
            return 404, {"message": "blob not found"}, {}
        return 200, data, {"Content-Type": "application/zip"}

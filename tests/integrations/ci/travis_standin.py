"""A stand-in Travis CI speaking API v3 (no Travis can run here), driven by the real client
(``integrations/ci/travis.py`` over httpx).

It checks ``Travis-API-Version: 3`` (400 without) and ``Authorization: token <t>`` (403 otherwise, as Travis
answers a bad token), and keeps repositories and builds in memory:

- ``GET /repos`` (``repositories``), ``GET /repo/{slug}`` (``default_branch``; slugs URL-encoded, 404 unknown);
- ``GET /repo/{slug}/builds?limit&branch.name`` (newest first, ``build.commit`` included);
- ``POST /repo/{slug}/requests`` (``{"request": {branch, message, config}}`` → 202 ``pending`` with the
  request id; the build appears after ``request_polls`` reads of the request);
- ``GET /repo/{slug}/request/{id}`` (``builds`` once there); ``GET /build/{id}``: a started build finishes
  after ``build_polls`` reads with the scripted state, or when :meth:`finish` is called (``hold``);
- ``POST /build/{id}/cancel`` (202; 409 once finished); ``GET /build/{id}/jobs``; ``GET /job/{id}/log``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .standin import JSON, Answer, StandIn


@dataclass
class TravisScript:
    request_polls: int = 0
    build_polls: int = 1
    hold: bool = False
    state: str = "passed"
    log: str = "Done. Your build exited with 0.\n"


@dataclass
class TravisBuild:
    id: int
    number: int
    slug: str
    branch: str
    state: str
    event_type: str
    message: str
    log: str
    script: TravisScript
    env: str | None = None
    reads: int = 0
    job_id: int = 0
    tag: bool = False
    #: Travis' ``log_complete``: sent only when asked for with ``include=build.log_complete``
    log_complete: bool = True


@dataclass
class TravisRepo:
    id: int
    slug: str
    default_branch: str = "main"
    active: bool = True
    script: TravisScript = field(default_factory=TravisScript)
    builds: list[TravisBuild] = field(default_factory=list)
    next_number: int = 1


@dataclass
class TravisStandIn(StandIn):
    token: str = "travis-token-secret"
    repos: dict[str, TravisRepo] = field(default_factory=dict)
    requests: dict[int, tuple[TravisRepo, JSON, int, TravisBuild | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ids = itertools.count(1000)
        slug = r"(?P<slug>[^/]+(?:%2[Ff][^/]+)?)"
        self.route("GET", "/repos", self._list_repos)
        self.route("GET", f"/repo/{slug}", self._repo)
        self.route("GET", f"/repo/{slug}/builds", self._builds)
        self.route("POST", f"/repo/{slug}/requests", self._request)
        self.route("GET", f"/repo/{slug}/request/(?P<rid>\\d+)", self._read_request)
        self.route("GET", r"/build/(?P<bid>\d+)", self._build)
        self.route("POST", r"/build/(?P<bid>\d+)/cancel", self._cancel)
        self.route("GET", r"/build/(?P<bid>\d+)/jobs", self._jobs)
        self.route("GET", r"/job/(?P<jid>\d+)/log", self._log)

    def authorized(self, headers: dict[str, str]) -> Answer | None:
        if headers.get("travis-api-version") != "3":
            return 400, {"@type": "error", "error_type": "wrong_api_version", "error_message": "API v3 only"}, {}
        if headers.get("authorization") != f"token {self.token}":
            return 403, {"@type": "error", "error_type": "login_required", "error_message": "login required"}, {}
        return None

    # -- test helpers

    def add_repo(self, slug: str, **kw: Any) -> TravisRepo:
        repo = self.repos[slug] = TravisRepo(next(self._ids), slug, **kw)
        return repo

    def add_build(
        self,
        slug: str,
        state: str = "passed",
        branch: str = "main",
        *,
        log: str = "",
        event_type: str = "push",
        message: str = "a commit",
    ) -> TravisBuild:
        """A build made outside any test request (a push), already in ``state``."""
        repo = self.repos[slug]
        build = self._new_build(repo, branch, event_type, message, log=log)
        build.state = state
        return build

    def finish(self, slug: str, number: int, state: str = "passed") -> None:
        for build in self.repos[slug].builds:
            if build.number == number:
                build.state = state

    def build_by_number(self, slug: str, number: int) -> TravisBuild:
        return next(b for b in self.repos[slug].builds if b.number == number)

    # -- internals

    def _new_build(self, repo: TravisRepo, branch: str, event_type: str, message: str, log: str = "") -> TravisBuild:
        build = TravisBuild(
            id=next(self._ids),
            number=repo.next_number,
            slug=repo.slug,
            branch=branch,
            state="created",
            event_type=event_type,
            message=message,
            log=log or repo.script.log,
            script=repo.script,
            job_id=next(self._ids),
        )
        repo.next_number += 1
        repo.builds.append(build)
        return build

    def _repo_or_404(self, slug: str) -> TravisRepo | None:
        return self.repos.get(slug)

    def _json(self, build: TravisBuild, include: str = "") -> JSON:
        stamp = datetime(2026, 12, 6, 5, 0, build.number % 60, tzinfo=UTC).isoformat().replace("+00:00", "Z")
        finished = build.state in ("passed", "failed", "errored", "canceled")
        return {
            "@type": "build",
            "id": build.id,
            "number": str(build.number),
            "state": build.state,
            "duration": 42 if finished else None,
            "event_type": build.event_type,
            "started_at": stamp if build.state != "created" else None,
            "finished_at": stamp if finished else None,
            "tag": {"name": build.branch} if build.tag else None,
            "branch": {"@type": "branch", "name": build.branch},
            "commit": {
                "@type": "commit",
                "sha": f"{build.id:040x}",
                "ref": f"refs/heads/{build.branch}",
                "message": build.message,
            },
            "repository": {"@type": "repository", "id": self.repos[build.slug].id, "slug": build.slug},
            "jobs": [{"@type": "job", "id": build.job_id}],
        } | ({"log_complete": build.log_complete} if "build.log_complete" in include else {})

    def _find(self, bid: str) -> TravisBuild | None:
        for repo in self.repos.values():
            for build in repo.builds:
                if build.id == int(bid):
                    return build
        return None

    def _list_repos(self, query: dict[str, str], **_: Any) -> Answer:
        repos = [r for r in self.repos.values() if r.active or query.get("repository.active") != "true"]
        limit = int(query.get("limit") or 25)
        return 200, {"@type": "repositories", "repositories": [{"id": r.id, "slug": r.slug} for r in repos][:limit]}, {}

    def _repo(self, slug: str, **_: Any) -> Answer:
        repo = self._repo_or_404(slug)
        if repo is None:
            return 404, {"@type": "error", "error_type": "not_found", "error_message": "repository not found"}, {}
        return (
            200,
            {
                "@type": "repository",
                "id": repo.id,
                "slug": repo.slug,
                "default_branch": {"@type": "branch", "name": repo.default_branch},
            },
            {},
        )

    def _builds(self, slug: str, query: dict[str, str], **_: Any) -> Answer:
        repo = self._repo_or_404(slug)
        if repo is None:
            return 404, {"@type": "error", "error_type": "not_found", "error_message": "repository not found"}, {}
        builds = [b for b in reversed(repo.builds) if not query.get("branch.name") or b.branch == query["branch.name"]]
        limit = int(query.get("limit") or 25)
        builds_json = [self._json(b, query.get("include", "")) for b in builds[:limit]]
        return 200, {"@type": "builds", "builds": builds_json}, {}

    def _request(self, slug: str, body: Any, **_: Any) -> Answer:
        repo = self._repo_or_404(slug)
        if repo is None:
            return 404, {"@type": "error", "error_type": "not_found", "error_message": "repository not found"}, {}
        request = body.get("request") if isinstance(body, dict) else None
        if not isinstance(request, dict) or not request.get("branch"):
            return 400, {"@type": "error", "error_type": "wrong_params", "error_message": "branch required"}, {}
        rid = next(self._ids)
        self.requests[rid] = (repo, request, 0, None)
        if repo.script.request_polls == 0:
            self._make_build(rid)
        return (
            202,
            {
                "@type": "pending",
                "remaining_requests": 9,
                "repository": {"id": repo.id, "slug": repo.slug},
                "request": {"id": rid, "branch": request["branch"], "message": request.get("message")},
                "resource_type": "request",
            },
            {},
        )

    def _make_build(self, rid: int) -> None:
        repo, request, reads, _ = self.requests[rid]
        build = self._new_build(repo, request["branch"], "api", str(request.get("message") or ""))
        config = request.get("config")
        env = config.get("env") if isinstance(config, dict) else None
        build.env = env.get("matrix") if isinstance(env, dict) else None
        build.state = "started"
        self.requests[rid] = (repo, request, reads, build)

    def _read_request(self, slug: str, rid: str, **_: Any) -> Answer:
        if int(rid) not in self.requests:
            return 404, {"@type": "error", "error_type": "not_found", "error_message": "request not found"}, {}
        repo, request, reads, build = self.requests[int(rid)]
        self.requests[int(rid)] = (repo, request, reads + 1, build)
        if build is None and reads + 1 >= repo.script.request_polls:
            self._make_build(int(rid))
            build = self.requests[int(rid)][3]
        return (
            200,
            {
                "@type": "request",
                "id": int(rid),
                "state": "finished" if build else "pending",
                "result": "approved",
                "builds": [self._json(build)] if build else [],
            },
            {},
        )

    def _build(self, bid: str, query: dict[str, str], **_: Any) -> Answer:
        build = self._find(bid)
        if build is None:
            return 404, {"@type": "error", "error_type": "not_found", "error_message": "build not found"}, {}
        if build.state in ("created", "started") and build.event_type == "api":
            build.reads += 1
            if not build.script.hold and build.reads > build.script.build_polls:
                build.state = build.script.state
        return 200, self._json(build, query.get("include", "")), {}

    def _cancel(self, bid: str, **_: Any) -> Answer:
        build = self._find(bid)
        if build is None:
            return 404, {"@type": "error", "error_type": "not_found", "error_message": "build not found"}, {}
        if build.state not in ("created", "started"):
            return 409, {"@type": "error", "error_type": "cant_cancel", "error_message": "build not cancelable"}, {}
        build.state = "canceled"
        return 202, {"@type": "pending", "build": {"id": build.id}, "state_change": "cancel"}, {}

    def _jobs(self, bid: str, **_: Any) -> Answer:
        build = self._find(bid)
        if build is None:
            return 404, {"@type": "error", "error_type": "not_found", "error_message": "build not found"}, {}
        return 200, {"@type": "jobs", "jobs": [{"@type": "job", "id": build.job_id}]}, {}

    def _log(self, jid: str, **_: Any) -> Answer:
        for repo in self.repos.values():
            for build in repo.builds:
                if build.job_id == int(jid):
                    return 200, {"@type": "log", "id": int(jid), "content": build.log}, {}
        return 404, {"@type": "error", "error_type": "not_found", "error_message": "log not found"}, {}

"""A stand-in Jenkins for tests (no real Jenkins can run here), driven by the real python-jenkins client.

It speaks the REST API python-jenkins calls (the paths of ``jenkins/__init__.py``), with Jenkins'
JSON shapes and status codes, and keeps its state in memory:

- ``crumbIssuer/api/json`` (404 when CSRF protection is off); with it on, every POST needs the crumb
  of its web session (the ``JSESSIONID`` cookie) in ``Jenkins-Crumb``, else 403 "No valid crumb";
- HTTP basic auth: unknown users or wrong tokens get 401; users in ``readers`` get 403 on POSTs;
- ``api/json`` (the job tree, folders nested), ``me/api/json``, ``queue/api/json``;
- ``job/{a}/job/{b}/api/json`` (job or folder), ``.../build`` and ``.../buildWithParameters`` (201 and a
  ``Location`` of the queue item; undefined parameters dropped; an identical waiting item is reused,
  as Jenkins' queue does; 409 for a disabled job, 400 for ``build`` on a parameterized one);
- ``queue/item/{n}/api/json``: a ``WaitingItem`` for the job's ``queue_polls`` reads, then a
  ``LeftItem`` with ``executable`` (the build starts then); ``queue/cancelItem?id=n``;
- ``job/.../{n}/api/json``: building for ``build_polls`` reads (or until stopped or released when
  ``hold``), then the scripted result with artifacts, git data and test counts;
  ``.../{n}/consoleText`` (a line per read while building; ``console_delay`` trickles it);
  ``.../{n}/artifact/{path}``; ``.../{n}/stop`` (ABORTED).

Switches: :meth:`JenkinsStandIn.fail_next` answers matching requests with an error status,
:meth:`JenkinsStandIn.drop_next` does the work of a matching request and then hangs up without
answering (a lost answer), :meth:`JenkinsStandIn.expire_crumbs` forgets every session.
:attr:`JenkinsStandIn.calls` records what was asked.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

JSON = dict[str, Any]
CRUMB_FIELD = "Jenkins-Crumb"
RESULT_COLORS = {
    "SUCCESS": "blue",
    "UNSTABLE": "yellow",
    "FAILURE": "red",
    "ABORTED": "aborted",
    "NOT_BUILT": "notbuilt",
}


@dataclass
class Param:
    """A job parameter definition (``StringParameterDefinition``, ``ChoiceParameterDefinition``...)."""

    name: str
    type: str = "StringParameterDefinition"
    default: Any = ""
    choices: list[str] | None = None
    description: str = ""


@dataclass
class Script:
    """How builds of a job behave."""

    queue_polls: int = 0
    #: no queue wait at all: the build starts as the request to start it is answered
    starts_at_once: bool = False
    build_polls: int = 0
    hold: bool = False
    result: str = "SUCCESS"
    #: relativePath → content, archived when the build ends
    artifacts: dict[str, bytes] = field(default_factory=dict)
    console: list[str] = field(default_factory=lambda: ["Started by user\n", "Building...\n"])
    console_delay: float = 0.0
    duration_ms: int = 4321
    git: JSON | None = None
    tests: JSON | None = None


@dataclass
class Job:
    full_name: str
    params: list[Param] = field(default_factory=list)
    script: Script = field(default_factory=Script)
    buildable: bool = True
    description: str = ""
    next_build_number: int = 1
    runs: list[Build] = field(default_factory=list)

    @property
    def short_name(self) -> str:
        return self.full_name.rsplit("/", 1)[-1]


@dataclass
class QueueItem:
    id: int
    job: Job
    params: dict[str, Any]
    user: str
    since_ms: int
    reads: int = 0
    build: Build | None = None
    cancelled: bool = False


@dataclass
class Build:
    job: Job
    number: int
    queue_id: int
    params: dict[str, Any]
    user: str
    script: Script
    started_ms: int
    reads: int = 0
    stopped: bool = False
    released: bool = False
    description: str | None = None

    @property
    def building(self) -> bool:
        if self.stopped or self.released:
            return False
        return self.script.hold or self.reads <= self.script.build_polls

    @property
    def result(self) -> str | None:
        if self.stopped:
            return "ABORTED"
        return None if self.building else self.script.result


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    user: str | None
    crumb: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Switch:
    method: str
    pattern: re.Pattern[str]
    count: int
    status: int = 0
    drop: bool = False
    delay: float = 0.0


class JenkinsStandIn:
    """A Jenkins master on 127.0.0.1 (a free port). Use as a context manager, or ``start``/``stop``."""

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        readers: set[str] | None = None,
        csrf: bool = True,
        anonymous_read: bool = False,
        prefix: str = "",
    ) -> None:
        self.users = dict(users if users is not None else {"spinnaker": "s3cret-token"})
        self.readers = set(readers or ())
        self.csrf = csrf
        self.anonymous_read = anonymous_read
        self.prefix = prefix.strip("/")
        self.jobs: dict[str, Job] = {}
        self.queue: dict[int, QueueItem] = {}
        self.calls: list[Call] = []
        self.lock = threading.RLock()
        self._queue_ids = itertools.count(100)
        self._sessions: dict[str, str] = {}  # session id → crumb
        self._switches: list[_Switch] = []
        self._server: ThreadingHTTPServer | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self) -> JenkinsStandIn:
        standin = self

        class Handler(_Handler):
            jenkins = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="jenkins-standin", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> JenkinsStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        root = f"http://127.0.0.1:{self._server.server_address[1]}/"
        return root + (self.prefix + "/" if self.prefix else "")

    # ---- test helpers ------------------------------------------------------------------------------

    def add_job(self, full_name: str, *params: Param, **kw: Any) -> Job:
        job = Job(full_name, list(params), **kw)
        with self.lock:
            self.jobs[full_name] = job
        return job

    def fail_next(self, method: str, path_regex: str, status: int, count: int = 1, delay: float = 0.0) -> None:
        """Answer the next ``count`` requests matching ``path_regex`` (a full match) with ``status``."""
        with self.lock:
            self._switches.append(_Switch(method, re.compile(path_regex), count, status=status, delay=delay))

    def drop_next(self, method: str, path_regex: str, count: int = 1) -> None:
        """Do the work of the next matching requests, then hang up without answering."""
        with self.lock:
            self._switches.append(_Switch(method, re.compile(path_regex), count, drop=True))

    def delay_next(self, method: str, path_regex: str, seconds: float, count: int = 1) -> None:
        """Answer the next matching requests only after ``seconds``."""
        with self.lock:
            self._switches.append(_Switch(method, re.compile(path_regex), count, delay=seconds))

    def expire_crumbs(self) -> None:
        with self.lock:
            self._sessions.clear()

    def builds(self, job: str) -> list[Build]:
        with self.lock:
            found = self.jobs.get(job)
            return list(found.runs) if found is not None else []

    def build(self, job: str, number: int) -> Build:
        return next(b for b in self.builds(job) if b.number == number)

    def items(self, job: str) -> list[QueueItem]:
        with self.lock:
            return [item for item in self.queue.values() if item.job.full_name == job]

    def posts(self, suffix: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == "POST" and c.path.endswith(suffix)]

    def forget_queue_item(self, queue_id: int) -> None:
        """Drop a queue item, as Jenkins does some minutes after it left the queue."""
        with self.lock:
            del self.queue[queue_id]

    def leave_queue(self, queue_id: int) -> Build:
        """Start the build of a waiting queue item now."""
        with self.lock:
            item = self.queue[queue_id]
            if item.build is None:
                self._start(item)
            assert item.build is not None
            return item.build

    def add_build(
        self, job: str, result: str = "SUCCESS", *, building: bool = False, artifacts: dict[str, bytes] | None = None
    ) -> Build:
        """A build of ``job`` that ran without Spinnaker (a push, a timer, a user): finished with ``result``,
        or still ``building`` until :meth:`release` (then it ends with ``result``)."""
        with self.lock:
            found = self.jobs[job]
            script = Script(result=result, hold=building, artifacts=dict(artifacts or {}))
            build = Build(found, found.next_build_number, next(self._queue_ids), {}, "anonymous", script, _now_ms())
            build.released = not building
            found.runs.append(build)
            found.next_build_number += 1
            return build

    def release(self, job: str, number: int) -> None:
        """Let a held build finish with its scripted result."""
        with self.lock:
            self.build(job, number).released = True

    # ---- JSON shapes -------------------------------------------------------------------------------

    def job_url(self, job: Job) -> str:
        return self.url + "".join(f"job/{quote(p)}/" for p in job.full_name.split("/"))

    def build_url(self, build: Build) -> str:
        return f"{self.job_url(build.job)}{build.number}/"

    def _param_values(self, job: Job, given: dict[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for param in job.params:
            value = given.get(param.name, param.default)
            if param.type == "BooleanParameterDefinition":
                value = str(value).lower() == "true"
            values[param.name] = value
        return values

    def _actions(self, job: Job, params: dict[str, Any], user: str) -> list[JSON]:
        actions: list[JSON] = []
        if job.params:
            shown = []
            for param in job.params:
                entry: JSON = {
                    "_class": f"hudson.model.{param.type.replace('Definition', 'Value')}",
                    "name": param.name,
                }
                if param.type != "PasswordParameterDefinition":
                    entry["value"] = params.get(param.name)
                shown.append(entry)
            actions.append({"_class": "hudson.model.ParametersAction", "parameters": shown})
        cause = {
            "_class": "hudson.model.Cause$UserIdCause",
            "shortDescription": f"Started by user {user}",
            "userId": None if user == "anonymous" else user,
            "userName": user,
        }
        actions.append({"_class": "hudson.model.CauseAction", "causes": [cause]})
        return actions

    def _queue_json(self, item: QueueItem) -> JSON:
        data: JSON = {
            "actions": self._actions(item.job, item.params, item.user),
            "blocked": False,
            "buildable": False,
            "id": item.id,
            "inQueueSince": item.since_ms,
            "params": "".join(f"\n{k}={v}" for k, v in item.params.items()),
            "stuck": False,
            "task": {
                "_class": "hudson.model.FreeStyleProject",
                "name": item.job.short_name,
                "url": self.job_url(item.job),
                "color": "blue",
            },
            "url": f"queue/item/{item.id}/",
        }
        if item.build is None and not item.cancelled:
            data.update({"_class": "hudson.model.Queue$WaitingItem", "why": "Waiting for next available executor"})
            data["timestamp"] = item.since_ms
        else:
            data["_class"] = "hudson.model.Queue$LeftItem"
            data["cancelled"] = item.cancelled
            data["executable"] = (
                {
                    "_class": "hudson.model.FreeStyleBuild",
                    "number": item.build.number,
                    "url": self.build_url(item.build),
                }
                if item.build is not None
                else None
            )
        return data

    def _build_json(self, build: Build, console_lines: int | None = None) -> JSON:
        done = not build.building
        actions = self._actions(build.job, build.params, build.user)
        if build.script.git:
            git = build.script.git
            revision = {"SHA1": git["sha1"], "branch": [{"SHA1": git["sha1"], "name": git["branch"]}]}
            actions.append(
                {
                    "_class": "hudson.plugins.git.util.BuildData",
                    "buildsByBranchName": {git["branch"]: {"buildNumber": build.number, "revision": revision}},
                    "lastBuiltRevision": revision,
                    "remoteUrls": [git["remote"]],
                    "scmName": "",
                }
            )
        if done and build.script.tests:
            actions.append(
                {"_class": "hudson.tasks.junit.TestResultAction", "urlName": "testReport", **build.script.tests}
            )
        artifacts = []
        if done and not build.stopped:
            for path in build.script.artifacts:
                name = path.rsplit("/", 1)[-1]
                artifacts.append({"displayPath": name, "fileName": name, "relativePath": path})
        short = " » ".join(build.job.full_name.split("/"))
        return {
            "_class": "hudson.model.FreeStyleBuild",
            "actions": actions,
            "artifacts": artifacts,
            "building": build.building,
            "description": build.description,
            "displayName": f"#{build.number}",
            "duration": build.script.duration_ms if done else 0,
            "estimatedDuration": build.script.duration_ms,
            "executor": None if done else {"_class": "hudson.model.OneOffExecutor"},
            "fullDisplayName": f"{short} #{build.number}",
            "id": str(build.number),
            "keepLog": False,
            "number": build.number,
            "queueId": build.queue_id,
            "result": build.result,
            "timestamp": build.started_ms,
            "url": self.build_url(build),
            "builtOn": "",
            "changeSet": {"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": None},
            "culprits": [],
        }

    def _job_json(self, job: Job, full_builds: bool) -> JSON:
        found = sorted(self.builds(job.full_name), key=lambda b: -b.number)
        last = found[0] if found else None
        color = (
            "disabled"
            if not job.buildable
            else RESULT_COLORS.get(last.result or "", "notbuilt")
            if last
            else "notbuilt"
        )
        builds = [
            self._build_json(b)
            if full_builds
            else {"_class": "hudson.model.FreeStyleBuild", "number": b.number, "url": self.build_url(b)}
            for b in found[:100]
        ]

        def ref(b: Build | None) -> JSON | None:
            return (
                {"_class": "hudson.model.FreeStyleBuild", "number": b.number, "url": self.build_url(b)} if b else None
            )

        properties: list[JSON] = []
        if job.params:
            definitions = []
            for param in job.params:
                definition: JSON = {
                    "_class": f"hudson.model.{param.type}",
                    "defaultParameterValue": {
                        "_class": f"hudson.model.{param.type.replace('Definition', 'Value')}",
                        "name": param.name,
                        "value": param.default,
                    },
                    "description": param.description,
                    "name": param.name,
                    "type": param.type,
                }
                if param.choices is not None:
                    definition["choices"] = list(param.choices)
                definitions.append(definition)
            properties.append(
                {"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": definitions}
            )
        waiting = [i for i in self.items(job.full_name) if i.build is None and not i.cancelled]
        return {
            "_class": "hudson.model.FreeStyleProject",
            "actions": [{}],
            "description": job.description,
            "displayName": job.short_name,
            "fullDisplayName": " » ".join(job.full_name.split("/")),
            "fullName": job.full_name,
            "name": job.short_name,
            "url": self.job_url(job),
            "buildable": job.buildable,
            "builds": builds,
            "color": color,
            "firstBuild": ref(found[-1] if found else None),
            "lastBuild": ref(last),
            "lastCompletedBuild": ref(next((b for b in found if not b.building), None)),
            "inQueue": bool(waiting),
            "queueItem": self._queue_json(waiting[0]) if waiting else None,
            "keepDependencies": False,
            "nextBuildNumber": job.next_build_number,
            "property": properties,
            "concurrentBuild": False,
            "upstreamProjects": [],
            "downstreamProjects": [],
        }

    def _tree(self, prefix: str, last_build: bool = False) -> list[JSON]:
        """The items directly in folder ``prefix`` ("" for the root), folders holding their items; with
        ``last_build`` (a ``tree`` query asking for it, as Igor's does) each job's ``lastBuild``."""
        items: dict[str, JSON] = {}
        for name in sorted(self.jobs):
            if prefix and not name.startswith(prefix + "/"):
                continue
            rest = name[len(prefix) + 1 :] if prefix else name
            head = rest.split("/", 1)[0]
            path = f"{prefix}/{head}" if prefix else head
            if "/" in rest:
                items.setdefault(
                    head,
                    {
                        "_class": "com.cloudbees.hudson.plugins.folder.Folder",
                        "name": head,
                        "url": self.url + "".join(f"job/{quote(p)}/" for p in path.split("/")),
                        "jobs": self._tree(path, last_build),
                    },
                )
            else:
                job = self.jobs[name]
                items[head] = {
                    "_class": "hudson.model.FreeStyleProject",
                    "name": head,
                    "url": self.job_url(job),
                    "color": "blue" if job.buildable else "disabled",
                }
                if last_build:
                    found = max(job.runs, key=lambda b: b.number, default=None)
                    items[head]["lastBuild"] = (
                        None
                        if found is None
                        else {
                            "_class": "hudson.model.FreeStyleBuild",
                            "number": found.number,
                            "timestamp": found.started_ms,
                            "duration": found.script.duration_ms if not found.building else 0,
                            "building": found.building,
                            "result": found.result,
                            "url": self.build_url(found),
                        }
                    )
        return list(items.values())

    # ---- request handling (called by the handler, under the lock) ------------------------------------

    def switch_for(self, method: str, path: str) -> _Switch | None:
        for switch in self._switches:
            if switch.count > 0 and switch.method == method and switch.pattern.fullmatch(path):
                switch.count -= 1
                return switch
        return None

    def handle(
        self, request: _Handler, method: str, path: str, query: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """Answer one request: (status, body, headers); body is JSON data, text or bytes."""
        user = request.user
        if path == "crumbIssuer/api/json" and method == "GET":
            if not self.csrf:
                return 404, "Not Found", {}
            session = request.session or secrets.token_hex(8)
            crumb = self._sessions.setdefault(session, secrets.token_hex(16))
            headers = {"Set-Cookie": f"JSESSIONID.standin={session}; Path=/; HttpOnly"}
            body = {
                "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                "crumb": crumb,
                "crumbRequestField": CRUMB_FIELD,
            }
            return 200, body, headers
        if method == "POST":
            if user in self.readers:
                return 403, f"{user} is missing the Job/Build permission", {}
            if self.csrf and (not request.session or self._sessions.get(request.session) != request.crumb):
                return 403, "No valid crumb was included in the request", {}
        if path == "api/json" and method == "GET":
            tree = self._tree("", last_build="lastBuild[" in query.get("tree", ""))
            return 200, {"_class": "hudson.model.Hudson", "mode": "NORMAL", "jobs": tree}, {}
        if path in ("me/api/json", "whoAmI/api/json") and method == "GET":
            return (
                200,
                {"_class": "hudson.model.User", "id": user, "fullName": user, "absoluteUrl": f"{self.url}user/{user}"},
                {},
            )
        if path == "queue/api/json" and method == "GET":
            waiting = [self._queue_json(i) for i in self.queue.values() if i.build is None and not i.cancelled]
            return 200, {"_class": "hudson.model.Queue", "discoverableItems": [], "items": waiting}, {}
        if path == "queue/cancelItem" and method == "POST":
            item = self.queue.get(int(query.get("id", "0")))
            if item is not None and item.build is None:
                item.cancelled = True
            return 204, None, {}
        match = re.fullmatch(r"queue/item/(\d+)/api/json", path)
        if match and method == "GET":
            item = self.queue.get(int(match.group(1)))
            if item is None:
                return 404, "Not Found", {}
            item.reads += 1
            if item.build is None and not item.cancelled and item.reads > item.job.script.queue_polls:
                self._start(item)
            return 200, self._queue_json(item), {}
        if path.startswith("job/"):
            return self._job_request(method, path, query, user)
        return 404, "Not Found", {}

    def _start(self, item: QueueItem) -> None:
        job = item.job
        item.build = Build(job, job.next_build_number, item.id, item.params, item.user, job.script, _now_ms())
        job.runs.append(item.build)
        job.next_build_number += 1

    def _job_request(self, method: str, path: str, query: dict[str, str], user: str) -> tuple[int, Any, dict[str, str]]:
        parts = path.split("/")
        names: list[str] = []
        while len(parts) >= 2 and parts[0] == "job":
            names.append(unquote(parts[1]))
            parts = parts[2:]
        full = "/".join(names)
        rest = "/".join(parts)
        job = self.jobs.get(full)
        if job is None:
            if rest == "api/json" and method == "GET" and any(n.startswith(full + "/") for n in self.jobs):
                folder = {"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": names[-1], "fullName": full}
                return 200, {**folder, "jobs": self._tree(full)}, {}
            return 404, "Not Found", {}
        if rest == "api/json" and method == "GET":
            return 200, self._job_json(job, full_builds="builds[" in query.get("tree", "")), {}
        if rest in ("build", "buildWithParameters") and method == "POST":
            return self._schedule(job, rest, query, user)
        match = re.fullmatch(r"(\d+)(?:/(.*))?", rest)
        build = None
        if match:
            build = next((b for b in self.builds(full) if b.number == int(match.group(1))), None)
        if build is None or match is None:
            return 404, "Not Found", {}
        tail = match.group(2) or ""
        if tail == "api/json" and method == "GET":
            build.reads += 1
            return 200, self._build_json(build), {}
        if tail == "consoleText" and method == "GET":
            lines = build.script.console if not build.building else build.script.console[: build.reads + 1]
            end = [] if build.building else [f"Finished: {build.result}\n"]
            return 200, ConsoleBody([*lines, *end], build.script.console_delay), {}
        if tail == "stop" and method == "POST":
            if build.building:
                build.stopped = True
            return 302, None, {"Location": self.build_url(build)}
        if tail == "" and method == "GET":
            return 200, f"<html><body>{full} #{build.number}</body></html>", {"Content-Type": "text/html"}
        if tail.startswith("artifact/") and method == "GET":
            relative = unquote(tail[len("artifact/") :])
            if build.building or relative not in build.script.artifacts:
                return 404, "Not Found", {}
            return 200, build.script.artifacts[relative], {"Content-Type": "application/octet-stream"}
        if tail == "submitDescription" and method == "POST":
            build.description = query.get("description")
            return 200, None, {}
        return 404, "Not Found", {}

    def _schedule(self, job: Job, kind: str, query: dict[str, str], user: str) -> tuple[int, Any, dict[str, str]]:
        if not job.buildable:
            return 409, f"{job.full_name} is not buildable", {}
        if kind == "build" and job.params:
            return 400, "Nothing is submitted", {}
        if kind == "buildWithParameters" and not job.params:
            return 500, "java.lang.IllegalStateException: This build is not parameterized!", {}
        params = self._param_values(job, query)
        for item in self.queue.values():  # Jenkins' queue keeps one waiting item per job and parameters
            if item.job is job and item.build is None and not item.cancelled and item.params == params:
                return 201, None, {"Location": f"{self.url}queue/item/{item.id}/"}
        item = QueueItem(next(self._queue_ids), job, params, user, _now_ms())
        self.queue[item.id] = item
        if job.script.starts_at_once:
            self._start(item)
        return 201, None, {"Location": f"{self.url}queue/item/{item.id}/"}


@dataclass
class ConsoleBody:
    """A console log sent a line at a time, ``delay`` seconds apart (a slow console)."""

    lines: list[str]
    delay: float


def _now_ms() -> int:
    return int(time.time() * 1000)


class _Handler(BaseHTTPRequestHandler):
    jenkins: JenkinsStandIn
    protocol_version = "HTTP/1.1"
    #: headers and body go out in separate writes: without this, Nagle and delayed ACKs cost 40 ms each
    disable_nagle_algorithm = True
    user = "anonymous"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    # -- helpers

    @property
    def session(self) -> str | None:
        match = re.search(r"JSESSIONID\.standin=([0-9a-f]+)", self.headers.get("Cookie") or "")
        return match.group(1) if match else None

    @property
    def crumb(self) -> str | None:
        return self.headers.get(CRUMB_FIELD)

    def _authenticate(self) -> str | None:
        """The user name, "anonymous", or None when the credentials are wrong."""
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return "anonymous"
        try:
            name, _, token = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        return name if self.jenkins.users.get(name) == token else None

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = parts.path.lstrip("/")
        prefix = self.jenkins.prefix
        if prefix:
            if not (path == prefix or path.startswith(prefix + "/")):
                return self._send(404, "Not Found", {})
            path = path[len(prefix) :].lstrip("/")
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if body and "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            query.update({k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()})
        path = path.rstrip("/") if path not in ("", "/") else path
        user = self._authenticate()
        self.user = user or "anonymous"
        jenkins = self.jenkins
        with jenkins.lock:
            jenkins.calls.append(Call(method, path, query, user, self.crumb))
            switch = jenkins.switch_for(method, path)
        if switch is not None and switch.delay:
            time.sleep(switch.delay)
        if switch is not None and switch.status:
            return self._send(switch.status, f"stand-in error {switch.status}", {})
        if user is None or (user == "anonymous" and jenkins.users and not (jenkins.anonymous_read and method == "GET")):
            return self._send(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="Jenkins"'})
        with jenkins.lock:
            status, data, headers = jenkins.handle(self, method, path, query)
        if switch is not None and switch.drop:
            self.close_connection = True  # the work is done; the answer is lost
            return None
        return self._send(status, data, headers)

    def _send(self, status: int, data: Any, headers: dict[str, str]) -> None:
        if isinstance(data, ConsoleBody):
            chunks = [line.encode() for line in data.lines]
            self.send_response(status)
            self.send_header("Content-Type", "text/plain;charset=UTF-8")
            self.send_header("Content-Length", str(sum(len(c) for c in chunks)))
            self.end_headers()
            for chunk in chunks:
                try:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                except OSError:
                    return
                if data.delay:
                    time.sleep(data.delay)
            return
        if isinstance(data, (dict, list)):
            payload = json.dumps(data).encode()
            headers = {"Content-Type": "application/json;charset=utf-8", **headers}
        elif isinstance(data, bytes):
            payload = data
        elif data is None:
            payload = b""
        else:
            payload = str(data).encode()
            headers = {"Content-Type": "text/plain;charset=UTF-8", **headers}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

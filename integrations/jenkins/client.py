"""Jenkins masters through python-jenkins: one :class:`JenkinsClient` per master, and
:class:`JenkinsMasters`, the registry the worker and the API build from the settings.

The client is the transport boundary: every python-jenkins and requests error leaves it as a
:class:`~integrations.jenkins.errors.JenkinsError`, and every answer leaves it as plain JSON. It adds
what python-jenkins leaves to its callers: a required crumb (``csrf: true``), one retry with a fresh
crumb when Jenkins refuses a stale one, Igor's checks before starting a job, and finding a build
again by its queue item or by what it was started with.

python-jenkins keeps per-instance state (the crumb, a ``requests`` session) without locks, so each
thread gets its own instance; :meth:`JenkinsClient.close` closes them all.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from core.errors import ConfigError
from core.settings.jenkins import JenkinsMaster

from . import builds
from .errors import (
    JenkinsAuthError,
    JenkinsConfigError,
    JenkinsError,
    JenkinsNotFoundError,
    JenkinsRequestError,
    JenkinsResponseError,
    JenkinsUnreachableError,
)
from .properties import parse_property_file

JSON = dict[str, Any]
T = TypeVar("T")

#: what Jenkins' ``api/json`` is asked for when a job's builds are listed (its newest 100)
BUILDS_TREE = (
    "?tree=builds[number,url,duration,timestamp,result,building,fullDisplayName,queueId,"
    "actions[parameters[name,value],causes[userId],failCount,skipCount,totalCount,urlName]]"
)
#: Igor's ``getProjects``: every job with its last build, folders down to this depth
JOB_TREE_DEPTH = 10
_LAST_BUILD = "name,lastBuild[number,timestamp,duration,building,result,url]"
#: console text kept at most (the head of the log); Jenkins logs can be gigabytes
CONSOLE_MAX_BYTES = 1024 * 1024

_STATUS_IN_TEXT = re.compile(r"\[(\d{3})\]")


class UnknownMasterError(JenkinsNotFoundError):
    """No Jenkins master of that name is configured (Igor answers 404 "Master 'x' not found")."""


@dataclass(frozen=True)
class ConsoleText:
    """A build's console log, or its head when it is longer than asked for or too slow to read."""

    text: str
    complete: bool


@dataclass(frozen=True)
class StartedBuild:
    """A queue item (and, once it left the queue, the build) found in Jenkins."""

    queue_id: int
    build_number: int | None = None


def python_jenkins(*args: Any, **kwargs: Any) -> Any:
    """python-jenkins' ``Jenkins`` server object, the library imported on first use: a process without Jenkins
    masters never loads it (docs/architecture.md, "Footprint")."""
    import jenkins

    return jenkins.Jenkins(*args, **kwargs)


class JenkinsClient:
    """One Jenkins master. Methods return Jenkins' JSON (or Igor's shapes where named so) and raise
    :class:`JenkinsError` subclasses only."""

    def __init__(self, master: JenkinsMaster, factory: Callable[..., Any] | None = None) -> None:
        self.master = master
        self._factory = factory or python_jenkins
        self._local = threading.local()
        self._lock = threading.Lock()
        self._servers: list[Any] = []

    def __repr__(self) -> str:
        return f"JenkinsClient({self.master.name!r}, {self.master.address!r})"

    @property
    def name(self) -> str:
        return self.master.name

    def close(self) -> None:
        """Close every HTTP session this client opened (one per thread that used it)."""
        with self._lock:
            servers, self._servers = self._servers, []
        for server in servers:
            session = getattr(server, "_session", None)  # python-jenkins has no close() of its own
            if session is not None:
                session.close()
        self._local = threading.local()

    # ---- reads -------------------------------------------------------------------------------------

    def whoami(self) -> JSON:
        """Who Jenkins thinks we are (``me/api/json``): a cheap check of address and credentials."""
        return self._call("read the current user", lambda s: s.get_whoami())  # type: ignore[no-any-return]

    def job(self, job: str) -> JSON:
        """The job's ``api/json``: buildable, parameter definitions, ``nextBuildNumber``, recent builds."""
        name = builds.jenkins_job_name(job)
        return self._call(f"read job '{job}'", lambda s: s.get_job_info(name), missing=f"job '{job}'")  # type: ignore[no-any-return]

    def jobs(self) -> list[JSON]:
        """Every job and folder, recursively (python-jenkins' ``get_all_jobs``, with ``fullname``)."""
        return self._call("list jobs", lambda s: s.get_all_jobs())  # type: ignore[no-any-return]

    def job_tree(self) -> list[JSON]:
        """Igor's ``getProjects`` query: the root's jobs, each with its ``lastBuild`` (number, timestamp,
        building, result), folders holding theirs under ``jobs`` (to ``JOB_TREE_DEPTH`` levels)."""
        fields = _LAST_BUILD
        for _ in range(JOB_TREE_DEPTH - 1):
            fields = f"{_LAST_BUILD},jobs[{fields}]"
        found = self._call("list jobs and their last builds", lambda s: s.get_info(query=f"?tree=jobs[{fields}]"))
        return [j for j in found.get("jobs") or [] if isinstance(j, dict)]

    def builds(self, job: str) -> list[JSON]:
        """The job's newest builds (up to 100) with their parameters, causes and queue ids."""
        path = self._job_path(job, quoted=False)  # python-jenkins' get_info quotes it
        found = self._call(
            f"list builds of job '{job}'", lambda s: s.get_info(path, BUILDS_TREE), missing=f"job '{job}'"
        )
        return [b for b in found.get("builds") or [] if isinstance(b, dict)]

    def build(self, job: str, number: int) -> JSON:
        """The build's ``api/json``."""
        name = builds.jenkins_job_name(job)
        return self._call(  # type: ignore[no-any-return]
            f"read build {job} #{number}",
            lambda s: s.get_build_info(name, int(number)),
            missing=f"build {job} #{number}",
        )

    def queue_item(self, queue_id: int) -> JSON:
        """The queue item's ``api/json``: ``why`` while waiting, ``executable`` once it became a build."""
        return self._call(  # type: ignore[no-any-return]
            f"read queue item {queue_id}", lambda s: s.get_queue_item(int(queue_id)), missing=f"queue item {queue_id}"
        )

    def queue(self) -> list[JSON]:
        """Every item waiting in the queue."""
        return self._call("read the queue", lambda s: s.get_queue_info())  # type: ignore[no-any-return]

    def artifact(self, job: str, number: int, relative_path: str) -> bytes:
        """An archived file of the build, by its ``relativePath``."""
        name = builds.jenkins_job_name(job)
        return self._call(  # type: ignore[no-any-return]
            f"read artifact {relative_path} of {job} #{number}",
            lambda s: s.get_build_artifact_as_bytes(name, int(number), relative_path),
            missing=f"artifact '{relative_path}' of build {job} #{number}",
        )

    def console_text(
        self, job: str, number: int, *, max_bytes: int = CONSOLE_MAX_BYTES, max_seconds: float | None = None
    ) -> ConsoleText:
        """The build's console log (``consoleText``), read as a stream: at most ``max_bytes``, for at most
        ``max_seconds`` (default: the master's timeout). A log cut short comes back with ``complete=False``."""
        import requests
        import urllib3.exceptions

        url = f"{self.master.address}{self._job_path(job)}/{int(number)}/consoleText"
        deadline = time.monotonic() + (max_seconds if max_seconds is not None else self.master.timeout)
        what = f"read the console of {job} #{number}"
        response = self._call(
            what,
            lambda s: s.jenkins_request(requests.Request("GET", url), stream=True),
            missing=f"build {job} #{number}",
        )
        chunks: list[bytes] = []
        size, complete = 0, True
        try:
            while True:
                # read1 returns what has arrived (iter_content would wait for a whole chunk)
                chunk = response.raw.read1(64 * 1024, decode_content=True)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size >= max_bytes or time.monotonic() > deadline:
                    complete = False
                    break
        except (requests.RequestException, urllib3.exceptions.HTTPError) as err:
            raise self._translate(err, what, None) from None
        finally:
            response.close()
        data = b"".join(chunks)[:max_bytes]
        return ConsoleText(data.decode("utf-8", errors="replace"), complete and size <= max_bytes)

    # ---- writes ------------------------------------------------------------------------------------

    def start_build(self, job: str, parameters: dict[str, str] | None) -> int:
        """Queue a build (``build`` without parameters, else ``buildWithParameters``); returns the queue item id."""
        name = builds.jenkins_job_name(job)
        return self._call(  # type: ignore[no-any-return]
            f"start job '{job}'", lambda s: s.build_job(name, parameters or None), missing=f"job '{job}'", post=True
        )

    def stop_build(self, job: str, number: int) -> None:
        """Abort a running build (``stop``); stopping a finished build does nothing."""
        name = builds.jenkins_job_name(job)
        self._call(f"stop build {job} #{number}", lambda s: s.stop_build(name, int(number)), post=True)

    def cancel_queue_item(self, queue_id: int) -> None:
        """Take a waiting item out of the queue (Jenkins answers 404 here even when it worked)."""
        self._call(f"cancel queue item {queue_id}", lambda s: s.cancel_queue(int(queue_id)), post=True)

    # ---- Igor's operations -------------------------------------------------------------------------

    def start_job(self, job: str, parameters: dict[str, str]) -> int:
        """Igor's ``BuildController.build``: read the job, refuse a disabled one or a bad choice, send a
        parameterized job its parameters (or Igor's placeholder), a plain job none. Returns the queue id."""
        config = self.job(job)
        return self.start_build(job, builds.start_parameters(config, job, parameters))

    def build_number_of_queue_item(self, job: str, queue_id: int) -> int | None:
        """The build a queue item became, from the job's builds (for items Jenkins already forgot)."""
        for build in self.builds(job):
            if build.get("queueId") == queue_id and build.get("number") is not None:
                return int(build["number"])
        return None

    def find_started(self, job: str, parameters: dict[str, str], since_build_number: int) -> StartedBuild | None:
        """A build of ``job`` that a start with ``parameters`` may have made: a queue item of the job, or a
        build numbered ``since_build_number`` or later, with the same parameters and started by our
        user. The oldest match wins. Used after a start whose answer was lost."""
        job_name = builds.jenkins_job_name(job)
        user = self.master.username

        def ours(item: JSON) -> bool:
            causes = builds.started_by(item)
            if user and causes and user not in causes:
                return False
            return builds.same_parameters(parameters, builds.build_parameter_values(item))

        found = [
            b
            for b in self.builds(job)
            if isinstance(b.get("number"), int) and b["number"] >= since_build_number and ours(b)
        ]
        if found:
            oldest = min(found, key=lambda b: b["number"])
            if isinstance(oldest.get("queueId"), int):
                return StartedBuild(oldest["queueId"], oldest["number"])
        waiting = [
            item
            for item in self.queue()
            if _task_name(item) == job_name and isinstance(item.get("id"), int) and ours(item)
        ]
        if waiting:
            return StartedBuild(min(item["id"] for item in waiting))
        return None

    def property_file(self, job: str, number: int, file_name: str) -> JSON:
        """Igor's ``getBuildProperties``: the build's archived ``file_name`` (matched by file name, then by
        relative path), parsed by its extension. Raises :class:`JenkinsNotFoundError` with Igor's message
        when the build archived no such file, :class:`~.properties.PropertyFileError` when it is invalid."""
        build = self.build(job, number)
        path = None
        for key in ("fileName", "relativePath"):
            path = next(
                (a.get("relativePath") for a in build.get("artifacts") or [] if a.get(key) == file_name),
                None,
            )
            if path:
                break
        if not path:
            raise JenkinsNotFoundError(
                f"Could not find build artifact matching requested filename '{file_name}' "
                f"on '{self.name}/{job}' build {number}",
                status=404,
            )
        return parse_property_file(file_name, self.artifact(job, number, str(path)))

    # ---- plumbing ----------------------------------------------------------------------------------

    def _server(self) -> Any:
        server = getattr(self._local, "server", None)
        if server is None:
            try:
                token = self.master.token()
            except ConfigError as err:  # the settings' own error, in this client's tree
                raise JenkinsConfigError(str(err)) from None
            server = self._factory(
                self.master.address, username=self.master.username, password=token, timeout=self.master.timeout
            )
            if self.master.csrf is False:
                server.crumb = False  # python-jenkins' "this master issues no crumbs"
            with self._lock:
                self._servers.append(server)
            self._local.server = server
        return server

    def _job_path(self, job: str, *, quoted: bool = True) -> str:
        parts = [p for p in builds.jenkins_job_name(job).split("/") if p]
        return "job/" + "/job/".join(quote(p, safe="") if quoted else p for p in parts)

    def _require_crumb(self, server: Any) -> None:
        import requests

        if self.master.csrf is not True or server.crumb:
            return
        server.crumb = None
        server.maybe_add_crumb(requests.Request("GET", self.master.address))
        if not server.crumb:
            raise JenkinsConfigError(
                f"Jenkins master '{self.name}' issues no CSRF crumb (crumbIssuer), but its settings say csrf: true"
            )

    def _call(self, what: str, op: Callable[[Any], T], *, missing: str | None = None, post: bool = False) -> T:
        import jenkins

        try:
            server = self._server()
            if post:
                self._require_crumb(server)
            try:
                return op(server)
            except jenkins.JenkinsException as err:
                # a crumb belongs to a web session that Jenkins may have dropped: ask for a fresh one once
                if post and _status_of(err) == 403 and server.crumb:
                    server.crumb = None
                    return op(server)
                raise
        except JenkinsError:
            raise
        except Exception as err:  # noqa: BLE001 - every library error leaves as a JenkinsError
            raise self._translate(err, what, missing) from None

    def _translate(self, err: BaseException, what: str, missing: str | None) -> JenkinsError:
        import jenkins
        import requests

        where = f"Jenkins master '{self.name}'"
        if _never_connected(err):
            return JenkinsUnreachableError(f"{where} is unreachable: could not connect to {what}", maybe_sent=False)
        if isinstance(err, (jenkins.TimeoutException, requests.Timeout)):
            return JenkinsUnreachableError(f"{where} did not answer in {self.master.timeout:g}s when asked to {what}")
        if isinstance(err, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            return JenkinsUnreachableError(f"{where} dropped the connection when asked to {what}")
        status = _status_of(err)
        if status in (401, 403):
            user = f"user '{self.master.username}'" if self.master.username else "anonymous access"
            verb = "refused the credentials of" if status == 401 else "does not allow"
            return JenkinsAuthError(f"{where} {verb} {user} to {what} (HTTP {status})", status=status)
        if status == 404 or (status is None and isinstance(err, jenkins.NotFoundException)):
            thing = missing or "the requested item"
            return JenkinsNotFoundError(f"{where}: {thing} not found (HTTP 404)", status=404)
        if status is not None and (status >= 500 or status in (408, 429)):
            return JenkinsUnreachableError(f"{where} answered HTTP {status} when asked to {what}", status=status)
        if status is not None:
            return JenkinsRequestError(f"{where} refused to {what} (HTTP {status})", status=status)
        if isinstance(err, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
            return JenkinsConfigError(f"{where} has an invalid address")
        if isinstance(err, jenkins.EmptyResponseException):
            return JenkinsResponseError(f"{where} gave an empty answer when asked to {what}")
        return JenkinsResponseError(f"{where} gave an unreadable answer when asked to {what} ({type(err).__name__})")


def _status_of(err: BaseException) -> int | None:
    """The HTTP status behind a python-jenkins error: its cause chain holds the ``requests.HTTPError``."""
    import requests

    current: BaseException | None = err
    for _ in range(8):
        if current is None:
            break
        response = getattr(current, "response", None)
        if isinstance(current, requests.HTTPError) and response is not None:
            return int(response.status_code)
        current = current.__cause__ or current.__context__
    match = _STATUS_IN_TEXT.search(str(err))
    return int(match.group(1)) if match else None


def _never_connected(err: BaseException) -> bool:
    """Did the connection fail before anything was sent (refused, DNS, connect timeout)? python-jenkins
    wraps connect timeouts in its own TimeoutException, so the cause chain is searched."""
    import requests
    import urllib3.exceptions

    current: BaseException | None = err
    for _ in range(8):
        if current is None:
            return False
        if isinstance(current, requests.ConnectTimeout):
            return True
        if isinstance(current, requests.ConnectionError):
            reason = getattr(current.args[0], "reason", None) if current.args else None
            return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)
        current = current.__cause__ or current.__context__
    return False


def _task_name(item: JSON) -> str | None:
    """A queue item's job as python-jenkins names it (``folder/name``), from its task URL or name."""
    task = item.get("task")
    if not isinstance(task, dict):
        return None
    url = task.get("url")
    if isinstance(url, str) and "/job/" in url:
        parts = url.rstrip("/").split("/job/")[1:]
        return "/".join(unquote(p) for p in parts)
    name = task.get("name")
    return name if isinstance(name, str) else None


class JenkinsMasters:
    """Every configured master by name; Gate's builds endpoints in Igor's JSON shapes."""

    def __init__(self, masters: Iterable[JenkinsMaster], factory: Callable[..., Any] | None = None) -> None:
        self._clients = {m.name: JenkinsClient(m, factory) for m in masters}

    def __repr__(self) -> str:
        return f"JenkinsMasters({list(self._clients)})"

    def names(self) -> list[str]:
        """The masters' names, in settings order (Gate's ``/v3/builds``)."""
        return list(self._clients)

    def client(self, master: str) -> JenkinsClient:
        found = self._clients.get(master)
        if found is None:
            raise UnknownMasterError(f"Master '{master}' not found", status=404)
        return found

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def list_jobs(self, master: str) -> list[str]:
        """Igor's ``/jobs/{master}`` (Gate's ``/v3/builds/{master}/jobs``): job names, folders as ``a/job/b``."""
        return builds.job_names(self.client(master).jobs())

    def get_job_config(self, master: str, job: str) -> JSON:
        """Igor's ``JobConfig`` (Gate's ``/v3/builds/{master}/job?job=``)."""
        return builds.job_config(self.client(master).job(job))

    def list_builds(self, master: str, job: str) -> list[JSON]:
        """Igor's ``/builds/all/{master}/{job}`` (Gate's ``/v3/builds/{master}/builds?job=``), newest first."""
        return [builds.build_summary(b) for b in self.client(master).builds(job)]

    def get_build(self, master: str, job: str, number: int) -> JSON:
        """Igor's ``GenericBuild`` (Gate's ``/v3/builds/{master}/build/{number}?job=``): Orca's ``buildInfo``."""
        return builds.build_info(job, self.client(master).build(job, number))

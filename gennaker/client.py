"""The Python SDK client: Gate's REST API over httpx, as :class:`Client` (sync) and :class:`AsyncClient`.

::

    from gennaker import Client
    from gennaker.pipelines import Pipeline, Wait, ManualJudgment

    with Client("http://127.0.0.1:8084") as gate:
        gate.save_application("demo", email="team@example.com")
        gate.save_pipeline(Pipeline("deploy", application="demo", stages=[Wait(5), ManualJudgment("Approve")]))
        execution_id = gate.trigger("demo", "deploy", parameters={"env": "prod"})
        gate.judge(execution_id, "Approve", "continue")
        assert gate.wait(execution_id)["status"] == "SUCCEEDED"

Both clients share every operation: each is written once, as a generator that yields what it needs
(an HTTP call, a pause, an item for ``watch``) and receives the parsed response. ``Client`` drives
those generators with blocking httpx and ``time.sleep``; ``AsyncClient`` with ``httpx.AsyncClient``
and ``asyncio.sleep``. Errors are one tree rooted at :class:`GateError`, built from Gate's error body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from core.errors import SdkError

from ._version import __version__
from .templates_client import PipelineTemplatesMixin

__all__ = [
    "FINAL_STATUSES",
    "ApiConnectionError",
    "GateError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "NotFound",
]

Json = dict[str, Any]
FINAL_STATUSES = frozenset({"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE", "SKIPPED"})
DEFAULT_URL = "http://127.0.0.1:8084"
_STARTUP_GRACE = 5.0  # seconds an execution just started may still answer 404


# ---- errors ------------------------------------------------------------------------------------------------------


class GateError(SdkError):
    """An error answer from Gate (or, for :class:`ApiConnectionError`, no answer at all).

    ``status`` is the HTTP status (``None`` when there was no response), ``message`` Gate's message,
    ``field`` the request field at fault when Gate names one, ``body`` the whole error body.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        field: str | None = None,
        body: Any = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.body = body
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method and self.url else ""
        code = f"{self.status} " if self.status is not None else ""
        field = f" [field: {self.field}]" if self.field else ""
        return f"{code}{self.message}{field}{where}"


class BadRequest(GateError):
    """400: the request is invalid (a missing parameter, a malformed pipeline); see ``field``."""


class NotFound(GateError):
    """404: no such application, pipeline, execution or stage."""


class Conflict(GateError):
    """409: refused in the current state (stale config, execution not running, bad judgment)."""


class ApiConnectionError(GateError):
    """Gate could not be reached (refused, DNS, timeout): no HTTP response at all."""


_BY_STATUS: dict[int, type[GateError]] = {400: BadRequest, 404: NotFound, 409: Conflict}


# ---- the shared protocol: what an operation asks its driver for ---------------------------------------------------


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    has_body: bool = False


@dataclass(frozen=True)
class _Sleep:
    seconds: float


@dataclass(frozen=True)
class _Emit:
    item: Any


_Step = _Call | _Sleep | _Emit
_Op = Generator[_Step, Any, Any]


def _seg(value: str) -> str:
    """One path segment, percent-encoded (names may hold spaces or slashes)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return quote(value, safe="")


def _call(method: str, path: str, params: Mapping[str, Any] | None = None, **body: Any) -> _Call:
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    if "json" in body:
        return _Call(method, path, clean or None, body["json"], True)
    return _Call(method, path, clean or None)


def _build(http: httpx.Client | httpx.AsyncClient, call: _Call) -> httpx.Request:
    params = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in (call.params or {}).items()}
    if call.has_body:
        return http.build_request(call.method, call.path, params=params, json=call.json)
    return http.build_request(call.method, call.path, params=params)


def _parse(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer (``None`` when empty); a :class:`GateError` subclass otherwise."""
    request = response.request
    if response.is_success:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error") or response.reason_phrase)
        field = body.get("field")
    else:
        message = (str(body).strip() or response.reason_phrase)[:500]
        field = None
    cls = _BY_STATUS.get(response.status_code, GateError)
    raise cls(
        message,
        status=response.status_code,
        field=field if isinstance(field, str) else None,
        body=body,
        method=request.method,
        url=str(request.url),
    )


def _connection_error(exc: httpx.TransportError, base_url: str, request: httpx.Request) -> ApiConnectionError:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    detail = str(exc) or type(exc).__name__
    return ApiConnectionError(
        f"cannot reach Gate at {base_url}: {request.method} {request.url} {kind}: {detail}",
        method=request.method,
        url=str(request.url),
    )


def _ref_id(answer: Any) -> str:
    ref = answer.get("ref") if isinstance(answer, dict) else None
    if not isinstance(ref, str) or not ref:
        raise GateError(f"Gate's answer has no ref: {answer!r}")
    return ref.rstrip("/").rsplit("/", 1)[-1]


def _config_json(config: Any) -> Json:
    """A pipeline config as JSON: a dict as is, or a ``gennaker.pipelines.Pipeline`` (anything with ``to_json``)."""
    if isinstance(config, Mapping):
        return dict(config)
    to_json = getattr(config, "to_json", None)
    if callable(to_json):
        out = to_json()
        if isinstance(out, dict):
            return out
    raise TypeError(f"a pipeline config is a dict or a gennaker.pipelines.Pipeline, got {type(config).__name__}")


def _find_stage(execution: Json, stage: str) -> Json:
    """A stage by id, else by name, else by refId; a name shared by several stages must be an id."""
    stages = [s for s in execution.get("stages") or [] if isinstance(s, dict)]
    for s in stages:
        if s.get("id") == stage:
            return s
    named = [s for s in stages if s.get("name") == stage]
    if len(named) > 1:
        live = [s for s in named if s.get("status") not in FINAL_STATUSES]
        if len(live) == 1:
            return live[0]
        ids = ", ".join(str(s.get("id")) for s in named)
        raise ValueError(
            f"{len(named)} stages are named {stage!r} in execution {execution.get('id')}; use an id: {ids}"
        )
    if named:
        return named[0]
    for s in stages:
        if s.get("refId") == stage:
            return s
    names = ", ".join(repr(s.get("name")) for s in stages) or "none"
    raise NotFound(f"no stage {stage!r} in execution {execution.get('id')} (stages: {names})", status=None)


# ---- the operations, written once -----------------------------------------------------------------------------------


def _get_execution(execution_id: str, *, expand: bool = True) -> _Op:
    if expand:
        return (yield _call("GET", f"/pipelines/{_seg(execution_id)}"))
    found = yield _call("GET", "/executions", {"executionIds": execution_id, "expand": False})
    if not found:
        raise NotFound(f"no execution {execution_id}", status=404)
    return found[0]


def _poll_execution(execution_id: str, started: float) -> _Op:
    """The execution; a 404 within a few seconds of ``started`` is retried (its workflow may be starting)."""
    while True:
        try:
            return (yield from _get_execution(execution_id))
        except NotFound:
            if time.monotonic() - started > _STARTUP_GRACE:
                raise
        yield _Sleep(0.1)


def _wait(execution_id: str, timeout: float | None, poll: float) -> _Op:
    started = time.monotonic()
    while True:
        execution = yield from _poll_execution(execution_id, started)
        if execution.get("status") in FINAL_STATUSES:
            return execution
        if timeout is not None and time.monotonic() - started >= timeout:
            raise TimeoutError(f"execution {execution_id} is still {execution.get('status')} after {timeout:g}s")
        yield _Sleep(poll)


def _watch(execution_id: str, poll: float) -> _Op:
    """Emit ``{"execution", "stage", "stageId", "status"}`` for each new status; ``stage`` is ``None`` for the
    pipeline itself. Stage changes come before the pipeline's, so the last event is the final status."""
    seen: dict[str | None, str] = {}
    started = time.monotonic()
    while True:
        execution = yield from _poll_execution(execution_id, started)
        for stage in execution.get("stages") or []:
            key, status = stage.get("id"), stage.get("status")
            if status and seen.get(key) != status:
                seen[key] = status
                yield _Emit({"execution": execution, "stage": stage.get("name"), "stageId": key, "status": status})
        status = execution.get("status")
        if status and seen.get(None) != status:
            seen[None] = status
            yield _Emit({"execution": execution, "stage": None, "stageId": None, "status": status})
        if status in FINAL_STATUSES:
            return None
        yield _Sleep(poll)


def _task(body: Json) -> _Op:
    """POST /tasks and follow the task to its end; raise unless it SUCCEEDED."""
    task_id = _ref_id((yield _call("POST", "/tasks", json=body)))
    started = time.monotonic()
    while True:
        try:
            task = yield _call("GET", f"/tasks/{_seg(task_id)}")
        except NotFound:
            if time.monotonic() - started > _STARTUP_GRACE:
                raise
            task = {}
        status = task.get("status")
        if status in FINAL_STATUSES:
            if status != "SUCCEEDED":
                raise GateError(f"task {task_id} ({task.get('name')}) ended {status}", body=task)
            return task
        yield _Sleep(0.2)


def _save_application(name: str, email: str | None, attributes: Json) -> _Op:
    application = {"name": name, **({"email": email} if email is not None else {}), **attributes}
    job = {"type": "createApplication", "application": application, "user": attributes.get("user", "anonymous")}
    yield from _task({"application": name, "description": f"Create Application: {name}", "job": [job]})
    return (yield _call("GET", f"/applications/{_seg(name)}"))


def _delete_application(name: str) -> _Op:
    job = {"type": "deleteApplication", "application": {"name": name}}
    yield from _task({"application": name, "description": f"Delete Application: {name}", "job": [job]})
    return None


def _trigger(application: str, name_or_id: str, parameters: Mapping[str, Any] | None, fields: Json) -> _Op:
    body = {**fields, **({"parameters": dict(parameters)} if parameters is not None else {})}
    answer = yield _call("POST", f"/pipelines/{_seg(application)}/{_seg(name_or_id)}", json=body)
    return _ref_id(answer)


def _run(application: str, name_or_id: str, parameters: Mapping[str, Any] | None, timeout: float | None) -> _Op:
    execution_id = yield from _trigger(application, name_or_id, parameters, {})
    return (yield from _wait(execution_id, timeout, 0.5))


def _start(config: Any, parameters: Mapping[str, Any] | None) -> _Op:
    body = _config_json(config)
    if parameters is not None:
        body["trigger"] = {**(body.get("trigger") or {}), "parameters": dict(parameters)}
    return _ref_id((yield _call("POST", "/pipelines/start", json=body)))


def _stage_op(execution_id: str, stage: str, method: str, suffix: str, body: Any) -> _Op:
    execution = yield from _get_execution(execution_id)
    stage_id = _find_stage(execution, stage)["id"]
    return (yield _call(method, f"/pipelines/{_seg(execution_id)}/stages/{_seg(stage_id)}{suffix}", json=body))


def _judge(execution_id: str, stage: str, decision: str, input: str | None) -> _Op:
    if decision not in ("continue", "stop"):
        raise ValueError(f"decision must be 'continue' or 'stop', got {decision!r}")
    body: Json = {"judgmentStatus": decision}
    if input is not None:
        body["judgmentInput"] = input
    return (yield from _stage_op(execution_id, stage, "PATCH", "", body))


def _one(call: _Call) -> _Op:
    return (yield call)


class _Base(PipelineTemplatesMixin):
    """The operations both clients offer. Each returns what the driver (``_drive``) makes of the
    operation: the value for :class:`Client`, an awaitable of it for :class:`AsyncClient`."""

    base_url: str
    # the templates mixin builds its calls with these (it cannot import this module: that would be a cycle)
    _call = staticmethod(_call)
    _seg = staticmethod(_seg)

    def _drive(self, op: _Op) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _do(self, call: _Call) -> Any:
        return self._drive(_one(call))

    # -- meta
    def health(self) -> Any:
        """``GET /health``: ``{"status": "UP"}``."""
        return self._do(_call("GET", "/health"))

    def version(self) -> Any:
        """``GET /version``: ``{"version": ...}``."""
        return self._do(_call("GET", "/version"))

    # -- applications
    def applications(self) -> Any:
        """All applications (``list[dict]``)."""
        return self._do(_call("GET", "/applications"))

    def application(self, name: str) -> Any:
        """One application: ``{"name", "attributes", "clusters"}``; :class:`NotFound` if none."""
        return self._do(_call("GET", f"/applications/{_seg(name)}"))

    def save_application(self, name: str, email: str | None = None, **attributes: Any) -> Any:
        """Create or update an application (a ``createApplication`` task, followed to its end); returns it."""
        return self._drive(_save_application(name, email, attributes))

    def delete_application(self, name: str) -> Any:
        """Delete an application (a ``deleteApplication`` task); :class:`NotFound` if there is none."""
        return self._drive(_delete_application(name))

    # -- pipeline configs
    def pipelines(self, application: str) -> Any:
        """The application's pipeline configs (``list[dict]``)."""
        return self._do(_call("GET", f"/applications/{_seg(application)}/pipelineConfigs"))

    def pipeline(self, application: str, name: str) -> Any:
        """One pipeline config by name."""
        return self._do(_call("GET", f"/applications/{_seg(application)}/pipelineConfigs/{_seg(name)}"))

    def save_pipeline(self, config: Any, stale_check: bool = False) -> Any:
        """Save a pipeline config (a dict or a ``gennaker.pipelines.Pipeline``); returns the stored config,
        with its ``id``. ``stale_check`` makes Gate refuse (409) a save over a newer version."""
        return self._do(_call("POST", "/pipelines", {"staleCheck": stale_check}, json=_config_json(config)))

    def delete_pipeline(self, application: str, name: str) -> Any:
        """Delete a pipeline config by name."""
        return self._do(_call("DELETE", f"/pipelines/{_seg(application)}/{_seg(name)}"))

    def pipeline_history(self, pipeline_id: str, limit: int = 20) -> Any:
        """Saved versions of a pipeline config, newest first."""
        return self._do(_call("GET", f"/pipelineConfigs/{_seg(pipeline_id)}/history", {"limit": limit}))

    # -- executions
    def trigger(
        self, application: str, name_or_id: str, parameters: Mapping[str, Any] | None = None, **trigger_fields: Any
    ) -> Any:
        """Trigger a saved pipeline (by name or id); returns the execution id. ``trigger_fields`` go into the
        trigger as given (``type``, ``user``, ``artifacts``, ...)."""
        return self._drive(_trigger(application, name_or_id, parameters, trigger_fields))

    def start(self, config: Any, parameters: Mapping[str, Any] | None = None) -> Any:
        """Run a pipeline config without saving it (``POST /pipelines/start``); returns the execution id."""
        return self._drive(_start(config, parameters))

    def execution(self, execution_id: str, expand: bool = True) -> Any:
        """One execution; ``expand=False`` gives Gate's summary (no stage contexts or tasks)."""
        return self._drive(_get_execution(execution_id, expand=expand))

    def executions(
        self, application: str, limit: int = 5, statuses: str | list[str] | None = None, expand: bool = False
    ) -> Any:
        """The application's recent executions (``limit`` per pipeline config), optionally by status."""
        if statuses is not None and not isinstance(statuses, str):
            statuses = ",".join(statuses)
        params = {"limit": limit, "statuses": statuses or None, "expand": expand}
        return self._do(_call("GET", f"/applications/{_seg(application)}/pipelines", params))

    def wait(self, execution_id: str, timeout: float | None = None, poll: float = 0.5) -> Any:
        """Poll until the execution reaches a final status and return it; ``TimeoutError`` after ``timeout``."""
        return self._drive(_wait(execution_id, timeout, poll))

    def run(
        self,
        application: str,
        name_or_id: str,
        parameters: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Trigger a saved pipeline and wait for it; returns the finished execution."""
        return self._drive(_run(application, name_or_id, parameters, timeout))

    # -- acting on a running execution
    def judge(self, execution_id: str, stage: str, decision: str, input: str | None = None) -> Any:
        """Answer a manual judgment (``stage`` is its name or id): ``"continue"`` or ``"stop"``, with an optional
        chosen input. Returns the execution."""
        return self._drive(_judge(execution_id, stage, decision, input))

    def skip_wait(self, execution_id: str, stage: str) -> Any:
        """Skip the rest of a wait stage (by name or id). Returns the execution."""
        return self._drive(_stage_op(execution_id, stage, "PATCH", "", {"skipRemainingWait": True}))

    def restart(self, execution_id: str, stage: str) -> Any:
        """Restart a finished stage (by name or id) and what follows it. Returns the execution."""
        return self._drive(_stage_op(execution_id, stage, "PUT", "/restart", {}))

    def cancel(self, execution_id: str, reason: str | None = None) -> Any:
        """Cancel a running execution."""
        return self._do(_call("PUT", f"/pipelines/{_seg(execution_id)}/cancel", {"reason": reason}))

    def pause(self, execution_id: str) -> Any:
        """Pause a running execution."""
        return self._do(_call("PUT", f"/pipelines/{_seg(execution_id)}/pause"))

    def resume(self, execution_id: str) -> Any:
        """Resume a paused execution."""
        return self._do(_call("PUT", f"/pipelines/{_seg(execution_id)}/resume"))

    def delete_execution(self, execution_id: str) -> Any:
        """Delete a finished execution (409 while it runs)."""
        return self._do(_call("DELETE", f"/pipelines/{_seg(execution_id)}"))


def _headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {"Accept": "application/json", "User-Agent": f"gennaker-sdk/{__version__}", **(headers or {})}


class Client(_Base):
    """Gate's API, blocking. Use as a context manager, or call :meth:`close`.

    ``transport`` is an ``httpx.BaseTransport`` (e.g. ``httpx.MockTransport`` in tests)."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        timeout: float | None = 30,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers=_headers(headers), transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: _Call) -> Any:
        request = _build(self._http, call)
        try:
            response = self._http.send(request)
        except httpx.TransportError as exc:
            raise _connection_error(exc, self.base_url, request) from exc
        return _parse(response)

    def _steps(self, op: _Op) -> Generator[Any, None, Any]:
        """Run ``op``: perform its calls and sleeps, yield what it emits, and return its value."""
        try:
            step = next(op)
            while True:
                try:
                    if isinstance(step, _Call):
                        value = self._send(step)
                    elif isinstance(step, _Sleep):
                        time.sleep(step.seconds)
                        value = None
                    else:
                        yield step.item
                        value = None
                except GateError as exc:
                    step = op.throw(exc)
                    continue
                step = op.send(value)
        except StopIteration as stop:  # the op returned (PEP 479: must not escape this generator)
            return stop.value

    def _drive(self, op: _Op) -> Any:
        steps = self._steps(op)
        try:
            item = next(steps)
        except StopIteration as stop:
            return stop.value
        raise RuntimeError(f"operation emitted {item!r} outside watch")  # pragma: no cover

    def watch(self, execution_id: str, poll: float = 0.5) -> Iterator[Json]:
        """Yield ``{"execution", "stage", "stageId", "status"}`` for every stage and pipeline status change
        (``stage`` is ``None`` for the pipeline); ends after the pipeline's final status."""
        yield from self._steps(_watch(execution_id, poll))


class AsyncClient(_Base):
    """Gate's API for asyncio: every operation is a coroutine; :meth:`watch` is an async iterator.
    Use as ``async with``, or call :meth:`aclose`. ``transport`` is an ``httpx.AsyncBaseTransport``."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        timeout: float | None = 30,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, headers=_headers(headers), transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: _Call) -> Any:
        request = _build(self._http, call)
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            raise _connection_error(exc, self.base_url, request) from exc
        return _parse(response)

    async def _steps(self, op: _Op, sink: list[Any]) -> AsyncIterator[Any]:
        try:
            step = next(op)
            while True:
                try:
                    if isinstance(step, _Call):
                        value = await self._send(step)
                    elif isinstance(step, _Sleep):
                        await asyncio.sleep(step.seconds)
                        value = None
                    else:
                        yield step.item
                        value = None
                except GateError as exc:
                    step = op.throw(exc)
                    continue
                step = op.send(value)
        except StopIteration as stop:
            sink.append(stop.value)

    async def _drive(self, op: _Op) -> Any:  # type: ignore[override]
        result: list[Any] = []
        async for item in self._steps(op, result):
            raise RuntimeError(f"operation emitted {item!r} outside watch")  # pragma: no cover
        return result[0]

    async def watch(self, execution_id: str, poll: float = 0.5) -> AsyncIterator[Json]:
        """The async form of :meth:`Client.watch`."""
        async for item in self._steps(_watch(execution_id, poll), []):
            yield item

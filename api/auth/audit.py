"""The audit trail: who saved, triggered, cancelled or judged what, from where, and how it ended.

One ASGI middleware records every request whose route is in ``ACTIONS`` after the route has answered, so the
routes themselves stay as they are and refusals (401, 403, 400) are recorded as well as successes. It reads the
JSON request body only for the few names it keeps (application, pipeline name, judgment, task types) and the
trigger's answer only for the execution id; it never keeps a body, a header or a credential.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("gennaker.audit")
BODY_LIMIT = 1 << 20  # bigger bodies are not read for names

#: (method, route path) -> (action, resource type)
ACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/pipelines"): ("pipeline.save", "pipeline"),
    ("POST", "/pipelines/bulksave"): ("pipeline.save", "pipeline"),
    ("PUT", "/pipelines/{pipeline_id}"): ("pipeline.save", "pipeline"),
    ("DELETE", "/pipelines/{application}/{name}"): ("pipeline.delete", "pipeline"),
    ("POST", "/strategies"): ("strategy.save", "strategy"),
    ("DELETE", "/strategies/{application}/{name}"): ("strategy.delete", "strategy"),
    ("POST", "/pipelines/{application}/{name_or_id}"): ("pipeline.trigger", "pipeline"),
    ("POST", "/pipelines/v2/{application}/{name_or_id}"): ("pipeline.trigger", "pipeline"),
    ("POST", "/pipelines/start"): ("pipeline.trigger", "pipeline"),
    ("PUT", "/pipelines/{execution_id}/cancel"): ("execution.cancel", "execution"),
    ("PUT", "/applications/{application}/pipelines/{execution_id}/cancel"): ("execution.cancel", "execution"),
    ("PUT", "/tasks/{task_id}/cancel"): ("execution.cancel", "execution"),
    ("DELETE", "/pipelines/{execution_id}"): ("execution.delete", "execution"),
    ("PATCH", "/pipelines/{execution_id}/stages/{stage_id}"): ("judgment", "stage"),
    ("PUT", "/pipelines/{execution_id}/stages/{stage_id}/restart"): ("stage.restart", "stage"),
    ("POST", "/tasks"): ("task", "application"),
    ("POST", "/applications/{application}/tasks"): ("task", "application"),
    ("POST", "/serviceAccounts"): ("serviceAccount.save", "service_account"),
    ("DELETE", "/serviceAccounts/{name}"): ("serviceAccount.delete", "service_account"),
    ("POST", "/auth/tokens"): ("token.issue", "token"),
    ("DELETE", "/auth/tokens/{token_id}"): ("token.revoke", "token"),
    ("PUT", "/roles/{user}"): ("roles.save", "user_roles"),
    ("DELETE", "/roles/{user}"): ("roles.delete", "user_roles"),
}
#: Orca task types that are Front50 writes, by the action they are recorded as
TASK_ACTIONS = {
    "upsertapplication": "application.save",
    "createapplication": "application.save",
    "updateapplication": "application.save",
    "deleteapplication": "application.delete",
    "upsertproject": "project.save",
    "deleteproject": "project.delete",
}


def outcome(status: int) -> str:
    if status < 400:
        return "success"
    if status in (401, 403):
        return "denied"
    return "failed" if status >= 500 else "rejected"


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        request_body: list[bytes] = []
        response_body: list[bytes] = []
        status = [500]

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request" and sum(map(len, request_body)) < BODY_LIMIT:
                request_body.append(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body" and sum(map(len, response_body)) < BODY_LIMIT:
                response_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        finally:
            route = scope.get("route")
            found = ACTIONS.get((scope["method"], getattr(route, "path", ""))) if route is not None else None
            if found is not None:
                try:
                    raw = b"".join(request_body), b"".join(response_body)
                    event = await asyncio.to_thread(_event, scope, found, status[0], *raw)
                    await asyncio.to_thread(scope["app"].state.store.audit.record, event)
                except Exception as err:  # noqa: BLE001 - the audit never breaks the request it records
                    log.warning("could not record the audit event of %s %s: %s", scope["method"], scope["path"], err)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw and len(raw) < BODY_LIMIT else None
    except ValueError:
        return None


def _event(
    scope: Scope, found: tuple[str, str], status: int, raw_request: bytes, raw_response: bytes
) -> dict[str, Any]:
    action, resource_type = found
    params: dict[str, Any] = scope.get("path_params") or {}
    body = _json(raw_request)
    doc = body if isinstance(body, dict) else {}
    principal = _principal(scope, status)
    event: dict[str, Any] = {
        "principal": principal.name,
        "via": principal.via,
        "action": action,
        "resourceType": resource_type,
        "application": params.get("application")
        or (doc.get("application") if isinstance(doc.get("application"), str) else None),
        "executionId": params.get("execution_id") or params.get("task_id"),
        "outcome": outcome(status),
        "status": status,
        "remoteAddress": (scope.get("client") or (None,))[0],
    }
    name = (
        params.get("name_or_id")
        or params.get("name")
        or params.get("pipeline_id")
        or params.get("token_id")
        or params.get("user")
    )
    if name is None and isinstance(doc.get("name"), str):
        name = doc["name"]
    if resource_type == "stage":
        name = params.get("stage_id")
        if action == "judgment" and doc.get("judgmentStatus") is not None:
            event["detail"] = f"judgmentStatus={str(doc['judgmentStatus'])[:32]}"
    if action == "task":
        raw_jobs = doc.get("job")
        jobs: list[Any] = raw_jobs if isinstance(raw_jobs, list) else []
        types = [str(j.get("type")) for j in jobs if isinstance(j, dict) and j.get("type")]
        action = next((TASK_ACTIONS[t.lower()] for t in types if t.lower() in TASK_ACTIONS), "task.start")
        event["action"] = action
        event["detail"] = ",".join(types)[:500] or None
        app = next(
            (j.get("application") for j in jobs if isinstance(j, dict) and isinstance(j.get("application"), dict)), None
        )
        if isinstance(app, dict) and isinstance(app.get("name"), str):
            event["application"] = event["application"] or app["name"]
            name = app["name"]
    if action == "pipeline.save" and isinstance(body, list):
        names = [str(p.get("name")) for p in body if isinstance(p, dict)]
        event["detail"] = f"{len(names)} pipelines: " + ", ".join(names)[:400]
    if action == "pipeline.trigger" and status < 400:
        answer = _json(raw_response)
        ref = answer.get("ref") if isinstance(answer, dict) else None
        if isinstance(ref, str):
            event["executionId"] = ref.rsplit("/", 1)[-1]
    if action.startswith("token.") or resource_type == "token":
        name = params.get("token_id") or _token_id(raw_response)  # the token's id, never the token
        if action == "token.issue" and isinstance(doc.get("user"), str):
            event["detail"] = f"owner={doc['user'][:64]}; roles={','.join(map(str, doc.get('roles') or []))[:300]}"
    if action == "roles.save" and isinstance(body, list):
        event["detail"] = "roles=" + ",".join(map(str, body))[:400]
    event["resourceName"] = name
    return event


def _token_id(raw_response: bytes) -> str | None:
    answer = _json(raw_response)
    return str(answer["id"]) if isinstance(answer, dict) and answer.get("id") else None


def _principal(scope: Scope, status: int) -> Any:
    """The principal the route saw, or (a route that did not ask) the request's; a refused credential is
    recorded as anonymous."""
    from starlette.requests import Request

    from core.auth.principal import ANONYMOUS_PRINCIPAL, Principal

    from .authenticate import resolve

    found = (scope.get("state") or {}).get("principal")
    if isinstance(found, Principal):
        return found
    if status == 401:
        return ANONYMOUS_PRINCIPAL
    try:
        return resolve(Request(scope))
    except Exception:  # noqa: BLE001 - credentials the route never looked at and that do not pass
        return ANONYMOUS_PRINCIPAL


def install(app: Any) -> None:
    app.add_middleware(AuditMiddleware)

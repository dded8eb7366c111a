"""Kayenta's CanaryExecutionRequest checked as Kayenta checks it, and the CanaryExecutionStatusResponse built
from a stored run. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.errors import CanaryError

from .judge import JUDGES, NETFLIX_V1

Json = dict[str, Any]
#: a run's statuses (Orca's names), and which of them are final
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "TERMINAL", "CANCELED"})


class RequestError(CanaryError, ValueError):
    """A request Kayenta answers with 400; ``field`` names the offending input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _instant(value: Any, field: str) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(f"{field} must be an ISO-8601 instant, got {value!r}", field) from None


def judge_name(config: Mapping[str, Any]) -> str:
    """The config's ``judge.name``; NetflixACAJudge-v1.0 when none is given (Kayenta takes its first judge)."""
    judge = config.get("judge")
    name = judge.get("name") if isinstance(judge, dict) else None
    return str(name) if name else NETFLIX_V1


def check(config: Mapping[str, Any], request: Any) -> Json:
    """The request to run ``config`` with: thresholds, a scope pair for every metric's ``scopeName``, times that
    parse. Returns it (unknown keys kept)."""
    if not isinstance(request, dict):
        raise RequestError("the body must be a CanaryExecutionRequest (a JSON object)", "body")
    metrics = config.get("metrics") or []
    if not isinstance(metrics, list) or not all(isinstance(m, dict) for m in metrics):
        raise RequestError("metrics must be a list of metric configs", "metrics")
    for metric in metrics:
        if not isinstance(metric.get("scopeName") or "default", str):
            raise RequestError(f"{metric.get('name')}: scopeName must be a string", "metrics")
    if not metrics:
        raise RequestError(
            "The canary config must specify at least one metric. Otherwise we're not analyzing anything. :)", "metrics"
        )
    judge = judge_name(config)
    if judge not in JUDGES:
        raise RequestError(f"Unable to resolve canary judge '{judge}'; known judges: {', '.join(JUDGES)}", "judge")
    thresholds = request.get("thresholds")
    if not isinstance(thresholds, dict):
        raise RequestError("Execution request must contain thresholds", "thresholds")
    for key in ("pass", "marginal"):
        value = thresholds.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RequestError(f"thresholds.{key} must be a number", f"thresholds.{key}")
    scopes = request.get("scopes")
    required = {m.get("scopeName") or "default" for m in metrics}
    if not isinstance(scopes, dict) or not scopes:
        raise RequestError("Canary metrics require scopes, but no scopes were provided in the execution request.",
                           "scopes")  # fmt: skip
    missing = sorted(required - set(scopes))
    if missing:
        raise RequestError(
            f"Canary metrics require scopes which were not provided in the execution request: {missing}", "scopes"
        )
    for name, pair in scopes.items():
        if (
            not isinstance(pair, dict)
            or not isinstance(pair.get("controlScope"), dict)
            or not isinstance(pair.get("experimentScope"), dict)
        ):
            raise RequestError(
                f"Canary scope for named scope {name} is missing experimentScope or controlScope keys",
                f"scopes.{name}",
            )
        for side in ("controlScope", "experimentScope"):
            scope = pair[side]
            for key in ("start", "end"):
                if not scope.get(key):
                    raise RequestError(f"scopes.{name}.{side}.{key} is required", f"scopes.{name}.{side}.{key}")
                _instant(scope[key], f"scopes.{name}.{side}.{key}")
            step = scope.get("step", 60)
            if isinstance(step, bool) or not isinstance(step, int | float) or step <= 0:
                raise RequestError(f"scopes.{name}.{side}.step must be a positive number of seconds",
                                   f"scopes.{name}.{side}.step")  # fmt: skip
    return request


def scope_for(request: Mapping[str, Any], metric: Mapping[str, Any], side: str) -> Json:
    """One metric's control or experiment scope (``side`` is 'control' or 'experiment')."""
    pair = request["scopes"][metric.get("scopeName") or "default"]
    scope = dict(pair[f"{side}Scope"])
    scope.setdefault("step", 60)
    return scope


def duration(request: Mapping[str, Any]) -> str | None:
    """``canaryDuration``: the scopes' common length as an ISO-8601 duration (None when they differ, or when a stored
    request lacks a scope's times: a read shows what it can rather than failing)."""
    lengths = set()
    for pair in (request.get("scopes") or {}).values():
        for side in ("controlScope", "experimentScope"):
            scope = pair.get(side) if isinstance(pair, Mapping) else None
            try:
                end, start = _instant(scope["end"], "end"), _instant(scope["start"], "start")  # type: ignore[index]
            except (KeyError, TypeError, RequestError):
                return None
            lengths.add(end.timestamp() - start.timestamp())
    if len(lengths) != 1:
        return None
    seconds = int(lengths.pop())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return text if text != "PT" else "PT0S"


def status_response(run: Mapping[str, Any]) -> Json:
    """Kayenta's CanaryExecutionStatusResponse for a stored run; ``result`` only once it succeeded."""
    status = str(run.get("status", "RUNNING"))
    response: Json = {
        "application": run.get("application"),
        "parentPipelineExecutionId": run.get("parentPipelineExecutionId"),
        "pipelineId": run.get("id"),
        "stageStatus": dict(run.get("stageStatus") or {}),
        "complete": status in TERMINAL_STATUSES,
        "status": status.lower(),
        "config": run.get("config"),
        "canaryConfigId": run.get("canaryConfigId"),
        "canaryExecutionRequest": run.get("canaryExecutionRequest"),
        "metricSetPairListId": run.get("metricSetPairListId"),
        "metricsAccountName": run.get("metricsAccountName"),
        "storageAccountName": run.get("storageAccountName"),
        "configurationAccountName": run.get("configurationAccountName"),
        "warnings": list(run.get("warnings") or []),
    }
    for key in ("buildTime", "startTime", "endTime"):
        if run.get(f"{key}Millis") is not None:
            response[f"{key}Millis"] = run[f"{key}Millis"]
            response[f"{key}Iso"] = run.get(f"{key}Iso")
    if run.get("exception"):
        response["exception"] = run["exception"]
    if status == "SUCCEEDED" and run.get("result") is not None:
        response["result"] = {
            "judgeResult": run["result"],
            "canaryDuration": duration(run.get("canaryExecutionRequest") or {}),
        }
    return response

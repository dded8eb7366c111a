"""Prometheus as Kayenta's metrics store: the PromQL Kayenta builds for a metric and a scope, ``query_range`` over
HTTP, and the answer turned into MetricSets (Kayenta's ``PrometheusMetricsService`` and response converter).

Metrics accounts are operator-configured targets (like Jenkins masters), so requests go straight out with httpx,
with a timeout and a cap on the response size.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from core.errors import CanaryError

from .templates import custom_filter

DEFAULT_SCOPE_LABEL = "instance"
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
TIMEOUT_SECONDS = 30.0

Json = dict[str, Any]


class QueryError(CanaryError, ValueError):
    """A metric's query cannot be built (Kayenta's IllegalArgumentException: the run fails with it)."""


class PrometheusError(CanaryError, RuntimeError):
    """Prometheus could not be asked or answered with an error; ``retryable`` for transport faults and 5xx."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def build_query(
    config: Mapping[str, Any], metric: Mapping[str, Any], scope: Mapping[str, Any], scope_label: str = "instance"
) -> str:
    """The PromQL for one metric and one side's scope, exactly as Kayenta builds it."""
    query = metric.get("query") or {}
    extended = scope.get("extendedScopeParams") or {}
    resource_type = query.get("resourceType") or extended.get("resourceType") or ""
    expanded = custom_filter(config, query, scope)
    if expanded and expanded.startswith("PromQL:"):
        return expanded[len("PromQL:") :]
    name = query.get("metricName")
    if not name:
        raise QueryError("Metric Name is required when query type is Default.")
    filters = [str(b) for b in query.get("labelBindings") or []]
    if expanded:
        filters = expanded.split(",") + filters  # naive split, as Kayenta's
    else:
        filters += _resource_filters(str(resource_type), scope, scope_label)
    text = str(name) + ("{" + ",".join(filters) + "}" if filters else "")
    text = f"avg({text})"
    group_by = query.get("groupByFields") or []
    if group_by:
        text += " by (" + ",".join(str(f) for f in group_by) + ")"
    return text


def _resource_filters(resource_type: str, scope: Mapping[str, Any], scope_label: str) -> list[str]:
    location, name = scope.get("location") or "", scope.get("scope") or ""
    project = (scope.get("extendedScopeParams") or {}).get("project") or ""
    if resource_type == "gce_instance":
        if not location:
            raise QueryError("Location (i.e. region) is required when resourceType is 'gce_instance'.")
        filters = [f'{scope_label}=~"{name}-.{{4}}"'] if name else []
        zone = ".+/" + (f"projects/{project}/" if project else "") + f"zones/{location}-.{{1}}"
        return [*filters, f'zone=~"{zone}"']
    if resource_type == "aws_ec2_instance":
        if not location:
            raise QueryError("Location (i.e. region) is required when resourceType is 'aws_ec2_instance'.")
        filters = [f'asg_groupName="{name}"'] if name else []
        return [*filters, f'zone=~"{location}.{{1}}"']
    if resource_type:
        raise QueryError(
            f"There is no explicit support for resourceType '{resource_type}'. You may build whatever query makes "
            "sense for your environment via label bindings and custom filter templates."
        )
    raise QueryError("Either a resource type or a custom filter is required.")


def _instant(value: Any) -> datetime:
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"not an ISO-8601 instant: {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(millis: int) -> str:
    """An instant as Java's ``Instant.toString`` writes it (no fraction when whole seconds)."""
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if millis % 1000:
        text += f".{millis % 1000:03d}"
    return text + "Z"


def window(scope: Mapping[str, Any]) -> tuple[int, int, int]:
    """(start ms, end ms, step seconds) of a scope; start and end are required, step defaults to 60."""
    if not scope.get("start"):
        raise QueryError("Start time is required.")
    if not scope.get("end"):
        raise QueryError("End time is required.")
    start, end = _instant(scope["start"]), _instant(scope["end"])
    step = scope.get("step") or 60
    if isinstance(step, bool) or not isinstance(step, int | float) or step <= 0:
        raise QueryError(f"step must be a positive number of seconds, got {step!r}")
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000), int(step)


def _value(text: Any) -> float:
    if text == "+Inf":
        return math.inf
    if text == "-Inf":
        return -math.inf
    return float(text)  # "NaN" parses to nan


def to_metric_sets(body: Mapping[str, Any], name: str, query: str, scope: Mapping[str, Any]) -> list[Json]:
    """Kayenta's MetricSets from a ``query_range`` answer: one per series (labels less ``__name__`` as tags,
    step from the first two timestamps); no series gives one empty placeholder with the scope's window."""
    data = body.get("data") or {}
    series = data.get("result") or []
    sets: list[Json] = []
    for item in series:
        tags = {str(k): str(v) for k, v in (item.get("metric") or {}).items() if k != "__name__"}
        points = item.get("values") or []
        values = [_value(p[1]) for p in points if p[1] is not None]
        start = int(float(points[0][0]) * 1000) if points else 0
        step_s = (int(float(points[1][0]) * 1000) - start) // 1000 if len(points) > 1 else 0
        end = start + len(points) * step_s * 1000
        sets.append(_metric_set(name, query, tags, values, start, end, step_s * 1000))
    if not sets:
        start, end, step = window(scope)
        sets.append(_metric_set(name, query, {}, [], start, end, step * 1000))
    return sets


def _metric_set(name: str, query: str, tags: Json, values: list[float], start: int, end: int, step: int) -> Json:
    return {
        "name": name,
        "tags": tags,
        "values": values,
        "startTimeMillis": start,
        "startTimeIso": iso(start),
        "endTimeMillis": end,
        "endTimeIso": iso(end),
        "stepMillis": step,
        "attributes": {"query": query},
    }


def _auth(account: Mapping[str, Any]) -> tuple[dict[str, str], tuple[str, str] | None]:
    token = account.get("bearer_token")
    if token:
        return {"Authorization": f"Bearer {token}"}, None
    if account.get("username"):
        return {}, (str(account["username"]), str(account.get("password") or ""))
    return {}, None


def get(account: Mapping[str, Any], path: str, params: Mapping[str, Any]) -> Json:
    """GET a Prometheus API path; the answer's ``status`` must be ``success``. Capped at MAX_RESPONSE_BYTES."""
    headers, auth = _auth(account)
    url = str(account["base_url"]).rstrip("/") + path
    timeout = float(account.get("timeout_seconds") or TIMEOUT_SECONDS)
    limit = int(account.get("max_response_bytes") or MAX_RESPONSE_BYTES)
    try:
        with (
            httpx.Client(timeout=timeout, headers=headers, auth=auth, follow_redirects=False) as client,
            client.stream("GET", url, params=params) as response,
        ):
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise PrometheusError(f"{url}: the answer is larger than {limit} bytes", retryable=False)
                chunks.append(chunk)
    except httpx.HTTPError as err:
        raise PrometheusError(f"{url}: {type(err).__name__}: {err}", retryable=True) from None
    try:
        body = json.loads(b"".join(chunks))
    except ValueError:
        raise PrometheusError(f"{url}: HTTP {response.status_code}, not JSON", response.status_code >= 500) from None
    if response.status_code >= 400 or body.get("status") != "success":
        message = body.get("error") if isinstance(body, dict) else None
        raise PrometheusError(f"{url}: HTTP {response.status_code}: {message}", response.status_code >= 500)
    return body  # type: ignore[no-any-return]


def query_range(account: Mapping[str, Any], query: str, scope: Mapping[str, Any]) -> Json:
    """``/api/v1/query_range`` for the scope's window (ISO instants and the step in seconds, as Kayenta asks)."""
    start, end, step = window(scope)
    return get(account, "/api/v1/query_range", {"query": query, "start": iso(start), "end": iso(end), "step": step})


def metric_names(account: Mapping[str, Any], filter_text: str | None = None) -> list[Json]:
    """``/api/v1/label/__name__/values`` as Kayenta's metadata: ``[{"name": m}]``, filtered by substring."""
    names = get(account, "/api/v1/label/__name__/values", {}).get("data") or []
    return [{"name": n} for n in names if not filter_text or filter_text.lower() in str(n).lower()]

"""Tables for the webhook stage's pure rules: task planning, status mapping, retries, JSON paths."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from activities.webhook_rules import (
    CreateOutcome,
    InvalidJsonPathError,
    JsonPathNotFoundError,
    StatusUrlError,
    create_outcome,
    encode_payload,
    evaluate_status,
    fail_fast_status_codes,
    fit_body,
    is_definite_path,
    keep_scheme,
    monitor_backoff_ms,
    monitor_should_retry,
    parse_body,
    parse_method,
    parse_status_codes,
    parse_statuses,
    read_json_path,
    request_headers,
    resolve_status_url,
    single_value_headers,
    status_code_name,
    status_map,
    transport_error_retryable,
    validate_url,
)
from core.status import ExecutionStatus as S
from workflows.stages import known_types, resolve
from workflows.stages.webhook import (
    CANCEL_WEBHOOK,
    MONITOR_ONLY_WITHOUT_WAIT,
    WebhookStage,
    cancel_configured,
    seconds,
    truthy,
)

# ---- stage planning ------------------------------------------------------------------------------


def _names(context: dict) -> list[str]:
    return [spec.name for spec in WebhookStage().tasks(context)]


@pytest.mark.parametrize(
    ("context", "names"),
    [
        ({}, ["createWebhook"]),
        ({"waitForCompletion": False}, ["createWebhook"]),
        ({"waitForCompletion": True}, ["createWebhook", "monitorWebhook"]),
        ({"waitForCompletion": "true"}, ["createWebhook", "monitorWebhook"]),
        (
            {"waitForCompletion": True, "waitBeforeMonitor": 30},
            ["createWebhook", "waitBeforeMonitorWebhook", "monitorWebhook"],
        ),
        (
            {"waitForCompletion": True, "waitBeforeMonitor": "30"},
            ["createWebhook", "waitBeforeMonitorWebhook", "monitorWebhook"],
        ),
        ({"waitForCompletion": True, "waitBeforeMonitor": 0}, ["createWebhook", "monitorWebhook"]),
        ({"waitForCompletion": True, "waitBeforeMonitor": "0"}, ["createWebhook", "monitorWebhook"]),
        ({"waitForCompletion": False, "waitBeforeMonitor": 30}, ["createWebhook"]),
        ({"waitForCompletion": True, "monitorOnly": True}, ["monitorWebhook"]),
        (
            {"waitForCompletion": True, "monitorOnly": True, "waitBeforeMonitor": 5},
            ["waitBeforeMonitorWebhook", "monitorWebhook"],
        ),
    ],
)
def test_stage_plans_tasks_like_orca(context: dict, names: list[str]) -> None:
    assert _names(context) == names


def test_stage_task_specs() -> None:
    create, monitor = WebhookStage().tasks({"waitForCompletion": True})
    assert (create.activity, create.polling, create.timeout, create.on_cancel) == (
        "create_webhook",
        False,
        timedelta(minutes=5),
        None,
    )
    assert create.implementing_class == "com.netflix.spinnaker.orca.webhook.tasks.CreateWebhookTask"
    assert (monitor.activity, monitor.polling, monitor.backoff, monitor.timeout) == (
        "monitor_webhook",
        True,
        timedelta(seconds=1),
        timedelta(hours=1),
    )
    assert monitor.implementing_class == "com.netflix.spinnaker.orca.webhook.tasks.MonitorWebhookTask"


def test_cancel_hook_on_every_task_when_cancel_endpoint_is_set() -> None:
    specs = WebhookStage().tasks(
        {"waitForCompletion": True, "waitBeforeMonitor": 1, "cancelEndpoint": "https://x.example/cancel"}
    )
    assert [s.on_cancel for s in specs] == [CANCEL_WEBHOOK] * 3
    wait = specs[1]
    assert wait.run is not None and wait.activity is None
    assert wait.implementing_class == "com.netflix.spinnaker.orca.pipeline.tasks.WaitTask"


async def test_monitor_only_without_wait_fails_its_only_task() -> None:
    (spec,) = WebhookStage().tasks({"monitorOnly": True, "waitForCompletion": False})
    assert spec.run is not None
    result = await spec.run(None)  # type: ignore[arg-type]
    assert result.status == S.TERMINAL and result.error == MONITOR_ONLY_WITHOUT_WAIT


class _Runtime:
    def __init__(self, context: dict) -> None:
        self.context = context
        self.waits: list[timedelta | None] = []

    async def wait_for(self, predicate, timeout, summary):  # noqa: ANN001
        self.waits.append(timeout)
        return predicate()


@pytest.mark.parametrize(("value", "waits"), [(7, [timedelta(seconds=7)]), ("2", [timedelta(seconds=2)]), (0, [])])
async def test_wait_before_monitor_waits_the_configured_seconds(value: object, waits: list) -> None:
    spec = WebhookStage().tasks({"waitForCompletion": True, "waitBeforeMonitor": "${later}"})[1]
    runtime = _Runtime({"waitBeforeMonitor": value})
    result = await spec.run(runtime)  # type: ignore[misc, arg-type]
    assert result.status == S.SUCCEEDED and runtime.waits == waits


def test_registered_under_webhook() -> None:
    assert "webhook" in known_types()
    assert isinstance(resolve("webhook"), WebhookStage)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        (" true ", True),
        (False, False),
        ("false", False),
        (None, False),
        ("yes", False),
        (1, True),
        (0, False),
    ],
)
def test_truthy(value: object, expected: bool) -> None:
    assert truthy(value) is expected


@pytest.mark.parametrize(("value", "expected"), [(5, 5.0), ("5", 5.0), ("x", 0.0), (None, 0.0), (True, 0.0)])
def test_seconds(value: object, expected: float) -> None:
    assert seconds(value) == expected


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({}, False),
        ({"cancelEndpoint": ""}, False),
        ({"cancelEndpoint": "  "}, False),
        ({"cancelEndpoint": "https://x.example/c"}, True),
        ({"cancelEndpoint": "https://x.example/c", "signalCancellation": True}, True),
        ({"cancelEndpoint": "https://x.example/c", "signalCancellation": False}, False),
    ],
)
def test_cancel_configured(context: dict, expected: bool) -> None:
    assert cancel_configured(context) is expected


# ---- status lists --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("success", ["SUCCESS"]),
        (" Success , done ,", ["SUCCESS", "DONE"]),
        (["ok", " Fine "], ["OK", "FINE"]),
    ],
)
def test_parse_statuses(value: object, expected: list[str]) -> None:
    assert parse_statuses(value) == expected


def test_status_map_terminal_beats_canceled_beats_success() -> None:
    mapping = status_map("DONE, x", "stopped,X", "failed, x")
    assert mapping == {"DONE": S.SUCCEEDED, "STOPPED": S.CANCELED, "X": S.TERMINAL, "FAILED": S.TERMINAL}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, []), ([429, "503"], [429, 503]), ("429, 503", [429, 503]), ("", []), (404, [404]), (["x", 1], [1])],
)
def test_parse_status_codes(value: object, expected: list[int]) -> None:
    assert parse_status_codes(value) == expected


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({}, [504]),
        ({"failFastStatusCodes": None}, []),
        ({"failFastStatusCodes": []}, []),
        ({"failFastStatusCodes": [503, 504]}, [503, 504]),
    ],
)
def test_fail_fast_defaults_to_504_only_when_absent(context: dict, expected: list[int]) -> None:
    assert fail_fast_status_codes(context) == expected


# ---- evaluating a status response ----------------------------------------------------------------

_LISTS = {"successStatuses": "SUCCESS, done", "canceledStatuses": "CANCELED", "terminalStatuses": "FAILED,ERROR"}


@pytest.mark.parametrize(
    ("body", "context", "status", "fields", "error"),
    [
        ({"anything": 1}, {}, S.SUCCEEDED, {}, None),
        ({"status": "success"}, {"statusJsonPath": "$.status", **_LISTS}, S.SUCCEEDED, {}, None),
        ({"status": "Done"}, {"statusJsonPath": "$.status", **_LISTS}, S.SUCCEEDED, {}, None),
        ({"status": "canceled"}, {"statusJsonPath": "$.status", **_LISTS}, S.CANCELED, {}, None),
        ({"status": "error"}, {"statusJsonPath": "$.status", **_LISTS}, S.TERMINAL, {}, None),
        ({"status": "running"}, {"statusJsonPath": "$.status", **_LISTS}, S.RUNNING, {}, None),
        # Orca upper-cases the remote word but does not trim it
        ({"status": " success "}, {"statusJsonPath": "$.status", **_LISTS}, S.RUNNING, {}, None),
        ({"s": {"state": "DONE"}}, {"statusJsonPath": "s.state", **_LISTS}, S.SUCCEEDED, {}, None),
        ({"ok": True}, {"statusJsonPath": "$.ok", "successStatuses": "true"}, S.SUCCEEDED, {}, None),
        ({"ok": False}, {"statusJsonPath": "$.ok", "successStatuses": "true"}, S.RUNNING, {}, None),
        ({"p": 40}, {"statusJsonPath": "$.p"}, S.RUNNING, {"percentComplete": 40}, None),
        ({"p": 100}, {"statusJsonPath": "$.p"}, S.SUCCEEDED, {"percentComplete": 100}, None),
        ({"p": 100.0}, {"statusJsonPath": "$.p"}, S.SUCCEEDED, {"percentComplete": 100.0}, None),
        (
            {"status": "running", "msg": "half way"},
            {"statusJsonPath": "$.status", "progressJsonPath": "$.msg", **_LISTS},
            S.RUNNING,
            {"progressMessage": "half way"},
            None,
        ),
        (
            {},
            {"statusJsonPath": "$.status", **_LISTS},
            S.TERMINAL,
            {},
            "Unable to parse status: JSON property '$.status' not found in response body",
        ),
        (
            "plain text",
            {"statusJsonPath": "$.status", **_LISTS},
            S.TERMINAL,
            {},
            "Unable to parse status: JSON property '$.status' not found in response body",
        ),
        (
            {"status": {"a": 1}},
            {"statusJsonPath": "$.status", **_LISTS},
            S.TERMINAL,
            {"resolvedValue": {"a": 1}},
            "The json path '$.status' did not resolve to a single value",
        ),
        (
            {"status": None},
            {"statusJsonPath": "$.status", **_LISTS},
            S.TERMINAL,
            {"resolvedValue": None},
            "The json path '$.status' did not resolve to a single value",
        ),
        (
            {"j": [{"s": "a"}, {"s": "b"}]},
            {"statusJsonPath": "$.j[*].s", **_LISTS},
            S.TERMINAL,
            {"resolvedValue": ["a", "b"]},
            "The json path '$.j[*].s' did not resolve to a single value",
        ),
        (
            {"status": "running"},
            {"statusJsonPath": "$.status", "progressJsonPath": "$.msg", **_LISTS},
            S.TERMINAL,
            {},
            "Unable to parse progress: JSON property '$.msg' not found in response body",
        ),
        (
            {"status": "running", "msg": 3},
            {"statusJsonPath": "$.status", "progressJsonPath": "$.msg", **_LISTS},
            S.TERMINAL,
            {"resolvedValue": 3},
            "The json path '$.msg' did not resolve to a String value",
        ),
        (
            {"status": "x"},
            {"statusJsonPath": "$.status"},
            S.TERMINAL,
            {},
            "successStatuses is required when '$.status' resolves to text (got 'x')",
        ),
    ],
)
def test_evaluate_status(body: object, context: dict, status: S, fields: dict, error: str | None) -> None:
    assert evaluate_status(body, context) == (status, fields, error)


def test_evaluate_status_reports_a_broken_path() -> None:
    status, _, error = evaluate_status({"a": 1}, {"statusJsonPath": "$.[[", "successStatuses": "A"})
    assert status == S.TERMINAL and error and "invalid JSON path" in error


# ---- JSON paths ----------------------------------------------------------------------------------

_DOC = {"status": "OK", "a": {"b": [{"id": 1}, {"id": 2}]}, "x y": 3, "n": None}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.status", "OK"),
        ("status", "OK"),
        ("$['status']", "OK"),
        ("$.a.b[0].id", 1),
        ("$.a.b[1]", {"id": 2}),
        ("$['x y']", 3),
        ("$.n", None),
        ("$.a.b[*].id", [1, 2]),
        ("$..id", [1, 2]),
        ("$.a.b[?(@.id == 2)].id", [2]),
        ("$.a.b[0:1]", [{"id": 1}]),
        ("$.missing[*]", []),
    ],
)
def test_read_json_path(path: str, expected: object) -> None:
    assert read_json_path(_DOC, path) == expected


@pytest.mark.parametrize("path", ["$.missing", "$.a.b[5].id", "$.a.c"])
def test_read_json_path_missing_definite_path(path: str) -> None:
    with pytest.raises(JsonPathNotFoundError):
        read_json_path(_DOC, path)


def test_read_json_path_bad_syntax() -> None:
    with pytest.raises(InvalidJsonPathError):
        read_json_path(_DOC, "$.[[")


@pytest.mark.parametrize(
    ("path", "definite"),
    [
        ("$.a", True),
        ("$.a.b[0]", True),
        ("$['a']", True),
        ("$..a", False),
        ("$.a[*]", False),
        ("$.a[?(@.x)]", False),
        ("$.a[0,1]", False),
        ("$.a[0:2]", False),
    ],
)
def test_is_definite_path(path: str, definite: bool) -> None:
    assert is_definite_path(path) is definite


# ---- retry tables --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "fail_fast", "retry", "outcome"),
    [
        (400, [504], [], CreateOutcome.FAIL),
        (404, [504], [], CreateOutcome.FAIL),
        (429, [504], [], CreateOutcome.RETRY),
        (409, [504], [409], CreateOutcome.RETRY),
        (500, [504], [], CreateOutcome.RETRY),
        (503, [504], [], CreateOutcome.RETRY),
        (504, [504], [], CreateOutcome.FAIL_FAST),
        (504, [], [], CreateOutcome.RETRY),
        (503, [503], [503], CreateOutcome.FAIL_FAST),
        (429, [429], [], CreateOutcome.FAIL_FAST),
    ],
)
def test_create_outcome(code: int, fail_fast: list[int], retry: list[int], outcome: CreateOutcome) -> None:
    assert create_outcome(code, fail_fast, retry) is outcome


@pytest.mark.parametrize(
    ("code", "retries", "retry_codes", "past", "expected"),
    [
        (500, None, [], [], True),
        (503, None, [], [503] * 50, True),
        (429, None, [], [], True),
        (404, None, [], [], False),
        (404, None, [404], [], True),
        (400, {}, [], [], False),
        (503, {"503": {"maxAttempts": 2}}, [], [], True),
        (503, {"503": {"maxAttempts": 2}}, [], [503], True),
        (503, {"503": {"maxAttempts": 2}}, [], [503, 404, 503], False),
        (503, {503: {"maxAttempts": 0}}, [], [], False),
        (404, {"404": {"maxAttempts": 1}}, [], [503, 503], True),
        # a per-code limit wins over retryStatusCodes
        (404, {"404": {"maxAttempts": 1}}, [404], [404], False),
    ],
)
def test_monitor_should_retry(
    code: int, retries: object, retry_codes: list[int], past: list[int], expected: bool
) -> None:
    assert monitor_should_retry(code, retries, retry_codes, past) is expected


_REQ = httpx.Request("GET", "http://x.example/")


@pytest.mark.parametrize(
    ("error", "method", "expected"),
    [
        (httpx.ConnectError("refused", request=_REQ), "POST", True),
        (httpx.ConnectTimeout("slow connect", request=_REQ), "POST", True),
        (httpx.PoolTimeout("pool", request=_REQ), "POST", True),
        (httpx.ReadTimeout("slow", request=_REQ), "GET", True),
        (httpx.ReadTimeout("slow", request=_REQ), "POST", False),
        (httpx.ReadTimeout("slow", request=_REQ), "PUT", False),
        (httpx.RemoteProtocolError("closed", request=_REQ), "GET", True),
        (httpx.RemoteProtocolError("closed", request=_REQ), "POST", False),
        (httpx.ReadError("reset", request=_REQ), "DELETE", False),
        (httpx.UnsupportedProtocol("ftp", request=_REQ), "GET", False),
        (httpx.TooManyRedirects("loop", request=_REQ), "GET", False),
    ],
)
def test_transport_error_retryable(error: Exception, method: str, expected: bool) -> None:
    assert transport_error_retryable(error, method) is expected


@pytest.mark.parametrize(
    ("elapsed", "backoff"), [(0, 1000), (59_000, 1000), (60_000, 1000), (60_001, 15_000), (3_000_000, 15_000)]
)
def test_monitor_backoff(elapsed: int, backoff: int) -> None:
    assert monitor_backoff_ms(elapsed) == backoff


# ---- status URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status_url", "webhook_url", "expected"),
    [
        ("http://h.example/s/1", "https://h.example/start", "https://h.example/s/1"),
        ("https://h.example/s/1", "http://h.example/start", "http://h.example/s/1"),
        ("http://other.example/s/1", "https://h.example/start", "http://other.example/s/1"),
        ("https://h.example/start", "https://h.example/start", "https://h.example/start"),
    ],
)
def test_keep_scheme(status_url: str, webhook_url: str, expected: str) -> None:
    assert keep_scheme(status_url, webhook_url) == expected


_HOOK = "https://h.example/jobs"


@pytest.mark.parametrize(
    ("resolution", "location", "body", "path", "expected"),
    [
        ("getMethod", None, None, None, _HOOK),
        (None, None, None, None, _HOOK),
        ("locationHeader", "https://h.example/jobs/7", None, None, "https://h.example/jobs/7"),
        ("locationHeader", "/jobs/7", None, None, "https://h.example/jobs/7"),
        ("locationHeader", None, None, None, None),
        ("webhookResponse", None, {"links": {"self": "https://s.example/7"}}, "$.links.self", "https://s.example/7"),
        ("webhookResponse", None, {"u": "http://h.example/7"}, "u", "https://h.example/7"),
        ("webhookResponse", None, {"u": None}, "$.u", None),
    ],
)
def test_resolve_status_url(
    resolution: str | None, location: str | None, body: object, path: str | None, expected: str | None
) -> None:
    assert resolve_status_url(resolution, _HOOK, location, body, path) == expected


@pytest.mark.parametrize(
    ("resolution", "body", "path", "message"),
    [
        ("webhookResponse", {"u": "x"}, None, "statusUrlJsonPath is required"),
        ("webhookResponse", {"u": "x"}, "$.v", "JSON property '$.v' not found in response body"),
        ("webhookResponse", {"u": 5}, "$.u", "resolved to int"),
        ("somethingElse", {}, None, "Unexpected value: somethingElse"),
    ],
)
def test_resolve_status_url_errors(resolution: str, body: object, path: str | None, message: str) -> None:
    with pytest.raises(StatusUrlError, match=re.escape(message)):
        resolve_status_url(resolution, _HOOK, None, body, path)


# ---- requests and responses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("custom", "expected"),
    [
        (None, []),
        ({}, []),
        ({"Authorization": "Bearer t"}, [("Authorization", "Bearer t")]),
        ({"X-Many": ["a", "b"]}, [("X-Many", "a"), ("X-Many", "b")]),
        ({"X-Num": 3, "X-Bool": True, "X-None": None}, [("X-Num", "3"), ("X-Bool", "true")]),
        (
            {"x-spinnaker-user": "admin", "X-SPINNAKER-EXECUTION-ID": "e", "X-Spinnaker-Other": "ok"},
            [("X-Spinnaker-Other", "ok")],
        ),
        ('{"A": "b"}', [("A", "b")]),
    ],
)
def test_request_headers(custom: object, expected: list[tuple[str, str]]) -> None:
    assert request_headers(custom) == expected


@pytest.mark.parametrize("custom", ["not json", ["a"], 5])
def test_request_headers_rejects_non_maps(custom: object) -> None:
    with pytest.raises(ValueError, match="customHeaders"):
        request_headers(custom)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (None, (None, None)),
        ({"a": 1}, (b'{"a":1}', "application/json")),
        ([1, "x"], (b'[1,"x"]', "application/json")),
        (0, (b"0", "application/json")),
        ("raw text", (b"raw text", "text/plain;charset=UTF-8")),
    ],
)
def test_encode_payload(payload: object, expected: tuple) -> None:
    assert encode_payload(payload) == expected


@pytest.mark.parametrize(
    ("text", "content_type", "expected"),
    [
        ("", "application/json", None),
        ('{"a": 1}', "application/json", {"a": 1}),
        ('{"a": 1}', None, {"a": 1}),
        ("[1]", "text/plain", [1]),
        ('"DONE"', "application/json;charset=UTF-8", "DONE"),
        ("42", "application/vnd.api+json", 42),
        ("42", "text/plain", "42"),
        ("<html/>", "text/html", "<html/>"),
        ("{not json", "application/json", "{not json"),
    ],
)
def test_parse_body(text: str, content_type: str | None, expected: object) -> None:
    assert parse_body(text, content_type) == expected


def test_single_value_headers_keeps_first_value_and_case() -> None:
    raw = [(b"Content-Type", b"application/json"), (b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2")]
    assert single_value_headers(raw) == {"Content-Type": "application/json", "Set-Cookie": "a=1"}


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (200, "OK"),
        (201, "CREATED"),
        (202, "ACCEPTED"),
        (404, "NOT_FOUND"),
        (413, "PAYLOAD_TOO_LARGE"),
        (418, "I_AM_A_TEAPOT"),
        (503, "SERVICE_UNAVAILABLE"),
        (599, None),
    ],
)
def test_status_code_name(code: int, name: str | None) -> None:
    assert status_code_name(code) == name


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://h.example/x", True),
        ("http://10.0.0.1:8080/x?y=1", True),
        ("ftp://h.example/x", False),
        ("h.example/x", False),
        ("", False),
        (None, False),
        ("http://", False),
        (5, False),
    ],
)
def test_validate_url(url: object, ok: bool) -> None:
    assert (validate_url(url) is None) is ok


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "POST"), ("", "POST"), ("get", "GET"), ("Put", "PUT"), ("DELETE", "DELETE")]
)
def test_parse_method(value: object, expected: str) -> None:
    assert parse_method(value) == expected


def test_parse_method_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unsupported HTTP method 'FETCH'"):
        parse_method("FETCH")


def test_fit_body() -> None:
    assert fit_body({"a": 1}, 100) == {"a": 1}
    assert fit_body(None, 1) is None
    assert fit_body("x" * 101, 100) == "<response body of 101 bytes not kept: larger than 100 bytes>"

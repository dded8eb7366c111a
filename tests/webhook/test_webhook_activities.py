"""The webhook activities against a real HTTP server on 127.0.0.1, scripted per test."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.webhook import RETRYABLE_ERROR, WebhookActivities, build
from core.status import ExecutionStatus as S
from integrations.outbound import OutboundPolicy, OutboundSettings, guarded_client
from tests.stubs import Reply, Stub, serve_stub
from workflows.stages.base import TaskInput, TaskResult

#: the operator's opt-in for the stub server on loopback (refused by default)
LOOPBACK = OutboundPolicy(OutboundSettings(allow_cidrs=["127.0.0.0/8"]))


@pytest.fixture
def stub() -> Iterator[Stub]:
    with serve_stub() as served:
        yield served


@dataclass
class Clock:
    now_ms: int = 1_000_000

    def __call__(self) -> int:
        return self.now_ms


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def acts(clock: Clock) -> Iterator[WebhookActivities]:
    client = guarded_client(LOOPBACK, timeout=httpx.Timeout(0.5, connect=0.5))
    try:
        yield WebhookActivities(client, policy=LOOPBACK, clock_ms=clock)
    finally:
        client.close()


def run(fn: Callable[[TaskInput], TaskResult], context: dict[str, Any], *, started_ms: int = 1_000_000) -> TaskResult:
    inp = TaskInput(
        execution_id="01EXEC",
        application="app",
        stage_id="01STAGE",
        stage_ref_id="1",
        stage_type="webhook",
        task_name=fn.__name__,
        context=context,
        stage_start_time_ms=started_ms,
        task_start_time_ms=started_ms,
    )
    return ActivityEnvironment().run(fn, inp)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- create ----------------------------------------------------------------------------------------


def test_create_posts_payload_and_headers_once(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("POST", "/hook", Reply(200, {"id": "42"}, {"X-Trace": "t1"}))
    result = run(
        acts.create_webhook,
        {
            "url": stub.url("/hook"),
            "payload": {"app": "demo", "n": [1, 2]},
            "customHeaders": {"Authorization": "Bearer secret", "X-Many": ["a", "b"], "X-Spinnaker-User": "evil"},
        },
    )
    assert result.status == S.SUCCEEDED
    webhook = result.context["webhook"]
    assert webhook["statusCode"] == "OK" and webhook["statusCodeValue"] == 200
    assert webhook["body"] == {"id": "42"}
    assert webhook["headers"]["X-Trace"] == "t1"
    assert "error" not in webhook and "statusEndpoint" not in result.context
    assert stub.count("POST", "/hook") == 1
    call = stub.calls[0]
    assert call.json() == {"app": "demo", "n": [1, 2]}
    assert call.header("content-type") == ["application/json"]
    assert call.header("authorization") == ["Bearer secret"]
    assert call.header("x-many") == ["a", "b"]
    assert call.header("x-spinnaker-user") == []


@pytest.mark.parametrize("method", ["GET", "put", "Patch", "DELETE"])
def test_create_uses_the_configured_method(stub: Stub, acts: WebhookActivities, method: str) -> None:
    stub.on(method.upper(), "/hook", Reply(202, {"ok": True}))
    payload = None if method == "GET" else {"a": 1}
    result = run(acts.create_webhook, {"url": stub.url("/hook"), "method": method, "payload": payload})
    assert result.status == S.SUCCEEDED
    assert result.context["webhook"]["statusCode"] == "ACCEPTED"
    assert [c.method for c in stub.calls] == [method.upper()]
    assert stub.calls[0].body == (b"" if payload is None else b'{"a":1}')


def test_create_sends_text_payload_verbatim_and_custom_content_type_wins(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("POST", "/hook", Reply(200, "done"))
    result = run(
        acts.create_webhook,
        {
            "url": stub.url("/hook"),
            "payload": '{"raw": true}',
            "customHeaders": {"Content-Type": "application/json"},
        },
    )
    assert result.status == S.SUCCEEDED and result.context["webhook"]["body"] == "done"
    assert stub.calls[0].body == b'{"raw": true}'
    assert stub.calls[0].header("content-type") == ["application/json"]


@pytest.mark.parametrize(
    ("code", "context"),
    [(503, {}), (500, {}), (429, {}), (409, {"webhookRetryStatusCodes": [409]}), (504, {"failFastStatusCodes": []})],
)
def test_create_retryable_status_raises_for_temporal_to_retry(
    stub: Stub, acts: WebhookActivities, code: int, context: dict
) -> None:
    stub.on("POST", "/hook", Reply(code, {"error": "busy"}))
    with pytest.raises(ApplicationError) as raised:
        run(acts.create_webhook, {"url": stub.url("/hook"), **context})
    err = raised.value
    assert not err.non_retryable and err.type == RETRYABLE_ERROR
    assert err.next_retry_delay == timedelta(seconds=10)
    assert f"with status code {code} (retryable)" in err.message
    assert stub.count("POST", "/hook") == 1


@pytest.mark.parametrize(("code", "context"), [(504, {}), (503, {"failFastStatusCodes": [503]})])
def test_create_fail_fast_status_is_terminal(stub: Stub, acts: WebhookActivities, code: int, context: dict) -> None:
    stub.on("POST", "/hook", Reply(code, {"error": "gateway"}))
    result = run(acts.create_webhook, {"url": stub.url("/hook"), **context})
    assert result.status == S.TERMINAL
    expected = (
        f"Received status code {code}, which is configured to fail fast, terminating stage for pipeline "
        f"01EXEC to {stub.url('/hook')}"
    )
    assert result.error == expected and result.context["webhook"]["error"] == expected
    assert result.context["webhook"]["statusCodeValue"] == code
    assert stub.count("POST", "/hook") == 1


@pytest.mark.parametrize("code", [400, 401, 404, 422])
def test_create_client_error_is_terminal_with_the_response_recorded(
    stub: Stub, acts: WebhookActivities, code: int
) -> None:
    stub.on("POST", "/hook", Reply(code, {"message": "bad input"}))
    result = run(acts.create_webhook, {"url": stub.url("/hook")})
    assert result.status == S.TERMINAL
    webhook = result.context["webhook"]
    assert (
        webhook["error"]
        == result.error
        == (f"Error submitting webhook for pipeline 01EXEC to {stub.url('/hook')} with status code {code}.")
    )
    assert webhook["statusCodeValue"] == code and webhook["body"] == {"message": "bad input"}
    assert stub.count("POST", "/hook") == 1


@pytest.mark.parametrize(
    ("context", "fragment"),
    [
        ({"url": "ftp://h.example/x"}, "unsupported URL scheme 'ftp'"),
        ({"url": "not a url"}, "unsupported URL scheme ''"),
        ({}, "no URL given"),
        ({"url": "http://h.example/x", "method": "FETCH"}, "unsupported HTTP method 'FETCH'"),
        ({"url": "http://h.example/x", "customHeaders": ["a"]}, "customHeaders must be a map"),
    ],
)
def test_create_bad_request_is_terminal_without_calling(acts: WebhookActivities, context: dict, fragment: str) -> None:
    result = run(acts.create_webhook, context)
    assert result.status == S.TERMINAL
    assert result.error and result.error.startswith("An exception occurred for pipeline 01EXEC performing a request")
    assert fragment in result.error and result.context["webhook"]["error"] == result.error


def test_create_connection_refused_is_retryable(acts: WebhookActivities) -> None:
    with pytest.raises(ApplicationError) as raised:
        run(acts.create_webhook, {"url": f"http://127.0.0.1:{free_port()}/hook"})
    assert not raised.value.non_retryable and "(retryable)" in raised.value.message


def test_create_post_timeout_is_terminal_and_not_repeated(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("POST", "/slow", Reply(200, {"ok": True}, delay=1.5))
    result = run(acts.create_webhook, {"url": stub.url("/slow")})
    assert result.status == S.TERMINAL and "ReadTimeout" in (result.error or "")
    assert stub.count("POST", "/slow") == 1


def test_create_get_timeout_is_retryable(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("GET", "/slow", Reply(200, {"ok": True}, delay=1.5))
    with pytest.raises(ApplicationError) as raised:
        run(acts.create_webhook, {"url": stub.url("/slow"), "method": "GET"})
    assert not raised.value.non_retryable and "ReadTimeout" in raised.value.message


def test_create_follows_redirects(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("GET", "/old", Reply(302, headers={"Location": "/new"}))
    stub.on("GET", "/new", Reply(200, {"moved": True}))
    result = run(acts.create_webhook, {"url": stub.url("/old"), "method": "GET"})
    assert result.status == S.SUCCEEDED and result.context["webhook"]["body"] == {"moved": True}


# ---- create: where to poll ------------------------------------------------------------------------


def test_wait_for_completion_get_method_polls_the_webhook_url(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("POST", "/hook", Reply(200, {"id": 1}))
    result = run(
        acts.create_webhook, {"url": stub.url("/hook"), "waitForCompletion": True, "statusUrlResolution": "getMethod"}
    )
    assert result.status == S.SUCCEEDED
    assert result.context["statusEndpoint"] == result.context["webhook"]["statusEndpoint"] == stub.url("/hook")


@pytest.mark.parametrize("location", ["/jobs/7", "ABSOLUTE"])
def test_wait_for_completion_location_header(stub: Stub, acts: WebhookActivities, location: str) -> None:
    location = stub.url("/jobs/7") if location == "ABSOLUTE" else location
    stub.on("POST", "/hook", Reply(201, headers={"Location": location}))
    result = run(
        acts.create_webhook,
        {"url": stub.url("/hook"), "waitForCompletion": True, "statusUrlResolution": "locationHeader"},
    )
    assert result.status == S.SUCCEEDED
    assert result.context["statusEndpoint"] == stub.url("/jobs/7")
    assert result.context["webhook"]["statusCode"] == "CREATED"


def test_wait_for_completion_location_header_missing_is_terminal(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("POST", "/hook", Reply(201, {"id": 1}))
    result = run(
        acts.create_webhook,
        {"url": stub.url("/hook"), "waitForCompletion": True, "statusUrlResolution": "locationHeader"},
    )
    assert result.status == S.TERMINAL
    assert result.error == "The status URL couldn't be resolved, but 'Wait for completion' is configured"


def test_wait_for_completion_webhook_response(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("POST", "/hook", Reply(200, {"links": {"status": stub.url("/status/9")}}))
    result = run(
        acts.create_webhook,
        {
            "url": stub.url("/hook"),
            "waitForCompletion": True,
            "statusUrlResolution": "webhookResponse",
            "statusUrlJsonPath": "$.links.status",
        },
    )
    assert result.status == S.SUCCEEDED and result.context["statusEndpoint"] == stub.url("/status/9")


def test_wait_for_completion_webhook_response_path_missing(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("POST", "/hook", Reply(200, {"links": {}}))
    result = run(
        acts.create_webhook,
        {
            "url": stub.url("/hook"),
            "waitForCompletion": True,
            "statusUrlResolution": "webhookResponse",
            "statusUrlJsonPath": "$.links.status",
        },
    )
    assert result.status == S.TERMINAL
    assert result.error == (
        "Exception while resolving status check URL: JSON property '$.links.status' not found in response body"
    )
    assert result.context["webhook"]["body"] == {"links": {}}


def test_expected_artifacts_are_read_from_the_response(stub: Stub, acts: WebhookActivities) -> None:
    artifacts = [{"type": "docker/image", "name": "app", "reference": "app:1"}]
    stub.on("POST", "/hook", Reply(200, {"artifacts": artifacts}))
    result = run(acts.create_webhook, {"url": stub.url("/hook"), "expectedArtifacts": [{"id": "x"}]})
    assert result.status == S.SUCCEEDED and result.context["artifacts"] == artifacts

    stub.on("POST", "/hook", Reply(200, {"nothing": 1}))
    result = run(acts.create_webhook, {"url": stub.url("/hook"), "expectedArtifacts": [{"id": "x"}]})
    assert result.status == S.TERMINAL
    assert (result.error or "").startswith("Expected artifacts in webhook response couldn't be parsed")


# ---- monitor ---------------------------------------------------------------------------------------

_LISTS = {"successStatuses": "SUCCESS", "canceledStatuses": "CANCELED, aborted", "terminalStatuses": "FAILED"}


def _monitor_context(stub: Stub, **extra: Any) -> dict[str, Any]:
    return {
        "url": stub.url("/hook"),
        "waitForCompletion": True,
        "statusEndpoint": stub.url("/status"),
        "statusJsonPath": "$.state",
        "progressJsonPath": "$.message",
        **_LISTS,
        "webhook": {"statusCode": "OK", "statusCodeValue": 200, "body": {"id": 1}},
        **extra,
    }


def test_monitor_polls_until_success_keeping_the_create_response(
    stub: Stub, acts: WebhookActivities, clock: Clock
) -> None:
    stub.on(
        "GET",
        "/status",
        Reply(200, {"state": "running", "message": "1/3"}),
        Reply(200, {"state": "running", "message": "2/3"}),
        Reply(200, {"state": "success", "message": "3/3"}),
    )
    context = _monitor_context(stub, customHeaders={"Authorization": "Bearer t"})
    results = []
    for elapsed in (0, 30_000, 61_000):
        clock.now_ms = 1_000_000 + elapsed
        result = run(acts.monitor_webhook, context)
        results.append(result)
        context = {**context, **result.context}
    assert [r.status for r in results] == [S.RUNNING, S.RUNNING, S.SUCCEEDED]
    assert [r.backoff_ms for r in results[:2]] == [1000, 1000]
    assert [r.context["webhook"]["monitor"]["progressMessage"] for r in results] == ["1/3", "2/3", "3/3"]
    final = results[-1].context["webhook"]
    assert final["body"] == {"id": 1} and final["statusCodeValue"] == 200
    assert final["monitor"]["statusCodeValue"] == 200 and final["monitor"]["body"]["state"] == "success"
    assert stub.count("GET", "/status") == 3
    assert all(c.header("authorization") == ["Bearer t"] for c in stub.calls)


def test_monitor_backs_off_to_15_seconds_after_a_minute(stub: Stub, acts: WebhookActivities, clock: Clock) -> None:
    stub.on("GET", "/status", Reply(200, {"state": "running", "message": "m"}))
    clock.now_ms = 1_000_000 + 61_000
    result = run(acts.monitor_webhook, _monitor_context(stub))
    assert result.status == S.RUNNING and result.backoff_ms == 15_000


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("SUCCESS", S.SUCCEEDED),
        ("Success", S.SUCCEEDED),
        ("Aborted", S.CANCELED),
        ("failed", S.TERMINAL),
        ("queued", S.RUNNING),
    ],
)
def test_monitor_maps_remote_status_case_insensitively(
    stub: Stub, acts: WebhookActivities, state: str, status: S
) -> None:
    stub.on("GET", "/status", Reply(200, {"state": state, "message": "m"}))
    result = run(acts.monitor_webhook, _monitor_context(stub))
    assert result.status == status
    assert result.error == (f"The webhook reported status '{state}'" if status in (S.CANCELED, S.TERMINAL) else None)


def test_monitor_percent_complete(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("GET", "/status", Reply(200, {"pct": 40}), Reply(200, {"pct": 100}))
    context = _monitor_context(stub, statusJsonPath="$.pct", progressJsonPath=None)
    first = run(acts.monitor_webhook, context)
    second = run(acts.monitor_webhook, context)
    assert (first.status, first.context["webhook"]["monitor"]["percentComplete"]) == (S.RUNNING, 40)
    assert (second.status, second.context["webhook"]["monitor"]["percentComplete"]) == (S.SUCCEEDED, 100)


def test_monitor_without_status_path_succeeds_on_any_2xx(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("GET", "/status", Reply(204))
    result = run(acts.monitor_webhook, _monitor_context(stub, statusJsonPath=""))
    assert result.status == S.SUCCEEDED and result.context["webhook"]["monitor"]["statusCode"] == "NO_CONTENT"


def test_monitor_status_path_missing_is_terminal(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("GET", "/status", Reply(200, {"other": 1}))
    result = run(acts.monitor_webhook, _monitor_context(stub))
    assert result.status == S.TERMINAL
    assert result.error == "Unable to parse status: JSON property '$.state' not found in response body"
    assert result.context["webhook"]["monitor"]["error"] == result.error


def test_monitor_retries_5xx_and_counts_per_code_limits(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("GET", "/status", Reply(503), Reply(503), Reply(503))
    context = _monitor_context(stub, retries={"503": {"maxAttempts": 2}})
    statuses = []
    for _ in range(3):
        result = run(acts.monitor_webhook, context)
        statuses.append(result.status)
        context = {**context, **result.context}
    assert statuses == [S.RUNNING, S.RUNNING, S.TERMINAL]
    monitor = context["webhook"]["monitor"]
    assert monitor["pastStatusCodes"] == [503, 503]
    assert monitor["error"].startswith(f"an exception occurred in webhook monitor to {stub.url('/status')}: 503")


def test_monitor_4xx_is_terminal_unless_listed_in_retry_status_codes(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("GET", "/status", Reply(404, {"error": "gone"}))
    result = run(acts.monitor_webhook, _monitor_context(stub))
    assert result.status == S.TERMINAL and result.context["webhook"]["monitor"]["statusCodeValue"] == 404
    result = run(acts.monitor_webhook, _monitor_context(stub, retryStatusCodes=[404]))
    assert result.status == S.RUNNING and result.context["webhook"]["monitor"]["pastStatusCodes"] == [404]


def test_monitor_timeout_and_refused_connection_poll_again(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("GET", "/status", Reply(200, {"state": "success"}, delay=1.5))
    assert run(acts.monitor_webhook, _monitor_context(stub)).status == S.RUNNING
    refused = _monitor_context(stub, statusEndpoint=f"http://127.0.0.1:{free_port()}/status")
    assert run(acts.monitor_webhook, refused).status == S.RUNNING


def test_monitor_only_polls_the_url(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("GET", "/hook", Reply(200, {"state": "success", "message": "m"}))
    context = _monitor_context(stub, monitorOnly=True, statusEndpoint=None, webhook=None)
    result = run(acts.monitor_webhook, context)
    assert result.status == S.SUCCEEDED and stub.count("GET", "/hook") == 1


@pytest.mark.parametrize(
    ("context", "error"),
    [
        ({"statusEndpoint": None}, "Missing required parameter: statusEndpoint = None"),
        (
            {"statusEndpoint": None, "url": None, "monitorOnly": True},
            "Missing required parameter. Either webhook url or statusEndpoint are required",
        ),
    ],
)
def test_monitor_without_an_endpoint_is_terminal(
    stub: Stub, acts: WebhookActivities, context: dict, error: str
) -> None:
    result = run(acts.monitor_webhook, _monitor_context(stub, **context))
    assert result.status == S.TERMINAL and result.error == error and stub.calls == []


# ---- cancel ----------------------------------------------------------------------------------------


def test_cancel_calls_the_cancel_endpoint_with_method_payload_and_headers(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("PUT", "/cancel/1", Reply(200))
    result = run(
        acts.cancel_webhook,
        {
            "url": stub.url("/hook"),
            "cancelEndpoint": stub.url("/cancel/1"),
            "cancelMethod": "put",
            "cancelPayload": {"reason": "user"},
            "customHeaders": {"Authorization": "Bearer t"},
        },
    )
    assert result.status == S.SUCCEEDED
    (call,) = stub.calls
    assert (call.method, call.path, call.json()) == ("PUT", "/cancel/1", {"reason": "user"})
    assert call.header("authorization") == ["Bearer t"]


def test_cancel_defaults_to_post_and_never_fails(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("POST", "/cancel", Reply(500, {"error": "nope"}))
    assert run(acts.cancel_webhook, {"cancelEndpoint": stub.url("/cancel")}).status == S.SUCCEEDED
    assert stub.count("POST", "/cancel") == 1
    refused = {"cancelEndpoint": f"http://127.0.0.1:{free_port()}/cancel"}
    assert run(acts.cancel_webhook, refused).status == S.SUCCEEDED


@pytest.mark.parametrize(
    "context", [{}, {"cancelEndpoint": ""}, {"cancelEndpoint": "URL", "signalCancellation": False}]
)
def test_cancel_does_nothing_without_an_endpoint(stub: Stub, acts: WebhookActivities, context: dict) -> None:
    context = {k: (stub.url("/cancel") if v == "URL" else v) for k, v in context.items()}
    assert run(acts.cancel_webhook, context).status == S.SUCCEEDED
    assert stub.calls == []


@pytest.mark.parametrize(("state", "calls"), [("aborted", 1), ("failed", 1), ("success", 0), ("queued", 0)])
def test_monitor_calls_cancel_endpoint_when_the_webhook_is_canceled_or_fails(
    stub: Stub, acts: WebhookActivities, state: str, calls: int
) -> None:
    stub.on("GET", "/status", Reply(200, {"state": state, "message": "m"}))
    stub.on("POST", "/cancel", Reply(200))
    run(acts.monitor_webhook, _monitor_context(stub, cancelEndpoint=stub.url("/cancel")))
    assert stub.count("POST", "/cancel") == calls


def test_failed_create_calls_cancel_endpoint(stub: Stub, acts: WebhookActivities) -> None:
    stub.on("POST", "/hook", Reply(400))
    stub.on("DELETE", "/cancel", Reply(204))
    result = run(
        acts.create_webhook, {"url": stub.url("/hook"), "cancelEndpoint": stub.url("/cancel"), "cancelMethod": "DELETE"}
    )
    assert result.status == S.TERMINAL and stub.count("DELETE", "/cancel") == 1


# ---- wiring ----------------------------------------------------------------------------------------


def test_build_returns_the_three_named_activities() -> None:
    class Settings:
        webhook_read_timeout_s = 5

    fns = build(Settings(), None)
    names = [activity._Definition.must_from_callable(fn).name for fn in fns]
    assert names == ["create_webhook", "monitor_webhook", "cancel_webhook"]
    fns[0].__self__._http().close()  # type: ignore[attr-defined]


def test_client_factory_is_called_once_and_lazily(stub: Stub) -> None:
    made: list[httpx.Client] = []

    def factory() -> httpx.Client:
        made.append(httpx.Client(timeout=1.0))
        return made[-1]

    acts = WebhookActivities(factory, policy=LOOPBACK)
    assert made == []
    stub.on("POST", "/hook", Reply(200))
    run(acts.create_webhook, {"url": stub.url("/hook")})
    run(acts.create_webhook, {"url": stub.url("/hook")})
    assert len(made) == 1
    made[0].close()

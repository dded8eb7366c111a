"""Denial of service over HTTP against the real stack (uvicorn, worker, store): oversized and deeply nested
bodies, very long stage chains, and expressions that try to keep the API busy. Each attack gets a 4xx in
Gate's error shape or a recorded expression failure, never a 500 and never a hang."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Gate
from workflows.expressions.errors import MAX_DOCUMENT_STEPS

pytestmark = pytest.mark.temporal

MiB = 1024 * 1024


async def raw_request(url: str, head: str, body_chunks: list[bytes] | None = None) -> tuple[int, dict[str, Any]]:
    """Send a hand-written request (headers, then maybe some body) and read the answer; (status, JSON body)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(head.encode("latin-1"))
        for chunk in body_chunks or []:
            writer.write(chunk)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=30)  # the server closes after answering
    finally:
        writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, body = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(body)


def post_head(path: str, **headers: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


def chain(count: int, application: str = "dos", name: str = "chain") -> dict[str, Any]:
    stages = [
        {"refId": str(i), "requisiteStageRefIds": [str(i - 1)] if i else [], "type": "wait", "name": f"w{i}"}
        for i in range(count)
    ]
    return {"application": application, "name": name, "stages": stages}


@pytest.fixture
def http(gate: Gate) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gate.url, timeout=60) as client:
        yield client


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(gate: Gate) -> None:
    """Content-Length of 100 MiB and not one byte of body: the answer comes at once (the server never waits)."""
    status, body = await raw_request(gate.url, post_head("/pipelines", Content_Length=str(100 * MiB)))
    assert status == 413
    assert body["status"] == 413 and body["error"] == HTTPStatus(413).phrase and body["path"] == "/pipelines"
    assert "2097152 bytes" in body["message"] and "request_limits.max_body_bytes" in body["message"]


async def test_webhooks_have_their_own_larger_limit(gate: Gate) -> None:
    status, body = await raw_request(gate.url, post_head("/webhooks/webhook/ci", Content_Length=str(6 * MiB)))
    assert status == 413 and "request_limits.webhook_max_body_bytes" in body["message"]
    payload = {"blob": "x" * (3 * MiB)}  # over the default limit, under the webhooks' one
    async with httpx.AsyncClient(base_url=gate.url, timeout=60) as client:
        accepted = await client.post("/webhooks/webhook/ci", json=payload)
        assert accepted.status_code == 200, accepted.text
    status, _ = await raw_request(gate.url, post_head("/pipelines", Content_Length=str(3 * MiB)))
    assert status == 413


async def test_a_chunked_body_is_cut_off_when_it_passes_the_limit(gate: Gate) -> None:
    chunk = b"x" * 65536
    count = 2 * MiB // len(chunk) + 8  # past the limit; nothing past it is kept, and the client still gets the 413
    framed = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(count)] + [b"0\r\n\r\n"]
    status, body = await raw_request(gate.url, post_head("/pipelines", Transfer_Encoding="chunked"), framed)
    assert status == 413 and "request_limits.max_body_bytes" in body["message"]


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deeply_nested_json_is_a_400_naming_the_limit(http: httpx.Client, depth: int) -> None:
    body = "[" * depth + "]" * depth
    for path in ("/pipelines", "/webhooks/webhook/ci", "/pipelines/start", "/pipelines/E1/evaluateVariables"):
        response = http.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.text)
        assert "nested more than 256 levels" in response.json()["message"]
        assert "request_limits.max_json_depth" in response.json()["message"]
    # brackets inside strings are text, not nesting
    quoted = {"application": "dos", "name": "quoted", "description": "[" * 10_000, "stages": []}
    assert http.post("/pipelines", json=quoted).status_code == 200


def test_nesting_under_the_limit_is_accepted(http: httpx.Client) -> None:
    deep: Any = "bottom"
    for _ in range(200):
        deep = {"d": deep}
    pipeline = {"application": "dos", "name": "nested", "stages": [{"refId": "1", "type": "wait", "extra": deep}]}
    saved = http.post("/pipelines", json=pipeline)
    assert saved.status_code == 200, saved.text
    got = http.get("/applications/dos/pipelineConfigs/nested").json()
    assert got["stages"][0]["extra"] == deep


def test_a_1500_stage_chain_is_saved_validated_and_read_back(http: httpx.Client) -> None:
    saved = http.post("/pipelines", json=chain(1500))
    assert saved.status_code == 200, saved.text
    got = http.get("/applications/dos/pipelineConfigs/chain").json()
    assert len(got["stages"]) == 1500 and got["stages"][-1]["requisiteStageRefIds"] == ["1498"]
    looped = chain(1500, name="loop")
    looped["stages"][0]["requisiteStageRefIds"] = ["1499"]
    refused = http.post("/pipelines", json=looped)
    assert refused.status_code == 400 and "cycle" in refused.json()["message"]


def test_a_10000_stage_chain_is_a_400_naming_the_limit(http: httpx.Client) -> None:
    refused = http.post("/pipelines", json=chain(10_000, name="huge"))
    assert refused.status_code == 400, refused.text
    assert "10000 stages" in refused.json()["message"] and "limit is 5000" in refused.json()["message"]


# ---- expressions evaluated by the API --------------------------------------------------------------


def finished_execution(http: httpx.Client, gate: Gate) -> str:
    pipeline = {"application": "dos", "name": "done", "stages": [{"refId": "1", "type": "wait", "waitTime": 0}]}
    assert http.post("/pipelines", json=pipeline).status_code == 200
    started = http.post("/pipelines/dos/done", json={"parameters": {"word": "a" * 5000}})
    assert started.status_code == 202, started.text
    execution_id = started.json()["ref"].removeprefix("/pipelines/")
    deadline = time.monotonic() + 60
    while http.get(f"/pipelines/{execution_id}").json().get("status") != "SUCCEEDED":
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.05)
    return execution_id


def test_expressions_cannot_keep_the_api_busy(http: httpx.Client, gate: Gate) -> None:
    execution_id = finished_execution(http, gate)
    url = f"/pipelines/{execution_id}/evaluateExpression"

    started = time.monotonic()
    answer = http.get(url, params={"expression": "${trigger.parameters.word matches '(a+)+$'}"}).json()
    assert answer == {"result": True}
    answer = http.get(url, params={"expression": "${(trigger.parameters.word + 'b') matches '(a|aa)*c'}"}).json()
    assert answer == {"result": False}
    assert time.monotonic() - started < 10  # backtracking engines take hours here

    bad = http.get(url, params={"expression": "${'aa' matches '(a)\\1'}"}).json()
    assert bad["result"] == "${'aa' matches '(a)\\1'}"
    assert "backreferences" in json.dumps(bad["detail"])

    # every ${} of one request draws from one step budget: many cheap-looking pieces add up
    piece = "${{1,2,3,4,5,6,7,8,9,10}.![{1,2,3,4,5,6,7,8,9,10}.![{1,2,3,4,5,6,7,8,9,10}.![#this]]].size()}"
    many = http.post(url, json={"expression": piece * 400})
    assert many.status_code == 200, many.text
    detail = json.dumps(many.json()["detail"])
    assert f"step budget of {MAX_DOCUMENT_STEPS}" in detail and "ERROR" in detail


def test_evaluate_variables_share_one_budget(http: httpx.Client, gate: Gate) -> None:
    execution_id = finished_execution(http, gate)
    heavy = "${{1,2,3,4,5,6,7,8,9,10}.![{1,2,3,4,5,6,7,8,9,10}.![{1,2,3,4,5,6,7,8,9,10}.![#this]]].size()}"
    variables = [{"key": f"v{i}", "value": heavy} for i in range(600)]
    response = http.post(f"/pipelines/{execution_id}/evaluateVariables", json=variables)
    assert response.status_code == 200, response.text
    values = [v["value"] for v in response.json()["result"]]
    assert values[0] == 10 and values[-1] == heavy  # the first ones ran, the last ones found the budget spent
    assert "step budget" in json.dumps(response.json()["detail"])


@pytest.fixture
def short_time_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read by the settings the `gate` fixture builds (request it before `gate`)."""
    monkeypatch.setenv("GENNAKER_REQUEST_LIMITS__EXPRESSION_TIME_BUDGET_S", "0.01")


def test_the_time_budget_stops_a_slow_evaluation(short_time_budget: None, http: httpx.Client, gate: Gate) -> None:
    execution_id = finished_execution(http, gate)
    slow = "${{1,2,3,4,5,6,7,8,9,10}.![#this * 2].size()}"
    variables = [{"key": f"v{i}", "value": slow} for i in range(2000)]
    response = http.post(f"/pipelines/{execution_id}/evaluateVariables", json=variables)
    assert response.status_code == 200, response.text
    detail = json.dumps(response.json()["detail"])
    assert "time budget of 0.01 s" in detail and "request_limits.expression_time_budget_s" in detail


# ---- expressions evaluated inside workflows (the Temporal sandbox) ---------------------------------


def run_to_end(http: httpx.Client, pipeline: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    assert http.post("/pipelines", json=pipeline).status_code == 200
    started = http.post(f"/pipelines/{pipeline['application']}/{pipeline['name']}", json={"parameters": parameters})
    assert started.status_code == 202, started.text
    execution_id = started.json()["ref"].removeprefix("/pipelines/")
    deadline = time.monotonic() + 90
    while (execution := http.get(f"/pipelines/{execution_id}").json()).get("status") not in ("SUCCEEDED", "TERMINAL"):
        assert time.monotonic() < deadline, f"the execution did not finish: {execution.get('status')}"
        time.sleep(0.05)
    return execution


def test_stage_expressions_use_re2_and_one_budget_inside_the_workflow(http: httpx.Client) -> None:
    """The workflow sandbox imports RE2; a catastrophic pattern in a stage context ends at once; a stage context
    whose expressions together pass the document budget is evaluated as far as the budget goes and the rest is
    recorded in expressionEvaluationSummary (the stage still runs, as Orca runs it)."""
    heavy = "${{1,2,3,4,5,6,7,8,9,10}.![{1,2,3,4,5,6,7,8,9,10}.![{1,2,3,4,5,6,7,8,9,10}.![#this]]].size()}"
    pipeline = {
        "application": "dos",
        "name": "engine",
        "stages": [
            {
                "refId": "1",
                "type": "evaluateVariables",
                "variables": [
                    {"key": "release", "value": "${trigger.parameters.tag matches 'release-(\\d+)\\.(\\d+)'}"},
                    {"key": "hang", "value": "${(trigger.parameters.word + '!') matches '(a+)+$'}"},
                    {"key": "minor", "value": "${trigger.parameters.tag.replaceAll('release-\\d+\\.(\\d+)', '$1')}"},
                ],
            },
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "wait",
                "waitTime": 0,
                "many": [heavy] * 600,
            },
        ],
    }
    execution = run_to_end(http, pipeline, {"tag": "release-12.7", "word": "a" * 9_000})
    assert execution["status"] == "SUCCEEDED", execution
    first, second = sorted(execution["stages"], key=lambda s: s["refId"])
    assert first["outputs"]["release"] is True and first["outputs"]["hang"] is False
    assert first["outputs"]["minor"] == "7"
    many = second["context"]["many"]
    assert many[0] == 10 and many[-1] == heavy  # the budget ran out part way through the document
    summary = json.dumps(second["context"]["expressionEvaluationSummary"])
    assert f"step budget of {MAX_DOCUMENT_STEPS}" in summary


def test_bodies_nested_just_under_the_limit_are_never_a_500(http: httpx.Client) -> None:
    deep: Any = "bottom"
    for _ in range(250):
        deep = [deep]
    pipeline = {"application": "dos", "name": "deep", "stages": [{"refId": "1", "type": "wait", "waitTime": 0}]}
    assert http.post("/pipelines", json=pipeline).status_code == 200
    attempts = {
        "/pipelines": {**pipeline, "name": "deeper", "stages": [{"refId": "1", "type": "wait", "x": deep}]},
        "/pipelines/dos/deep": {"parameters": {"p": deep}, "extra": deep},
        "/webhooks/webhook/ci": {"payload": deep},
        "/webhooks/git/github": {"ref": deep},
        "/pipelines/start": {"application": "dos", "name": "deep", "x": deep},
        "/pipelines/bulksave": [{**pipeline, "name": "bulk", "x": deep}],
    }
    for path, body in attempts.items():
        response = http.post(path, json=body)
        assert response.status_code < 500, (path, response.status_code, response.text)

"""Server-side request forgery over HTTP against the real stack (``gate``: Gate on uvicorn, a worker,
the store, Temporal) with a fresh install's settings: a webhook stage aimed at the cloud metadata
service or at the API itself ends TERMINAL with the rule's message, and nothing is fetched."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.temporal

DONE = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED"}


async def _run_webhook(gate: Any, name: str, stage: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        pipeline = {"application": "ssrf", "name": name, "stages": [{"refId": "1", "type": "webhook", **stage}]}
        saved = await http.post("/pipelines", json=pipeline)
        assert saved.status_code == 200, saved.text
        started = await http.post(f"/pipelines/ssrf/{name}", json={})
        assert started.status_code in (200, 202), started.text
        execution_id = started.json()["ref"].removeprefix("/pipelines/")
        deadline = asyncio.get_running_loop().time() + 60
        body: dict[str, Any] = {}
        while asyncio.get_running_loop().time() < deadline:
            answer = await http.get(f"/pipelines/{execution_id}")
            if answer.status_code == 200:
                body = answer.json()
                if body["status"] in DONE:
                    return body
            await asyncio.sleep(0.1)
    raise AssertionError(f"the execution did not finish: {body}")


async def test_webhook_to_the_metadata_service_ends_terminal_naming_the_rule(gate: Any) -> None:
    assert gate.settings.outbound.allow_cidrs == []  # a fresh install's settings
    url = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    done = await _run_webhook(gate, "metadata", {"url": url, "method": "GET"})
    stage = done["stages"][0]
    expected = f"webhook url {url}: address 169.254.169.254 is link-local (outbound.reject_link_local)"
    assert done["status"] == "TERMINAL" and stage["status"] == "TERMINAL"
    assert stage["context"]["webhook"]["error"] == expected
    assert stage["context"]["exception"]["details"]["errors"] == [expected]  # what Deck shows


async def test_webhook_to_the_api_itself_in_decimal_ends_terminal(gate: Any) -> None:
    port = httpx.URL(gate.url).port
    url = f"http://2130706433:{port}/applications"  # 127.0.0.1, the API's own address
    done = await _run_webhook(
        gate, "loopback", {"url": url, "method": "POST", "payload": {"name": "pwned"}, "customHeaders": {}}
    )
    stage = done["stages"][0]
    assert stage["status"] == "TERMINAL"
    assert stage["context"]["webhook"]["error"] == (
        f"webhook url http://2130706433:{port}/applications: address 127.0.0.1 is loopback (outbound.reject_localhost)"
    )


async def test_a_notification_to_the_metadata_service_fails_naming_the_rule(gate: Any) -> None:
    address = "http://169.254.169.254/latest/meta-data/?token=sekrit"
    pipeline = {
        "application": "ssrf",
        "name": "told",
        "notifications": [{"type": "webhook", "address": address, "when": ["pipeline.complete"]}],
        "stages": [{"refId": "1", "type": "wait", "waitTime": 0}],
    }
    async with httpx.AsyncClient(base_url=gate.url, timeout=30) as http:
        assert (await http.post("/pipelines", json=pipeline)).status_code == 200
        execution_id = (await http.post("/pipelines/ssrf/told", json={})).json()["ref"].removeprefix("/pipelines/")
        deadline = asyncio.get_running_loop().time() + 60
        found: list[dict[str, Any]] = []
        body: dict[str, Any] = {}
        while not found and asyncio.get_running_loop().time() < deadline:
            body = (await http.get(f"/pipelines/{execution_id}")).json()
            found = [n for n in body.get("systemNotifications", []) if n.get("group") == "notification"]
            if not found:
                await asyncio.sleep(0.1)
    assert found, body
    assert body["status"] == "SUCCEEDED"  # a failing notification does not fail the pipeline (Echo's way)
    message = found[0]["message"]
    assert "address 169.254.169.254 is link-local (outbound.reject_link_local)" in message
    assert "sekrit" not in json.dumps(found)  # the webhook URL's query is its credential

"""The Web UI's codec endpoint: Temporal's remote codec protocol, CORS for the UI's origin, auth when on."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.client import Client
from temporalio.converter import DataConverter

from api.auth.tokens import issue
from gennaker.payloads.codec import ENCODING, reference
from tests.api.auth_support import auth_api, bearer
from tests.conftest import Gate, venv_bin

BIG = {"manifest": "m" * 300_000}


def started_input(history_json: str) -> dict[str, Any]:
    """The first input payload of the workflow's start event, as `temporal workflow show -o json` prints it."""
    first = json.loads(history_json)["events"][0]
    return first["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]  # type: ignore[no-any-return]


def as_json(value: Any) -> dict[str, Any]:
    return MessageToDict(DataConverter.default.payload_converter.to_payloads([value])[0])


async def test_encode_then_decode_as_the_web_ui_does(tmp_path: Path) -> None:
    async with auth_api(tmp_path, enabled=False) as api:
        small, big = as_json({"a": 1}), as_json(BIG)
        encoded = await api.http.post("/payloads/codec/encode", json={"payloads": [small, big]})
        assert encoded.status_code == 200, encoded.text
        kept, reference = encoded.json()["payloads"]
        assert kept == small
        assert base64.b64decode(reference["metadata"]["encoding"]) == ENCODING
        assert len(reference["data"]) < 300
        decoded = await api.http.post(
            "/payloads/codec/decode", json={"payloads": [kept, reference]}, headers={"X-Namespace": "default"}
        )
        assert decoded.status_code == 200, decoded.text
        assert decoded.json()["payloads"] == [small, big]


async def test_errors_name_the_key_or_the_field(tmp_path: Path) -> None:
    key = "ab" * 32  # never stored
    gone = MessageToDict(reference(key, 1234, DataConverter.default.payload_converter.to_payloads([BIG])[0]))
    async with auth_api(tmp_path, enabled=False) as api:
        missing = await api.http.post("/payloads/codec/decode", json={"payloads": [gone]})
        assert missing.status_code == 404
        assert key in missing.json()["message"] and missing.json()["key"] == key
        bad = await api.http.post("/payloads/codec/decode", json={"items": []})
        assert bad.status_code == 400 and bad.json()["field"] == "payloads"
        worse = await api.http.post("/payloads/codec/decode", json={"payloads": [{"metadata": 5}]})
        assert worse.status_code == 400 and worse.json()["field"] == "payloads[0]"


async def test_the_web_ui_origin_may_call_it(tmp_path: Path) -> None:
    async with auth_api(tmp_path, enabled=False) as api:
        origin = "http://localhost:8233"  # the dev server's Web UI (settings.dev_server.ui_port)
        headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
        preflight = await api.http.options("/payloads/codec/decode", headers=headers)
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "x-namespace" in preflight.headers["access-control-allow-headers"].lower()
        answer = await api.http.post("/payloads/codec/decode", json={"payloads": []}, headers={"Origin": origin})
        assert answer.json() == {"payloads": []} and answer.headers["access-control-allow-origin"] == origin
        stranger = await api.http.options("/payloads/codec/decode", headers={**headers, "Origin": "http://evil"})
        assert "access-control-allow-origin" not in stranger.headers


async def test_with_auth_on_only_authenticated_callers_are_answered(tmp_path: Path) -> None:
    async with auth_api(tmp_path) as api:
        body = {"payloads": [as_json(BIG)]}
        refused = await api.http.post("/payloads/codec/encode", json=body)
        assert refused.status_code == 401
        refused = await api.http.post("/payloads/codec/decode", json=body)
        assert refused.status_code == 401
        token, _ = issue(api.store, "dev-user", ["dev"], expires="1h", by="test")
        answered = await api.http.post("/payloads/codec/encode", json=body, headers=bearer(token))
        assert answered.status_code == 200
        [ref] = answered.json()["payloads"]
        decoded = await api.http.post("/payloads/codec/decode", json={"payloads": [ref]}, headers=bearer(token))
        assert decoded.json()["payloads"] == body["payloads"]


@pytest.mark.temporal
async def test_temporals_own_cli_shows_the_values_through_the_endpoint(client: Client, gate: Gate) -> None:
    """The protocol as Temporal's tools speak it: `temporal workflow show --codec-endpoint` over real HTTP."""
    workflow_id = f"codec-cli-{uuid.uuid4()}"
    marker = "visible-through-the-codec-"
    handle = await client.start_workflow(
        "NobodyRunsThis", {"body": marker * 20_000}, id=workflow_id, task_queue=f"none-{uuid.uuid4()}"
    )
    try:
        base = [
            venv_bin("temporal"),
            "workflow",
            "show",
            "--workflow-id",
            workflow_id,
            "--address",
            client.service_client.config.target_host,
            "--output",
            "json",
        ]
        plain = await asyncio.to_thread(subprocess.run, base, capture_output=True, text=True, timeout=60)
        assert plain.returncode == 0, plain.stderr
        shown = started_input(plain.stdout)  # history holds the reference only
        assert base64.b64decode(shown["metadata"]["encoding"]) == ENCODING
        decoded = await asyncio.to_thread(
            subprocess.run,
            [*base, "--codec-endpoint", f"{gate.url}/payloads/codec"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert decoded.returncode == 0, decoded.stderr
        shown = started_input(decoded.stdout)
        assert base64.b64decode(shown["metadata"]["encoding"]) == b"json/plain"
        assert json.loads(base64.b64decode(shown["data"])) == {"body": marker * 20_000}
    finally:
        await handle.terminate("test over")

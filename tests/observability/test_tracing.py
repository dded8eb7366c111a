"""One trace from a Gate call to an activity's outbound HTTP call: the real API (uvicorn) and ``worker.py`` with
``observability.otlp_endpoint`` set export to an in-process OTLP collector; the API's server span, the
workflow's and the activity's spans and the webhook's httpx client span share one trace id."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.ops.procs import Running, clean_env, free_port, wait_until

from .otlp_collector import OtlpCollector

pytestmark = [pytest.mark.temporal, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
APP = "traceapp"
SERVER, CLIENT = 2, 3  # OTLP's SpanKind numbers


def _up(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def test_one_trace_from_the_api_through_the_workflow_to_the_activitys_http_call(
    temporal_env: WorkflowEnvironment, tmp_path: Path, payload_settings: dict[str, str]
) -> None:
    with OtlpCollector() as collector:
        port = free_port()
        env = clean_env(
            GENNAKER_TEMPORAL__ADDRESS=temporal_env.client.service_client.config.target_host,
            GENNAKER_TASK_QUEUE=f"trace-{uuid.uuid4().hex[:8]}",
            GENNAKER_STATE_DIR=str(tmp_path / "state"),
            GENNAKER_PAYLOADS=json.dumps(payload_settings),
            GENNAKER_RECONCILER__ENABLED="false",
            GENNAKER_OUTBOUND__ALLOW_CIDRS='["127.0.0.0/8"]',
            GENNAKER_OBSERVABILITY__OTLP_ENDPOINT=collector.url + "/v1/traces",
            OTEL_BSP_SCHEDULE_DELAY="200",
        )
        worker = Running([sys.executable, "worker.py"], env, ROOT, name="worker")
        api = Running(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)],
            env,
            ROOT,
            name="API",
        )
        url = f"http://127.0.0.1:{port}"
        try:
            assert await asyncio.to_thread(wait_until, lambda: _up(url), 90), api.output
            await asyncio.to_thread(worker.wait_for, "worker ready on", 90)
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                stage = {
                    "refId": "1",
                    "type": "webhook",
                    "name": "call",
                    "url": collector.url + "/hook",
                    "method": "GET",
                }
                config = {"application": APP, "name": "traced", "stages": [stage], "triggers": []}
                (await http.post("/pipelines", json=config)).raise_for_status()
                ref = (await http.post(f"/pipelines/{APP}/traced", json={"type": "manual"})).raise_for_status().json()
                execution_id = ref["ref"].rsplit("/", 1)[-1]
                for _ in range(300):
                    execution = (await http.get(f"/pipelines/{execution_id}")).json()
                    if execution.get("status") not in (None, "NOT_STARTED", "RUNNING"):
                        break
                    await asyncio.sleep(0.1)
            assert execution["status"] == "SUCCEEDED", execution
            assert "/hook" in collector.hits

            def traced() -> bool:
                roots = [
                    s
                    for s in collector.spans
                    if s.service == "gennaker-api" and s.kind == SERVER and "/pipelines/{application}" in s.name
                ]
                if not roots:
                    return False
                trace = {s for s in collector.spans if s.trace_id == roots[0].trace_id}
                # the webhook's httpx call (a client span) under the webhook activity, in the worker
                outbound = any(s.service == "gennaker-worker" and s.kind == CLIENT and s.name == "GET" for s in trace)
                return outbound and any(s.name == "RunActivity:create_webhook" for s in trace)

            deadline = time.monotonic() + 30
            while not traced() and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            names = sorted({(s.service, s.name, s.trace_id[:8]) for s in collector.spans})
            assert traced(), names
            root = next(
                s
                for s in collector.spans
                if s.service == "gennaker-api" and s.kind == SERVER and "/pipelines/{application}" in s.name
            )
            trace = [s for s in collector.spans if s.trace_id == root.trace_id]
            kinds = {s.name.split(":", 1)[0] for s in trace}
            assert {"StartWorkflow", "RunWorkflow", "RunActivity"} <= kinds, names
            worker_spans = {s.name for s in trace if s.service == "gennaker-worker"}
            assert {"RunActivity:create_webhook", "GET"} <= worker_spans, names  # the webhook's httpx call
        finally:
            api.kill()
            worker.kill()

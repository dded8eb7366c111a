"""The real processes, scraped after a pipeline: ``python worker.py`` with its metrics port and the API under
uvicorn, both against the session's Temporal dev server and one SQLite store. The counters moved, the SDK's
``temporal_*`` metrics are on the worker's port, HTTP requests are counted by route template, promtool accepts
both texts, and every metric the Grafana dashboard queries is there."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from core.observability.metrics import FAMILIES
from tests.ops.procs import Running, clean_env, free_port, wait_until

pytestmark = [pytest.mark.temporal, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "ops" / "grafana" / "gennaker.json"
APP = "metricsapp"


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Metric name → [(labels, value)] from Prometheus text (enough of the format for these assertions)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)", line)
        if match:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            out.setdefault(match.group(1), []).append((labels, float(match.group(3))))
    return out


def families(text: str) -> set[str]:
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for got, v in found.get(name, []) if all(got.get(k) == want for k, want in labels.items()))


def dashboard_metrics() -> set[str]:
    """The metric names the dashboard's queries read (histograms by their family name)."""
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in doc["panels"] for t in panel.get("targets", [])]
    names = set()
    for expr in exprs:
        for name in re.findall(r"\b((?:gennaker|temporal)_[a-z0-9_]+)", expr):
            names.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return names


def promtool_check(text: str) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: make tools installs Debian's prometheus"
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_metrics_after_a_pipeline_on_the_api_and_the_worker(
    temporal_env: WorkflowEnvironment, tmp_path: Path, payload_settings: dict[str, str]
) -> None:
    api_port, metrics_port = free_port(), free_port()
    env = clean_env(
        GENNAKER_TEMPORAL__ADDRESS=temporal_env.client.service_client.config.target_host,
        GENNAKER_TASK_QUEUE=f"metrics-{uuid.uuid4().hex[:8]}",
        GENNAKER_STATE_DIR=str(tmp_path / "state"),
        GENNAKER_PAYLOADS=json.dumps(payload_settings),
        GENNAKER_RECONCILER__ENABLED="false",
        GENNAKER_OBSERVABILITY__WORKER_METRICS_PORT=str(metrics_port),
        GENNAKER_OBSERVABILITY__LOG_FORMAT="json",
    )
    worker = Running([sys.executable, "worker.py"], env, ROOT, name="worker")
    api = Running(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(api_port)],
        env,
        ROOT,
        name="API",
    )
    api_url, worker_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{metrics_port}"
    try:
        assert await asyncio.to_thread(wait_until, lambda: _get(api_url + "/health") is not None, 90), api.output
        await asyncio.to_thread(worker.wait_for, "worker ready on", 90)
        async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
            config = {
                "application": APP,
                "name": "observed",
                "stages": [{"refId": "1", "type": "wait", "name": "pause", "waitTime": 1}],
                "triggers": [{"type": "webhook", "source": "metrics-hook", "enabled": True}],
            }
            (await http.post("/pipelines", json=config)).raise_for_status()
            ref = (await http.post(f"/pipelines/{APP}/observed", json={"type": "manual"})).raise_for_status().json()
            execution_id = ref["ref"].rsplit("/", 1)[-1]
            hooked = (await http.post("/webhooks/webhook/metrics-hook", json={})).raise_for_status().json()
            hooked_ids = [x["executionId"] for x in hooked.get("executions") or [] if x.get("executionId")]
            assert len(hooked_ids) == 1, hooked
            for run in (execution_id, *hooked_ids):
                for _ in range(300):
                    execution = (await http.get(f"/pipelines/{run}")).json()
                    if execution.get("status") == "SUCCEEDED":
                        break
                    await asyncio.sleep(0.1)
                assert execution["status"] == "SUCCEEDED", execution
            api_text = (await http.get("/metrics")).raise_for_status().text

        # the finish is counted by the projection write that lands it: the worker has it once the API reads it
        worker_text = httpx.get(worker_url + "/metrics", timeout=10).raise_for_status().text
        found = samples(worker_text)
        assert value(found, "gennaker_executions_started_total", application=APP, type="PIPELINE") == 2
        assert value(found, "gennaker_executions_finished_total", application=APP, status="SUCCEEDED") == 2
        assert value(found, "gennaker_stage_duration_seconds_count", type="wait", status="SUCCEEDED") == 2
        assert value(found, "gennaker_stage_duration_seconds_sum", type="wait") >= 2.0
        assert any(name.startswith("temporal_") for name in found), "the Temporal SDK's metrics are missing"
        assert value(found, "temporal_workflow_completed_total") >= 1

        on_api = samples(api_text)
        assert value(on_api, "gennaker_trigger_events_total", type="webhook", outcome="accepted") == 1
        assert (
            value(on_api, "gennaker_http_requests_total", method="GET", route="/pipelines/{execution_id}", status="200")
            >= 1
        )
        routes = {labels["route"] for labels, _ in on_api["gennaker_http_requests_total"]}
        assert not any(execution_id in route for route in routes), routes  # templates, never raw paths
        assert value(on_api, "gennaker_http_request_duration_seconds_count", route="/pipelines") >= 1

        # both processes time their garbage collections; settling at start-up ran a full one in each
        assert value(found, "gennaker_gc_pause_seconds_count", generation="2") >= 1
        assert value(on_api, "gennaker_gc_pause_seconds_count", generation="2") >= 1
        promtool_check(worker_text)
        promtool_check(api_text)
        exposed = families(worker_text) | families(api_text)
        assert set(FAMILIES) <= exposed, sorted(set(FAMILIES) - exposed)
        # the SDK creates its failure counters at the first failure (a run without one does not expose them)
        missing = {m for m in dashboard_metrics() - exposed if not (m.startswith("temporal_") and "failure" in m)}
        assert not missing, f"the dashboard queries metrics no process exposes: {sorted(missing)}"

        # JSON logs from the worker's activities carry the execution they worked for
        lines = [json.loads(x) for x in worker.lines if x.startswith("{")]
        assert lines and all({"time", "level", "logger", "message"} <= set(doc) for doc in lines)
        assert any(doc["message"].startswith("worker ready on") for doc in lines)
        assert any(
            doc["message"].startswith("worker started: ") and "objects frozen" in doc["message"] for doc in lines
        )
        # the API's lines, uvicorn's own included, are JSON too
        api_lines = [json.loads(x) for x in api.lines if x.startswith("{")]
        assert any(doc["logger"].startswith("uvicorn") for doc in api_lines), api.output
    finally:
        api.kill()
        worker.kill()

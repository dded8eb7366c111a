"""Gennaker's metrics without servers: what a projection write counts (once), bounded labels, the HTTP
middleware's route templates, and several processes summed in multiprocess mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from fastapi import FastAPI

from core.observability import metrics

ROOT = Path(__file__).resolve().parents[2]


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def _update(eid: str, status: str, *, stages: list[dict[str, object]] | None = None) -> dict[str, object]:
    execution = {"status": status, "type": "PIPELINE", "startTime": 1_000}
    if status != "RUNNING":
        execution["endTime"] = 9_000
    return {
        "id": eid,
        "application": "countapp",
        "version": 1,
        "execution": execution,
        "stages": [{"seq": 0, "stage": s} for s in stages or []],
    }


def test_a_projection_write_counts_a_start_a_finish_and_a_stage_once() -> None:
    before = {
        "started": sample("gennaker_executions_started_total", application="countapp", type="PIPELINE"),
        "finished": sample(
            "gennaker_executions_finished_total", application="countapp", type="PIPELINE", status="TERMINAL"
        ),
        "stages": sample("gennaker_stage_duration_seconds_count", type="deploy", status="TERMINAL"),
        "seconds": sample("gennaker_stage_duration_seconds_sum", type="deploy", status="TERMINAL"),
    }
    running = _update("01COUNT", "RUNNING")
    metrics.observe_projection_write(running, {"applied": True, "finishedFirst": False})
    metrics.observe_projection_write(running, {"applied": True, "finishedFirst": False})  # a retried write
    stage = {"id": "s1", "type": "deploy", "status": "TERMINAL", "startTime": 2_000, "endTime": 4_500}
    done = _update("01COUNT", "TERMINAL", stages=[stage])
    metrics.observe_projection_write(done, {"applied": True, "finishedFirst": True})
    metrics.observe_projection_write(done, {"applied": True, "finishedFirst": False})  # written again
    metrics.observe_projection_write(_update("01OTHER", "RUNNING"), {"applied": False, "finishedFirst": False})

    assert sample("gennaker_executions_started_total", application="countapp", type="PIPELINE") == before["started"] + 1
    finished = sample("gennaker_executions_finished_total", application="countapp", type="PIPELINE", status="TERMINAL")
    assert finished == before["finished"] + 1
    assert sample("gennaker_stage_duration_seconds_count", type="deploy", status="TERMINAL") == before["stages"] + 1
    assert sample("gennaker_stage_duration_seconds_sum", type="deploy", status="TERMINAL") == before["seconds"] + 2.5


def test_a_stage_without_times_or_still_running_is_not_observed() -> None:
    before = sample("gennaker_stage_duration_seconds_count", type="wait", status="RUNNING")
    succeeded_before = sample("gennaker_stage_duration_seconds_count", type="wait", status="SUCCEEDED")
    running = {"id": "s2", "type": "wait", "status": "RUNNING", "startTime": 1}
    timeless: dict[str, object] = {"id": "s3", "type": "wait", "status": "SUCCEEDED"}
    update = _update("01TIMES", "RUNNING", stages=[running, timeless])
    metrics.observe_projection_write(update, {"applied": True, "finishedFirst": False})
    assert sample("gennaker_stage_duration_seconds_count", type="wait", status="RUNNING") == before
    # the registry is the process's: other tests' engines observed wait stages too, so compare with before
    assert sample("gennaker_stage_duration_seconds_count", type="wait", status="SUCCEEDED") == succeeded_before


def test_labels_are_bounded_and_never_empty() -> None:
    metrics.trigger_event("", outcome="refused")
    metrics.deploy_operation("aws", "x" * 500, "succeeded")
    assert sample("gennaker_trigger_events_total", type="unknown", outcome="refused") >= 1
    assert sample("gennaker_deploy_operations_total", provider="aws", operation="x" * 100, result="succeeded") == 1


def test_event_deliveries_count_and_observe_the_lag() -> None:
    def now() -> tuple[float, float, float]:  # the process's registry: tests/events deliver to "splunk" too
        return (
            sample("gennaker_event_deliveries_total", endpoint="splunk", result="delivered"),
            sample("gennaker_event_deliveries_total", endpoint="splunk", result="failed"),
            sample("gennaker_event_delivery_lag_seconds_count", endpoint="splunk"),
        )

    before = now()
    metrics.event_delivered("splunk", "delivered", lag_seconds=0.2)
    metrics.event_delivered("splunk", "failed")
    assert tuple(b - a for a, b in zip(before, now(), strict=True)) == (1, 1, 1)


def test_notification_sends_count_by_a_bounded_type() -> None:
    def now() -> tuple[float, float, float]:
        return (
            sample("gennaker_notifications_total", type="slack", result="retrying"),
            sample("gennaker_notifications_total", type="other", result="failed"),
            sample("gennaker_notification_lag_seconds_count"),
        )

    before = now()
    metrics.notification_sent("slack", "retrying")
    metrics.notification_sent("a-type-someone-typed", "failed")  # never a label of its own
    metrics.notifications_started(0.4)
    assert tuple(b - a for a, b in zip(before, now(), strict=True)) == (1, 1, 1)
    assert sample("gennaker_notifications_total", type="a-type-someone-typed", result="failed") == 0


async def test_http_requests_count_by_route_template_not_raw_path() -> None:
    from api.metrics import HttpMetricsMiddleware, router

    app = FastAPI()
    app.add_middleware(HttpMetricsMiddleware)
    app.include_router(router)

    @app.get("/things/{thing_id}")
    def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    things_before = sample("gennaker_http_requests_total", method="GET", route="/things/{thing_id}", status="200")
    unmatched_before = sample("gennaker_http_requests_total", method="GET", route="<unmatched>", status="404")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        for n in range(3):
            assert (await http.get(f"/things/{n}")).status_code == 200
        assert (await http.get("/nowhere/at/all")).status_code == 404
        text = (await http.get("/metrics")).text
    things = sample("gennaker_http_requests_total", method="GET", route="/things/{thing_id}", status="200")
    unmatched = sample("gennaker_http_requests_total", method="GET", route="<unmatched>", status="404")
    assert (things - things_before, unmatched - unmatched_before) == (3, 1)  # the registry is the process's
    assert 'route="/things/0"' not in text and "gennaker_http_request_duration_seconds_bucket" in text


SCRIPT = """
import sys
from core.observability import metrics
metrics.execution_started("multiapp")
metrics.http_request("GET", "/x", 200, 0.01)
if sys.argv[1] == "scrape":
    sys.stdout.write(metrics.exposition()[0].decode())
"""


def test_several_processes_are_summed_in_multiprocess_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), metrics.MULTIPROC_ENV: str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", SCRIPT, "count"], env=env, check=True, cwd=ROOT)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, "scrape"], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert 'gennaker_executions_started_total{application="multiapp",type="PIPELINE"} 3.0' in out
    assert 'gennaker_http_requests_total{method="GET",route="/x",status="200"} 3.0' in out


def test_multiprocess_env_is_a_fresh_directory(tmp_path: Path) -> None:
    first = metrics.multiprocess_env(tmp_path)
    folder = Path(first[metrics.MULTIPROC_ENV])
    (folder / "counter_1.db").write_bytes(b"old")
    assert metrics.multiprocess_env(tmp_path) == first and list(folder.iterdir()) == []


async def test_api_metrics_off_means_no_route_and_no_counting() -> None:
    from api.main import create_app
    from core.settings import Settings
    from core.settings.observability import ObservabilitySettings

    before = sample("gennaker_http_requests_total", method="GET", route="/version", status="200")
    for enabled, scraped in ((False, 404), (True, 200)):
        settings = Settings(observability=ObservabilitySettings(api_metrics=enabled))
        app = create_app(settings, temporal=object(), store=object())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            assert (await http.get("/version")).status_code == 200
            assert (await http.get("/metrics")).status_code == scraped
    # only the app with metrics on counted its /version
    assert sample("gennaker_http_requests_total", method="GET", route="/version", status="200") == before + 1


def test_tracing_is_off_by_default() -> None:
    from core.observability import tracing
    from core.settings import Settings

    settings = Settings()
    assert settings.observability.otlp_endpoint is None
    assert tracing.setup(settings, "api") is False and tracing.temporal_interceptors(settings) == []

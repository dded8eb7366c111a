"""The canary part of ``make demo``: a small service exposing ``/metrics`` for a baseline, a good canary build and a
bad one (50 % more errors) on 127.0.0.1, Debian's prometheus scraping them every second, and two pipelines whose
real-time kayentaCanary passes for the good build and fails for the bad one.

Used by ``gennaker/demo.py`` and by the stage's real-time tests (tests/canary/stage/test_realtime.py).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: build → error-rate level: the bad build has half again the baseline's errors
BUILDS = {"baseline": 2.0, "canary-good": 2.0, "canary-bad": 3.0}
ACCOUNT = "prom-local"
CONFIG_NAME = "demo-errors"


def canary_config(application: str) -> dict[str, Any]:
    """Kayenta's config: one error-rate metric, scoped by the ``build`` label the scrape targets carry."""
    return {
        "name": CONFIG_NAME,
        "applications": [application],
        "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
        "metrics": [
            {
                "name": "error rate",
                "query": {"type": "prometheus", "metricName": "demo_error_rate",
                          "customInlineTemplate": 'build="${scope}"'},
                "groups": ["errors"],
                "analysisConfigurations": {"canary": {"direction": "increase"}},
                "scopeName": "default",
            }
        ],
        "classifier": {"groupWeights": {"errors": 100}},
    }  # fmt: skip


def canary_pipeline(
    application: str, build: str, lifetime: str = "PT30S", interval_mins: float = 0.25
) -> dict[str, Any]:
    """A pipeline whose only stage is a real-time kayentaCanary comparing ``build`` with the baseline."""
    stage = {
        "refId": "1",
        "type": "kayentaCanary",
        "name": "Canary Analysis",
        "analysisType": "realTime",
        "canaryConfig": {
            "canaryConfigName": CONFIG_NAME,
            "metricsAccountName": ACCOUNT,
            "lifetimeDuration": lifetime,
            "canaryAnalysisIntervalMins": interval_mins,
            "scoreThresholds": {"pass": 75, "marginal": 50},
            "scopes": [{"scopeName": "default", "controlScope": "baseline", "experimentScope": build, "step": 1}],
        },
    }
    return {"application": application, "name": f"canary {build}", "stages": [stage]}


class _Metrics(BaseHTTPRequestHandler):
    level = 1.0
    rng = random.Random(0)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path != "/metrics":
            self.send_error(404)
            return
        value = self.level * (1 + self.rng.uniform(-0.1, 0.1))
        body = f"# TYPE demo_error_rate gauge\ndemo_error_rate {value:.6f}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A scrape prometheus gave up on (a busy machine) is no error worth a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass(frozen=True)
class CanaryWorld:
    prometheus_url: str
    targets: dict[str, str]  # build → its /metrics URL

    def account(self) -> dict[str, Any]:
        return {"name": ACCOUNT, "base_url": self.prometheus_url}


@contextmanager
def serve(tmp: Path) -> Iterator[CanaryWorld]:
    """The three builds' metrics servers and a prometheus scraping them every second; stopped afterwards."""
    from gennaker.localstack import free_port

    prometheus = shutil.which("prometheus")
    if not prometheus:
        raise RuntimeError("Debian's prometheus is not installed: run `make tools`")
    servers = []
    for seed, (build, level) in enumerate(BUILDS.items()):
        handler = type(f"Metrics_{seed}", (_Metrics,), {"level": level, "rng": random.Random(seed)})
        server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, name=f"metrics-{build}", daemon=True).start()
        servers.append((build, server))
    targets = {build: f"127.0.0.1:{s.server_address[1]}" for build, s in servers}
    jobs = "".join(
        f"  - job_name: {build}\n    static_configs:\n      - targets: ['{target}']\n"
        f"        labels: {{build: {build}}}\n"
        for build, target in targets.items()
    )
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "prometheus.yml").write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n{jobs}")
    port = free_port()
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [prometheus, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _ready(process, url, tmp)
        yield CanaryWorld(url, {b: f"http://{t}/metrics" for b, t in targets.items()})
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()
        for _, server in servers:
            server.shutdown()
            server.server_close()


def _ready(process: subprocess.Popen[bytes], url: str, tmp: Path) -> None:
    """Until prometheus answers ready and has scraped every build once (its own API says so)."""
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited: {(tmp / 'prometheus.log').read_text()[-2000:]}")
        try:
            answer = httpx.get(f"{url}/api/v1/query", params={"query": "count(demo_error_rate)"}, timeout=2)
            result = answer.json()["data"]["result"] if answer.status_code == 200 else []
            if result and int(float(result[0]["value"][1])) == len(BUILDS):
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.2)  # polling the server's own answer, not guessing a delay
    raise RuntimeError("prometheus did not scrape the demo builds within 60 s")


def save(gate: Any, application: str) -> None:
    """The canary config and the two pipelines, through Gate."""
    from gennaker.client import _call

    gate._send(_call("POST", "/v2/canaryConfig", json=canary_config(application)))
    for build in ("canary-good", "canary-bad"):
        gate.save_pipeline(canary_pipeline(application, build))


def run(gate: Any, application: str) -> bool:
    """Run both pipelines (at once); True when the good build passed and the bad one failed."""
    ok = True
    ids = {build: gate.trigger(application, f"canary {build}") for build in ("canary-good", "canary-bad")}
    for build, expected in (("canary-good", "SUCCEEDED"), ("canary-bad", "TERMINAL")):
        done = gate.wait(ids[build], timeout=300)
        stage = next(s for s in done["stages"] if s["type"] == "kayentaCanary")
        context = stage.get("context") or {}
        scores = context.get("canaryScores") or [
            (s.get("context") or {}).get("canaryScore") for s in done["stages"] if s["type"] == "runCanary"
        ]
        message = context.get("canaryScoreMessage") or ((context.get("exception") or {}).get("details") or {}).get(
            "error"
        )
        print(f"canary {build}: {done['status']} (expected {expected}); interval scores {scores}: {message}")
        run_ids = [
            (s.get("context") or {}).get("canaryPipelineExecutionId")
            for s in done["stages"]
            if s["type"] == "runCanary"
        ]
        if run_ids and run_ids[-1]:
            print(f"canary report: {gate.base_url}/v2/canaries/canary/{run_ids[-1]}/report")
        ok = ok and done["status"] == expected
    return ok

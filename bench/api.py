"""API benchmark: Gate's endpoints over HTTP, against the targets in the requirements.

    make bench-api        # or: .venv/bin/python -m bench.api [--executions 10000] [--duration 60] [--clients 50]

It starts its own dev server (as ``python -m bench`` does), a worker built as ``worker.py`` builds it, the store
on a SQLite file and the API on uvicorn, all on free ports under a temporary directory, then measures with httpx:

* pipeline save (``POST /pipelines``);
* with N executions stored (inserted through the store, finished, over 20 pipeline configs of one application,
  a few of 50 stages): ``GET /applications/{app}/pipelines?limit=25&expand=false`` and ``GET /pipelines/{id}``
  of a 50-stage execution;
* trigger to first stage RUNNING: ``POST /pipelines/{app}/{name}`` of a pipeline whose first stage is a manual
  judgment, then ``GET /pipelines/{id}`` every 5 ms until stage 0 is RUNNING;
* a load of concurrent clients (GETs, a few saves and triggers) for a while: requests/s and failures.

It prints a table; it asserts nothing (the exit code is 1 when the load saw failures).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from gennaker.devserver import DevServer
from gennaker.localstack import ServedApi, free_port
from gennaker.settings import load_settings

APP = "benchapi"
LOAD_APP = "benchload"
CONFIGS = 20
Row = tuple[str, str, str, str, str]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---- shapes ----------------------------------------------------------------------------------------------------


def pipeline_config(application: str, name: str, stages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "application": application,
        "name": name,
        "limitConcurrent": False,
        "keepWaitingPipelines": False,
        "stages": stages,
        "triggers": [],
        "parameterConfig": [],
        "notifications": [],
    }


def wait_stages(n: int) -> list[dict[str, Any]]:
    return [
        {
            "refId": str(i),
            "requisiteStageRefIds": [str(i - 1)] if i else [],
            "type": "wait",
            "name": f"wait {i}",
            "waitTime": 1,
        }
        for i in range(n)
    ]


def judged() -> list[dict[str, Any]]:
    return [
        {"refId": "0", "requisiteStageRefIds": [], "type": "manualJudgment", "name": "judge", "judgmentInputs": []},
        {"refId": "1", "requisiteStageRefIds": ["0"], "type": "wait", "name": "after", "waitTime": 1},
    ]


def finished_execution(config: dict[str, Any], n_stages: int, build_time: int) -> dict[str, Any]:
    """A finished execution shaped as Gate serves it (stages with context, outputs and tasks)."""
    start = build_time + 20
    stages = []
    for i in range(n_stages):
        s_start, s_end = start + i * 1000, start + i * 1000 + 990
        stages.append(
            {
                "id": str(uuid.uuid4()),
                "refId": str(i),
                "requisiteStageRefIds": [str(i - 1)] if i else [],
                "type": "wait",
                "name": f"wait {i}",
                "status": "SUCCEEDED",
                "startTime": s_start,
                "endTime": s_end,
                "context": {"waitTime": 1, "startTime": s_start},
                "outputs": {},
                "tasks": [
                    {
                        "id": "1",
                        "name": "wait",
                        "implementingClass": "com.netflix.spinnaker.orca.pipeline.tasks.WaitTask",
                        "status": "SUCCEEDED",
                        "startTime": s_start,
                        "endTime": s_end,
                        "stageStart": True,
                        "stageEnd": True,
                        "loopStart": False,
                        "loopEnd": False,
                    }
                ],
                "syntheticStageOwner": None,
                "parentStageId": None,
            }
        )
    return {
        "id": str(uuid.uuid4()),
        "type": "PIPELINE",
        "application": config["application"],
        "name": config["name"],
        "pipelineConfigId": config["id"],
        "status": "SUCCEEDED",
        "buildTime": build_time,
        "startTime": start,
        "endTime": start + n_stages * 1000,
        "canceled": False,
        "limitConcurrent": False,
        "keepWaitingPipelines": False,
        "origin": "api",
        "stages": stages,
        "trigger": {
            "type": "manual",
            "user": "bench",
            "parameters": {},
            "artifacts": [],
            "notifications": [],
            "rebake": False,
            "dryRun": False,
            "strategy": False,
            "resolvedExpectedArtifacts": [],
        },
        "authentication": {"user": "bench", "allowedAccounts": []},
        "notifications": [],
        "initialConfig": {},
        "systemNotifications": [],
    }


def seed_executions(store: Any, configs: list[dict[str, Any]], count: int) -> str:
    """Insert ``count`` finished executions over ``configs``; every 200th has 50 stages. Returns one of those."""
    base = int(time.time() * 1000) - count * 60_000
    big = ""
    for i in range(count):
        n_stages = 50 if i % 200 == 0 else 3
        execution = finished_execution(configs[i % len(configs)], n_stages, base + i * 60_000)
        store.save_execution(execution)
        if n_stages == 50:
            big = execution["id"]
    return big


# ---- measures --------------------------------------------------------------------------------------------------


async def timed(call: Callable[[], Awaitable[httpx.Response]], runs: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        (await call()).raise_for_status()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = await call()
        out.append(time.perf_counter() - t0)
        response.raise_for_status()
    return out


def row(measure: str, values: list[float], target_ms: float | None) -> Row:
    p50, p95 = pct(values, 50) * 1000, pct(values, 95) * 1000
    target = f"p50 <= {target_ms:.0f} ms" if target_ms is not None else ""
    ok = ("yes" if p50 <= target_ms else "NO") if target_ms is not None else ""
    return (measure, f"{p50:.1f} ms", f"{p95:.1f} ms", target, ok)


async def trigger_to_running(http: httpx.AsyncClient, runs: int) -> list[float]:
    (await http.post("/pipelines", json=pipeline_config(APP, "judged", judged()))).raise_for_status()
    times, started = [], []
    for i in range(runs + 2):
        t0 = time.perf_counter()
        response = await http.post(f"/pipelines/{APP}/judged", json={"parameters": {}})
        response.raise_for_status()
        execution_id = response.json()["ref"].rsplit("/", 1)[1]
        started.append(execution_id)
        while True:
            got = await http.get(f"/pipelines/{execution_id}")
            if got.status_code == 200 and got.json()["stages"] and got.json()["stages"][0]["status"] == "RUNNING":
                break
            if time.perf_counter() - t0 > 30:
                raise RuntimeError(f"stage 0 of {execution_id} not RUNNING after 30 s: {got.text[:300]}")
            await asyncio.sleep(0.005)
        if i >= 2:  # the first two warm up
            times.append(time.perf_counter() - t0)
    for execution_id in started:
        await http.put(f"/pipelines/{execution_id}/cancel", params={"reason": "bench"})
    return times


async def load(url: str, clients: int, duration: float, big_id: str) -> tuple[int, int, list[str], float]:
    """``clients`` concurrent clients for ``duration`` seconds: (requests, failures, first failures, seconds)."""
    deadline = time.perf_counter() + duration
    done = failed = 0
    samples: list[str] = []
    latency: dict[str, list[float]] = {}
    quick = pipeline_config(LOAD_APP, "quick", wait_stages(1))
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        (await http.post("/pipelines", json=quick)).raise_for_status()

    async def one(n: int) -> None:
        nonlocal done, failed
        rng = random.Random(n)
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            while time.perf_counter() < deadline:
                pick = rng.random()
                t0 = time.perf_counter()
                try:
                    if pick < 0.35:
                        r = await http.get(f"/applications/{APP}/pipelines", params={"limit": 25, "expand": "false"})
                    elif pick < 0.65:
                        r = await http.get(f"/pipelines/{big_id}")
                    elif pick < 0.90:
                        r = await http.get(f"/applications/{APP}/pipelineConfigs")
                    elif pick < 0.96:
                        name = f"load-{n}-{uuid.uuid4().hex[:8]}"  # new configs: a name taken is a 409
                        r = await http.post("/pipelines", json=pipeline_config(LOAD_APP, name, wait_stages(2)))
                    else:
                        r = await http.post(f"/pipelines/{LOAD_APP}/quick", json={})
                    kind = f"{r.request.method} {r.request.url.path.replace(big_id, '{id}')}"
                    latency.setdefault(kind, []).append(time.perf_counter() - t0)
                    if not r.is_success:
                        failed += 1
                        if len(samples) < 5:
                            samples.append(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    failed += 1
                    if len(samples) < 5:
                        samples.append(f"{type(exc).__name__}: {exc}")
                done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(clients)))
    for kind, values in sorted(latency.items()):
        print(
            f"under load: {kind}: {len(values)} requests, p50 {pct(values, 50) * 1000:.0f} ms, "
            f"p95 {pct(values, 95) * 1000:.0f} ms"
        )
    return done, failed, samples, time.perf_counter() - t0


async def bench(args: argparse.Namespace, api: ServedApi) -> tuple[list[Row], int]:
    rows: list[Row] = []
    async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
        n = [0]

        def save() -> Awaitable[httpx.Response]:
            n[0] += 1
            return http.post("/pipelines", json=pipeline_config(APP, f"saved-{n[0]}", wait_stages(5)))

        rows.append(row(f"pipeline save, {args.saves} saves", await timed(save, args.saves), 15))

        configs = [
            api.store.save_pipeline(pipeline_config(APP, f"p{i:02}", wait_stages(3)), "bench") for i in range(CONFIGS)
        ]
        t0 = time.perf_counter()
        big_id = await asyncio.to_thread(seed_executions, api.store, configs, args.executions)
        print(f"inserted {args.executions} executions in {time.perf_counter() - t0:.1f} s")

        def app_list() -> Awaitable[httpx.Response]:
            return http.get(f"/applications/{APP}/pipelines", params={"limit": 25, "expand": "false"})

        rows.append(row(f"list, {args.executions} stored (limit=25, expand=false)", await timed(app_list, 100), 20))
        rows.append(row("get a 50-stage execution", await timed(lambda: http.get(f"/pipelines/{big_id}"), 100), 20))
        rows.append(
            row(
                f"trigger to first stage RUNNING, {args.triggers} runs",
                await trigger_to_running(http, args.triggers),
                150,
            )
        )

    done, failed, samples, seconds = await load(api.url, args.clients, args.duration, big_id)
    for sample in samples:
        print(f"load failure: {sample}")
    rows.append(
        (
            f"load: {args.clients} clients for {args.duration:.0f} s",
            f"{done / seconds:.0f} req/s",
            f"{done} requests",
            "0 failures",
            "yes" if failed == 0 else f"NO ({failed} failed)",
        )
    )
    return rows, failed


def print_table(rows: list[Row]) -> None:
    header = ("measure", "p50", "p95", "target", "ok?")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


async def main() -> int:
    from api.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=10_000, help="executions stored before the reads")
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--triggers", type=int, default=30)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients of the load")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        settings = load_settings(
            state_dir=Path(tmp), task_queue=f"bench-api-{uuid.uuid4()}", temporal={"address": f"127.0.0.1:{port}"}
        )
        server = DevServer(settings, port=port, headless=True, db_file=Path(tmp) / "temporal.db").start()
        store = Store(settings.store_url)
        try:
            store.migrate()
            with ServedApi(settings, store) as api:
                print(f"dev server {server.address}, API {api.url}, store {settings.store_url}")
                rows, failed = await bench(args, api)
            print_table(rows)
            return 1 if failed else 0
        finally:
            store.close()
            server.stop()


if __name__ == "__main__":
    from gennaker.temporal_client import exit_now

    exit_now(asyncio.run(main()))

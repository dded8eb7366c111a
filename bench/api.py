"""API benchmark: Gate's endpoints over HTTP, against the targets in the requirements.

    make bench-api        # or: .venv/bin/python -m bench.api [--executions 10000] [--duration 60] [--clients 50]
                          #     [--api-workers 1h11,1,2]

It starts its own dev server (as ``python -m bench`` does), a worker (``worker.py``, a process of its own), the
store on a SQLite file and the API as ``gennaker up`` runs it (uvicorn, ``api.workers`` processes on one port),
all on free ports under a temporary directory, then measures with httpx from this process (which runs nothing
else, so the clients do not share an interpreter with the server):

* pipeline save (``POST /pipelines``);
* with N executions stored (inserted through the store, finished, over 20 pipeline configs of one application,
  a few of 50 stages): ``GET /applications/{app}/pipelines?limit=25&expand=false`` and ``GET /pipelines/{id}``
  of a 50-stage execution;
* trigger to first stage RUNNING: ``POST /pipelines/{app}/{name}`` of a pipeline whose first stage is a manual
  judgment, then ``GET /pipelines/{id}`` every 5 ms until stage 0 is RUNNING;
* a load of concurrent clients (GETs, a few saves and triggers) for a while: requests/s, latencies and failures.

Each count in ``--api-workers`` is one round against the same store and dev server (an A/B in one run: the
machine's other load is the same for both). A count with ``h11`` after it (``1h11``) runs uvicorn's pure-Python
stack (``--loop asyncio --http h11``) instead of the one it picks when uvloop and httptools are installed, as they
are with gennaker's dependencies; the default's first round is that baseline. The first round's saves go to the
measured application, later rounds' saves to one of their own, so every round reads the same documents. It prints
a table per round; it asserts nothing (the exit code is 1 when a load saw failures).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from core.settings import Settings, load_settings
from gennaker import supervisor
from gennaker.devserver import DevServer
from gennaker.localstack import free_port

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
        store.executions.save(execution)
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


def row(measure: str, values: list[float], target_ms: float | None, *, p95_target: float | None = None) -> Row:
    p50, p95 = pct(values, 50) * 1000, pct(values, 95) * 1000
    if p95_target is not None:
        return (
            measure,
            f"{p50:.1f} ms",
            f"{p95:.1f} ms",
            f"p95 <= {p95_target:.0f} ms",
            "yes" if p95 <= p95_target else "NO",
        )
    target = f"p50 <= {target_ms:.0f} ms" if target_ms is not None else ""
    ok = ("yes" if p50 <= target_ms else "NO") if target_ms is not None else ""
    return (measure, f"{p50:.1f} ms", f"{p95:.1f} ms", target, ok)


async def trigger_to_running(http: httpx.AsyncClient, runs: int, *, first_round: bool) -> list[float]:
    if first_round:
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


async def load(
    url: str, clients: int, duration: float, big_id: str, *, first_round: bool
) -> tuple[int, int, list[str], float, dict[str, list[float]]]:
    """``clients`` concurrent clients for ``duration`` seconds: (requests, failures, first failures, seconds,
    latencies by request kind)."""
    done = failed = 0
    samples: list[str] = []
    latency: dict[str, list[float]] = {}
    quick = pipeline_config(LOAD_APP, "quick", wait_stages(1))
    if first_round:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            (await http.post("/pipelines", json=quick)).raise_for_status()
    deadline = time.perf_counter() + duration

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
    return done, failed, samples, time.perf_counter() - t0, latency


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process and its live descendants (Linux ``/proc``; 0 elsewhere)."""
    try:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    except OSError:
        return 0.0
    tree, ticks = {pid}, 0
    for _ in range(4):  # uvicorn's master, its workers, their resource tracker
        tree |= {p for p, (parent, _) in stats.items() if parent in tree}
    ticks = sum(stats[p][1] for p in tree if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds every core spent not idle so far (``/proc/stat``), for the share the measured processes had."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def bench(
    args: argparse.Namespace, url: str, store: Any, round_no: int, big_id: str, pids: dict[str, int] | None = None
) -> tuple[list[Row], int, str]:
    """One round against the API at ``url``; the first inserts the executions. Returns (rows, failures, the
    50-stage execution's id)."""
    rows: list[Row] = []
    first = round_no == 0
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        n = [0]
        save_app = APP if first else f"{APP}r{round_no}"  # later rounds leave the measured application as it was

        def save() -> Awaitable[httpx.Response]:
            n[0] += 1
            return http.post("/pipelines", json=pipeline_config(save_app, f"saved-{n[0]}", wait_stages(5)))

        rows.append(row(f"pipeline save, {args.saves} saves", await timed(save, args.saves), 15))

        if first:
            configs = [
                store.pipelines.save(pipeline_config(APP, f"p{i:02}", wait_stages(3)), "bench") for i in range(CONFIGS)
            ]
            t0 = time.perf_counter()
            big_id = await asyncio.to_thread(seed_executions, store, configs, args.executions)
            print(f"inserted {args.executions} executions in {time.perf_counter() - t0:.1f} s")

        def app_list() -> Awaitable[httpx.Response]:
            return http.get(f"/applications/{APP}/pipelines", params={"limit": 25, "expand": "false"})

        rows.append(row(f"list, {args.executions} stored (limit=25, expand=false)", await timed(app_list, 100), 20))
        rows.append(row("get a 50-stage execution", await timed(lambda: http.get(f"/pipelines/{big_id}"), 100), 20))
        rows.append(
            row(
                f"trigger to first stage RUNNING, {args.triggers} runs",
                await trigger_to_running(http, args.triggers, first_round=first),
                150,
            )
        )

    pids = pids or {}
    before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    clients_before, busy_before = time.process_time(), _machine_busy()
    done, failed, samples, seconds, latency = await load(url, args.clients, args.duration, big_id, first_round=first)
    used = {name: _cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    used["clients (this process)"] = time.process_time() - clients_before
    busy = _machine_busy() - busy_before
    print(
        f"CPU during the load ({seconds:.0f} s, {done} requests; every core busy {busy:.0f} s of"
        f" {seconds * (os.cpu_count() or 1):.0f}): "
        + ", ".join(f"{name} {cpu:.1f} s" for name, cpu in used.items())
        + (f"; the API {used['API'] / max(done, 1) * 1000:.2f} ms per request" if "API" in used else "")
    )
    for sample in samples:
        print(f"load failure: {sample}")
    everything = [v for values in latency.values() for v in values]
    rows.append(
        (
            f"load: {args.clients} clients for {args.duration:.0f} s",
            f"{done / seconds:.0f} req/s",
            f"{done} requests",
            "0 failures",
            "yes" if failed == 0 else f"NO ({failed} failed)",
        )
    )
    rows.append(row("  every request under load", everything, None, p95_target=250))
    for kind, values in sorted(latency.items()):
        rows.append(row(f"  {kind} ({len(values)})", values, None))
    return rows, failed, big_id


def print_table(rows: list[Row]) -> None:
    header = ("measure", "p50", "p95", "target", "ok?")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """The processes' settings: this run's state directory, task queue and dev server, nothing of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENNAKER_")}
    env.update(
        GENNAKER_STATE_DIR=str(settings.state_dir),
        GENNAKER_TASK_QUEUE=settings.task_queue,
        GENNAKER_TEMPORAL__ADDRESS=settings.temporal.address,
        # the caller's PYTHONPATH after the project: `PYTHONPATH=DIR python -m bench.api` tries packages kept in DIR
        # (uvicorn's httptools and uvloop, say) without installing them
        PYTHONPATH=os.pathsep.join(
            p for p in (str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")) if p
        ),
        **extra,
    )
    return env


def start_worker(settings: Settings, log_file: Path) -> supervisor.Child:
    from gennaker.cli import worker_command

    with log_file.open("ab") as out:
        child = supervisor.spawn("worker", worker_command(), environment(settings), 10, stdout=out, stderr=out)
    deadline = time.monotonic() + 120
    while f"worker ready on {settings.task_queue}" not in log_file.read_text(errors="replace"):
        if child.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start:\n{log_file.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    return child


PURE_STACK = ["--loop", "asyncio", "--http", "h11"]


def start_api(settings: Settings, workers: int, log_file: Path, pure: bool = False) -> tuple[supervisor.Child, str]:
    """The API as ``gennaker up`` runs it, with ``workers`` uvicorn processes (``pure``: asyncio's loop and h11)."""
    from core.settings import ApiSettings
    from gennaker.cli import api_command

    port = free_port()
    command = api_command(settings.model_copy(update={"api": ApiSettings(port=port, workers=workers)}))
    assert command is not None
    env = environment(settings, GENNAKER_API__PORT=str(port), GENNAKER_API__WORKERS=str(workers))
    with log_file.open("ab") as out:
        child = supervisor.spawn(
            f"API x{workers}",
            [*command, "--log-level", "warning", *(PURE_STACK if pure else [])],
            env,
            10,
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return child, url
        except httpx.HTTPError:
            pass
        if child.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the API did not start:\n{log_file.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def _round(spec: str) -> tuple[int, bool]:
    """``"2"`` -> (2, False); ``"1h11"`` -> (1, True)."""
    pure = spec.strip().endswith("h11")
    return int(spec.strip().removesuffix("h11")), pure


def _installed() -> str:
    """Which of uvicorn's fast parts this interpreter has (its processes share the virtualenv)."""
    from importlib.util import find_spec

    return ", ".join(f"{name} {'installed' if find_spec(name) else 'missing'}" for name in ("uvloop", "httptools"))


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


async def main() -> int:
    from core.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=10_000, help="executions stored before the reads")
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--triggers", type=int, default=30)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients of the load")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument(
        "--api-workers",
        default=f"1h11,1,{Settings().api.workers}",
        help="API process counts, one round each; 'h11' after a count: uvicorn's asyncio loop and h11 parser"
        " (default: 1 on that stack, 1, then api.workers' default)",
    )
    args = parser.parse_args()
    rounds = list(dict.fromkeys(_round(c) for c in args.api_workers.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        settings = load_settings(
            state_dir=Path(tmp), task_queue=f"bench-api-{uuid.uuid4()}", temporal={"address": f"127.0.0.1:{port}"}
        )
        server = DevServer(settings, port=port, headless=True, db_file=Path(tmp) / "temporal.db").start()
        store = Store(settings.store_url)
        children: list[supervisor.Child] = []
        failed, big_id, tables = 0, "", []
        try:
            store.migrate()
            children.append(start_worker(settings, Path(tmp) / "worker.log"))
            print(f"dev server {server.address}, store {settings.store_url}, {os.cpu_count()} cores", flush=True)
            for round_no, (workers, pure) in enumerate(rounds):
                stack = "asyncio + h11" if pure else "uvicorn's choice"
                api, url = start_api(settings, workers, Path(tmp) / f"api-{workers}{'h11' * pure}.log", pure)
                children.append(api)
                print(
                    f"round {round_no + 1}: the API with {workers} process(es), {stack}"
                    f" ({_installed()}),"
                    f" at {url}; {_load()}",
                    flush=True,
                )
                try:
                    pids = {"API": api.process.pid, "worker": children[0].process.pid}
                    if server.process is not None:
                        pids["Temporal"] = server.process.pid
                    rows, round_failed, big_id = await bench(args, url, store, round_no, big_id, pids)
                finally:
                    supervisor.stop([api])
                    children.remove(api)
                failed += round_failed
                tables.append((f"{workers}{' (asyncio + h11)' if pure else ''}", rows))
                print(f"round {round_no + 1} done; {_load()}")
                print_table(rows)
            for name, rows in tables[1:] if len(tables) > 1 else []:
                print(
                    f"\n{name} API process(es) against round 1's {tables[0][0]}: requests/s {rows[4][1]} vs"
                    f" {tables[0][1][4][1]}; p95 under load {rows[5][2]} vs {tables[0][1][5][2]}"
                )
            return 1 if failed else 0
        finally:
            supervisor.stop(children)
            store.close()
            server.stop()


if __name__ == "__main__":
    from gennaker.temporal_client import exit_now

    exit_now(asyncio.run(main()))

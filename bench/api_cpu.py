"""CPU per request of the API's hot reads, in one process (ASGI in-process, no HTTP layer, no network).

    .venv/bin/python -m bench.api_cpu [--executions 10000] [--runs 40] [--db PATH]
    .venv/bin/python -m bench.api_cpu --db PATH --http [--loop asyncio|uvloop] [--parser h11|httptools]

The machine this runs on is shared, so wall times measure the neighbours; ``time.process_time`` (every thread of
this process: the event loop and the threads the store is read in) measures what a request costs the API. It
builds the documents ``bench.api`` measures (one application with 221 pipeline configs, 20 of which have
executions: every 200th of 50 stages), on a SQLite file (``--db`` keeps it between runs: seeding 10,000
executions takes a while), and prints the median CPU per request of each kind of the bench's load, the mix's
weighted mean and what that makes for one process on one core.

``--http`` measures the same over HTTP: the app in a uvicorn process of its own (one worker, the loop and HTTP
parser named), the requests sent from this process by 10 concurrent clients, and the server process's CPU time
(``/proc/<pid>/stat``) divided by the requests, so uvicorn's HTTP handling is counted too.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.api import APP, pipeline_config, seed_executions, wait_stages

#: the load's mix in bench/api.py (the saves and triggers are not measured here: they reach Temporal)
MIX = {"listing": 0.35, "execution": 0.30, "configs": 0.25}


def seed(store: Any, executions: int) -> str:
    """The bench's application: 20 configs with executions, 201 more configs; returns a 50-stage execution's id."""
    configs = [store.pipelines.save(pipeline_config(APP, f"p{i:02}", wait_stages(3)), "bench") for i in range(20)]
    for i in range(201):
        store.pipelines.save(pipeline_config(APP, f"saved-{i}", wait_stages(5)), "bench")
    return seed_executions(store, configs, executions)


async def measure(app: Any, paths: dict[str, str], runs: int, headers: dict[str, str]) -> dict[str, float]:
    """Median CPU seconds per request of each path (after a warm-up)."""
    out: dict[str, float] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate", headers=headers) as http:
        for name, path in paths.items():
            for _ in range(5):
                (await http.get(path)).raise_for_status()
            samples = []
            for _ in range(runs):
                t0 = time.process_time()
                response = await http.get(path)
                samples.append(time.process_time() - t0)
                response.raise_for_status()
            out[name] = statistics.median(samples)
            out[name + " bytes"] = len(response.content)
    return out


def serve(db: Path, port: int, loop: str, parser: str) -> None:
    """The app on 127.0.0.1:port in this process (no Temporal: these reads never reach it)."""
    import uvicorn

    from api.main import create_app
    from core.settings import Settings
    from core.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate({"state_dir": Path(tmp), "database_url": f"sqlite:///{db}"})
        store = Store(settings.store_url)
        app = create_app(settings, temporal=object(), store=store)
        uvicorn.run(app, host="127.0.0.1", port=port, loop=loop, http=parser, log_level="warning", lifespan="off")


def cpu_of(pid: int) -> float:
    """User and system CPU seconds of a process so far (Linux)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def over_http(url: str, pid: int, paths: dict[str, str], runs: int) -> dict[str, float]:
    out: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for name, path in paths.items():
            for _ in range(10):
                (await http.get(path)).raise_for_status()
            queue = list(range(runs))

            async def client(queue: list[int], path: str) -> None:
                while queue:
                    queue.pop()
                    (await http.get(path)).raise_for_status()

            before = cpu_of(pid)
            await asyncio.gather(*(client(queue, path) for _ in range(10)))
            out[name] = (cpu_of(pid) - before) / runs
    return out


def http_main(args: argparse.Namespace, paths: dict[str, str]) -> dict[str, float]:
    import os
    import subprocess
    import sys

    from gennaker.localstack import free_port

    port = free_port()
    command = [sys.executable, "-m", "bench.api_cpu", "--db", str(args.db), "--serve", str(port)]
    command += ["--loop", args.loop, "--parser", args.parser]
    server = subprocess.Popen(command, env=os.environ.copy())
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the API did not start") from None
                time.sleep(0.2)
        return asyncio.run(over_http(url, server.pid, paths, args.runs))
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    from api.main import create_app
    from core.settings import Settings
    from core.store import Store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--db", type=Path, default=None, help="a SQLite file to keep (seeded once)")
    parser.add_argument("--http", action="store_true", help="over HTTP: the server process's CPU per request")
    parser.add_argument("--loop", default="asyncio", help="uvicorn's loop for --http (asyncio, uvloop)")
    parser.add_argument("--parser", default="h11", help="uvicorn's HTTP parser for --http (h11, httptools)")
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.db.resolve(), args.serve, args.loop, args.parser)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db.resolve() if args.db else Path(tmp) / "gennaker.db"
        settings = Settings.model_validate({"state_dir": Path(tmp), "database_url": f"sqlite:///{db}"})
        store = Store(settings.store_url)
        store.migrate()
        big = store.db.engine.connect().exec_driver_sql(
            "SELECT e.id FROM executions e WHERE e.application = ? AND "
            "(SELECT count(*) FROM execution_stages s WHERE s.execution_id = e.id) = 50 LIMIT 1",
            (APP,),
        )
        found = big.first()
        if found is None:
            t0 = time.perf_counter()
            big_id = seed(store, args.executions)
            print(f"seeded {args.executions} executions in {time.perf_counter() - t0:.0f} s")
        else:
            big_id = found[0]
        app = create_app(settings, temporal=object(), store=store)
        paths = {
            "listing": f"/applications/{APP}/pipelines?limit=25&expand=false",
            "execution": f"/pipelines/{big_id}",
            "configs": f"/applications/{APP}/pipelineConfigs",
            "health": "/health",
        }
        if args.http and args.db is None:
            raise SystemExit("--http needs --db (the server process opens the same file)")
        result = http_main(args, paths) if args.http else asyncio.run(measure(app, paths, args.runs, {}))
        for name in paths:
            size = f"  {int(result[name + ' bytes']):>8} bytes" if name + " bytes" in result else ""
            print(f"{name:10} {result[name] * 1000:7.2f} ms CPU{size}")
        mix = sum(result[k] * w for k, w in MIX.items()) / sum(MIX.values())
        print(f"mix (reads, weighted): {mix * 1000:.2f} ms CPU per request -> {1 / mix:.0f} req/s per core")
        store.close()


if __name__ == "__main__":
    main()

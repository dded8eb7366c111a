"""Engine benchmark: Gennaker pipelines against the raw Temporal shape, on one dev server, in one run.

    make bench            # or: .venv/bin/python -m bench [--stages 10] [--runs 30] [--concurrent 40]

It starts its own dev server (SQLite file in WAL mode, the same flags as ``make run``) and one
worker in this process, then measures:

* a pipeline of N no-op stages (each stage one no-op activity) against the raw shape: one workflow
  running N child workflows of one no-op activity each, as a ratio of medians;
* per-stage time (from a stage's start to the next one's start), p50 and p95, against the raw
  shape's per-child time;
* concurrent pipelines per second against concurrent raw chains;
* the worker's resident memory.

It prints a table; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from core.settings import load_settings
from gennaker.devserver import DevServer
from workflows import operations

from .shapes import NoopStage, RawChain, RawChild, noop_task, raw_noop  # noqa: F401 (registers benchNoop)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def noop_pipeline(n: int) -> dict[str, Any]:
    return {
        "application": "bench",
        "name": f"noop-{n}",
        "limitConcurrent": False,
        "stages": [
            {
                "refId": str(i),
                "requisiteStageRefIds": [str(i - 1)] if i else [],
                "type": "benchNoop",
                "name": f"noop {i}",
            }
            for i in range(n)
        ],
    }


async def run_pipeline(client: Client, queue: str, config: dict[str, Any]) -> dict[str, Any]:
    """Start a pipeline and wait for it; its result is the execution (no extra query, like the raw shape)."""
    from workflows.execution import ExecutionState

    execution_id = await operations.start_pipeline(client, config, task_queue=queue)
    state = await client.get_workflow_handle(execution_id, result_type=ExecutionState).result()
    return state.to_json()


async def bench(args: argparse.Namespace, client: Client) -> list[tuple[str, str, str, str]]:
    from activities.engine import EngineActivities, MemoryConfigSource
    from activities.local_projection import local_projection_store
    from workflows.all import WORKFLOWS, workflow_runner

    queue = f"bench-{uuid.uuid4()}"
    # the projection store a worker without a configured one keeps (SQLite): what `make run` pays per transition
    engine = EngineActivities(client, queue, MemoryConfigSource(), store=local_projection_store())
    async with Worker(
        client,
        task_queue=queue,
        workflows=[*WORKFLOWS, RawChain, RawChild],
        activities=[
            noop_task,
            raw_noop,
            engine.request_concurrency_slot,
            engine.evaluate_expressions,
            engine.record_execution_update,
            engine.load_execution,
        ],
        activity_executor=ThreadPoolExecutor(max_workers=20),
        workflow_runner=workflow_runner(),
    ):
        n = args.stages
        for _ in range(2):  # warm up both shapes
            await run_pipeline(client, queue, noop_pipeline(n))
            await client.execute_workflow(RawChain.run, n, id=f"warm-{uuid.uuid4()}", task_queue=queue)

        ours, raw, ours_step, raw_step = [], [], [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            execution = await run_pipeline(client, queue, noop_pipeline(n))
            ours.append(time.perf_counter() - t0)
            starts = [s["startTime"] for s in execution["stages"]] + [execution["endTime"]]
            ours_step += [(b - a) / 1000 for a, b in zip(starts, starts[1:], strict=False)]
            t0 = time.perf_counter()
            marks = await client.execute_workflow(RawChain.run, n, id=f"raw-{uuid.uuid4()}", task_queue=queue)
            raw.append(time.perf_counter() - t0)
            raw_step += [b - a for a, b in zip(marks, marks[1:], strict=False)]

        m = args.concurrent
        t0 = time.perf_counter()
        await asyncio.gather(*(run_pipeline(client, queue, noop_pipeline(3)) for _ in range(m)))
        ours_rate = m / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        await asyncio.gather(
            *(client.execute_workflow(RawChain.run, 3, id=f"rawc-{uuid.uuid4()}", task_queue=queue) for _ in range(m))
        )
        raw_rate = m / (time.perf_counter() - t0)

    ms = 1000
    return [
        (
            f"pipeline of {n} no-op stages, median",
            f"{statistics.median(ours) * ms:.0f} ms",
            f"{statistics.median(raw) * ms:.0f} ms",
            f"{statistics.median(ours) / statistics.median(raw):.2f}",
        ),
        (
            "per stage, p50",
            f"{pct(ours_step, 50) * ms:.0f} ms",
            f"{pct(raw_step, 50) * ms:.0f} ms",
            f"{pct(ours_step, 50) / pct(raw_step, 50):.2f}",
        ),
        (
            "per stage, p95",
            f"{pct(ours_step, 95) * ms:.0f} ms",
            f"{pct(raw_step, 95) * ms:.0f} ms",
            f"{pct(ours_step, 95) / pct(raw_step, 95):.2f}",
        ),
        (
            f"{m} concurrent 3-stage pipelines",
            f"{ours_rate:.1f} /s",
            f"{raw_rate:.1f} /s",
            f"{raw_rate / ours_rate:.2f}",
        ),
        ("worker + driver RSS", f"{rss_mb():.0f} MB", "", ""),
    ]


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("measure", "gennaker", "raw temporal", "ratio (ours/raw, time)")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=10)
    # the per-stage ratio of 10 runs spread over 1.15-1.23 in four runs of the same code, of 40 runs over 1.16-1.18
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--concurrent", type=int, default=40)
    parser.add_argument("--target", help="use a running Temporal at HOST:PORT instead of starting one")
    parser.add_argument("--server-arg", action="append", default=[], help="extra start-dev argument")
    args = parser.parse_args()
    if args.target:
        client = await Client.connect(args.target)
        print_table(await bench(args, client))
        return
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(state_dir=Path(tmp))
        settings.dev_server.extra_args = list(args.server_arg)
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = DevServer(settings, port=port, headless=True, db_file=Path(tmp) / "bench.db").start()
        try:
            print(f"dev server {server.address} ({' '.join(server.command[1:3])} ...)")
            client = await Client.connect(server.address)
            print_table(await bench(args, client))
        finally:
            server.stop()


if __name__ == "__main__":
    from gennaker.temporal_client import exit_now

    asyncio.run(main())
    exit_now(0)

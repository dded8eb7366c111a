"""Engine A/B: this tree's engine against another commit's, on one dev server, pipelines interleaved run by run.

    .venv/bin/python -m bench.ab --base HEAD~3 [--stages 10] [--runs 10] [--concurrent 40]

On a busy machine two `make bench` runs minutes apart differ by more than a change to the engine does; here both
engines run at once, each in its own worker process on its own task queue (the other commit's tree is taken with
``git archive``), and the driver alternates between them and the raw Temporal shape, so load hits both alike.
It prints the same measures as ``python -m bench`` for each engine, with ratios against the raw shape, and the CPU
time per stage of the worker and of the dev server (from /proc, so less sensitive to other load than wall time).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client

from core.settings import load_settings
from gennaker.devserver import DevServer
from workflows import operations

from .__main__ import noop_pipeline, pct
from .shapes import RawChain

ROOT = Path(__file__).resolve().parent.parent

#: a worker with the benchmark's activities and the projection store, run from one tree (argv: tree, address, queue)
WORKER = """
import asyncio, sys
from concurrent.futures import ThreadPoolExecutor
root, address, queue = sys.argv[1:4]
sys.path.insert(0, root)
from temporalio.client import Client
from temporalio.worker import Worker
from activities.engine import EngineActivities, MemoryConfigSource
from activities.local_projection import local_projection_store
from bench.shapes import RawChain, RawChild, noop_task, raw_noop
from workflows.all import WORKFLOWS, workflow_runner

async def main():
    client = await Client.connect(address)
    engine = EngineActivities(client, queue, MemoryConfigSource(), store=local_projection_store())
    activities = [noop_task, raw_noop, engine.request_concurrency_slot, engine.evaluate_expressions,
                  engine.record_execution, engine.record_execution_update, engine.load_execution]
    async with Worker(client, task_queue=queue, workflows=[*WORKFLOWS, RawChain, RawChild], activities=activities,
                      activity_executor=ThreadPoolExecutor(max_workers=20), workflow_runner=workflow_runner()):
        print("ready", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


async def run_pipeline(client: Client, queue: str, stages: int) -> dict[str, Any]:
    from workflows.execution import ExecutionState

    execution_id = await operations.start_pipeline(client, noop_pipeline(stages), task_queue=queue)
    state = await client.get_workflow_handle(execution_id, result_type=ExecutionState).result()
    return state.to_json()


async def run_raw(client: Client, queue: str, stages: int) -> list[float]:
    return await client.execute_workflow(RawChain.run, stages, id=f"raw-{uuid.uuid4()}", task_queue=queue)


def start_worker(tree: Path, address: str, queue: str) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(tree), address, queue], cwd=tree, stdout=subprocess.PIPE
    )
    assert worker.stdout is not None
    if worker.stdout.readline().strip() != b"ready":
        raise SystemExit(f"the worker of {tree} did not start")
    return worker


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cpu:
    """CPU seconds of the worker processes and the dev server, charged to whichever shape just ran."""

    def __init__(self, workers: dict[str, int], server: int) -> None:
        self.workers, self.server = workers, server
        self.spent: dict[str, list[float]] = {}

    def mark(self, queue_name: str) -> tuple[float, float]:
        return cpu_seconds(self.workers[queue_name]), cpu_seconds(self.server)

    def charge(self, shape: str, queue_name: str, before: tuple[float, float]) -> tuple[float, float]:
        now = self.mark(queue_name)
        worker, server = self.spent.setdefault(shape, [0.0, 0.0])
        self.spent[shape] = [worker + now[0] - before[0], server + now[1] - before[1]]
        return now


async def compare(args: argparse.Namespace, client: Client, queues: dict[str, str], cpu: Cpu) -> None:
    n, m = args.stages, args.concurrent
    names = list(queues)
    total: dict[str, list[float]] = {k: [] for k in [*names, "raw"]}
    steps: dict[str, list[float]] = {k: [] for k in [*names, "raw"]}
    rates: dict[str, list[float]] = {k: [] for k in [*names, "raw"]}
    for name in names:  # warm up both
        for _ in range(2):
            await run_pipeline(client, queues[name], n)
        await run_raw(client, queues[name], n)
    for i in range(args.runs):
        for name in names if i % 2 == 0 else names[::-1]:
            mark = cpu.mark(name)
            t0 = time.perf_counter()
            execution = await run_pipeline(client, queues[name], n)
            total[name].append(time.perf_counter() - t0)
            mark = cpu.charge(name, name, mark)
            starts = [s["startTime"] for s in execution["stages"]] + [execution["endTime"]]
            steps[name] += [(b - a) / 1000 for a, b in zip(starts, starts[1:], strict=False)]
            t0 = time.perf_counter()
            marks = await run_raw(client, queues[name], n)
            total["raw"].append(time.perf_counter() - t0)
            cpu.charge("raw", name, mark)
            steps["raw"] += [b - a for a, b in zip(marks, marks[1:], strict=False)]
    for i in range(2):
        for name in names if i % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            await asyncio.gather(*(run_pipeline(client, queues[name], 3) for _ in range(m)))
            rates[name].append(m / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            await asyncio.gather(*(run_raw(client, queues[name], 3) for _ in range(m)))
            rates["raw"].append(m / (time.perf_counter() - t0))
    raw_total, raw_step = statistics.median(total["raw"]), pct(steps["raw"], 50)
    raw_rate = statistics.median(rates["raw"])
    print(f"{n} no-op stages, {args.runs} runs each, {m} concurrent 3-stage pipelines (ratios: ours/raw, time)")
    raw_runs = args.runs * len(names)
    for name in [*names, "raw"]:
        worker, server = (
            seconds * 1000 / ((raw_runs if name == "raw" else args.runs) * n) for seconds in cpu.spent[name]
        )
        med, p50, p95 = statistics.median(total[name]), pct(steps[name], 50), pct(steps[name], 95)
        rate = statistics.median(rates[name])
        print(
            f"{name:>8}  pipeline {med * 1000:5.0f} ms ({med / raw_total:.2f})  per stage p50 {p50 * 1000:4.0f} ms"
            f" ({p50 / raw_step:.2f})  p95 {p95 * 1000:4.0f} ms  concurrent {rate:4.1f}/s ({raw_rate / rate:.2f})"
            f"  CPU per stage: worker {worker:.1f} ms, server {server:.1f} ms"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the git commit to compare this tree with")
    parser.add_argument("--stages", type=int, default=10)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(["git", "archive", args.base], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        settings = load_settings(state_dir=Path(tmp))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = DevServer(settings, port=port, headless=True, db_file=Path(tmp) / "bench.db").start()
        workers = []
        try:
            client = await Client.connect(server.address)
            queues = {args.base: f"ab-base-{uuid.uuid4()}", "tree": f"ab-tree-{uuid.uuid4()}"}
            workers.append(start_worker(base, server.address, queues[args.base]))
            workers.append(start_worker(ROOT, server.address, queues["tree"]))
            assert server.process is not None
            pids = {args.base: workers[0].pid, "tree": workers[1].pid}
            await compare(args, client, queues, Cpu(pids, server.process.pid))
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
            server.stop()


if __name__ == "__main__":
    from gennaker.temporal_client import exit_now

    asyncio.run(main())
    exit_now(0)

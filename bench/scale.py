"""Scale benchmark: how the pipeline workflow's history grows with its stage count, against raw Temporal.

    make bench-scale      # or: nice -n 10 .venv/bin/python -m bench.scale [--sizes 10,30,100] [--only linear]

It starts its own dev server (SQLite file), the store (SQLite file), ``worker.py`` and the API as ``gennaker
up`` runs them (subprocesses, so they use the real wiring: the store, the payload codec; ``bench.chaos.Stack``)
and moto's AWS server when deploys are measured, all on 127.0.0.1 under a temporary directory. Every
pipeline is saved and triggered through Gate. Then:

* linear pipelines of N ``wait`` stages (waitTime 0), N in ``--sizes``: the outcome, the pipeline workflow's
  history (events, bytes: the serialized events summed, over every run when it continued-as-new), bytes per
  stage, the bytes of all its stage workflows, the wall time; beside each, the raw Temporal shape (one
  workflow running N child workflows of a no-op activity, ``bench/shapes.py``) with the same columns;
* the same linear pipelines started by a ``--trigger-kb`` KiB webhook trigger, which every stage's input
  carries (below the claim-check threshold: the codec's embedded parts keep it out of history);
* a fan-out of ``--fanout`` parallel waits joining into one stage; ``--deploys`` deploy stages on moto
  (3 regions each); a ``--webhook-mb`` MB webhook trigger through ``POST /webhooks/webhook/{source}``;
  whether Gate lists every one of them (``GET /applications/{app}/pipelines``);
* Gate's ``GET /pipelines/{id}`` of the largest execution that finished, p50 and p95 (target: 50 ms).

It prints tables; it asserts nothing. A run that does not finish within ``--max-seconds`` is terminated
and reported with how far it got.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

APP = "scale"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
KEY_ID, SECRET = "AKIAGENNAKERSCALE001", "scale-secret-not-a-real-one"  # moto accepts any
IMAGE = "scale-1.0.0"
GET_TARGET_MS = 50.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---- pipeline shapes ---------------------------------------------------------------------------------------------


def wait_chain(n: int) -> list[dict[str, Any]]:
    """N ``wait`` stages of 0 s, each after the previous one."""
    return [
        {"refId": str(i), "requisiteStageRefIds": [str(i - 1)] if i else [], "type": "wait", "name": f"w{i}",
         "waitTime": 0}
        for i in range(n)
    ]  # fmt: skip


def fan_out(n: int) -> list[dict[str, Any]]:
    """N parallel ``wait`` stages of 0 s, all joining into one last ``wait``."""
    branches = [
        {"refId": f"b{i}", "requisiteStageRefIds": [], "type": "wait", "name": f"b{i}", "waitTime": 0} for i in range(n)
    ]
    join = {"refId": "join", "requisiteStageRefIds": [b["refId"] for b in branches], "type": "wait", "waitTime": 0}
    return [*branches, {**join, "name": "join"}]


def deploy_cluster(account: str = "aws-local") -> dict[str, Any]:
    """One cluster deployed to three regions (no strategy, no load balancer): three server groups a stage."""
    return {
        "application": APP,
        "stack": "bench",
        "account": account,
        "cloudProvider": "aws",
        "availabilityZones": {region: [f"{region}a"] for region in REGIONS},
        "capacity": {"min": 1, "max": 1, "desired": 1},
        "imageId": IMAGE,
        "instanceType": "t3.micro",
        "subnetType": "internal",
        "securityGroups": ["scale"],
    }


def deploy_chain(n: int) -> list[dict[str, Any]]:
    return [
        {"refId": str(i), "requisiteStageRefIds": [str(i - 1)] if i else [], "type": "deploy", "name": f"d{i}",
         "clusters": [deploy_cluster()]}
        for i in range(n)
    ]  # fmt: skip


def pipeline_config(name: str, stages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "application": APP,
        "name": name,
        "limitConcurrent": False,
        "keepWaitingPipelines": False,
        "stages": stages,
        "triggers": [],
        "parameterConfig": [],
        "notifications": [],
        **extra,
    }


# ---- moto ------------------------------------------------------------------------------------------------------


def aws_account(endpoint: str) -> dict[str, Any]:
    return {
        "name": "aws-local",
        "type": "aws",
        "regions": list(REGIONS),
        "accessKeyId": KEY_ID,
        "secretAccessKey": SECRET,
        "endpointUrl": endpoint,
    }


def build_aws_world(endpoint: str) -> None:
    """In each region: a VPC, one subnet tagged for instances, a security group ``scale``, an image ``IMAGE``."""
    import boto3

    for region in REGIONS:
        kw = {"endpoint_url": endpoint, "region_name": region, "aws_access_key_id": KEY_ID,
              "aws_secret_access_key": SECRET}  # fmt: skip
        with ExitStack() as stack:
            ec2 = boto3.client("ec2", **kw)
            stack.callback(ec2.close)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24", AvailabilityZone=f"{region}a")
            meta = json.dumps({"purpose": "internal", "target": "ec2"})
            ec2.create_tags(
                Resources=[subnet["Subnet"]["SubnetId"]], Tags=[{"Key": "immutable_metadata", "Value": meta}]
            )
            ec2.create_security_group(GroupName="scale", Description="scale", VpcId=vpc)
            ec2.register_image(Name=IMAGE, RootDeviceName="/dev/sda1")


def count_server_groups(endpoint: str, prefix: str = f"{APP}-") -> dict[str, int]:
    """Auto Scaling groups whose name starts with ``prefix``, by name, summed over the regions."""
    import boto3

    counts: dict[str, int] = {}
    for region in REGIONS:
        kw = {"endpoint_url": endpoint, "region_name": region, "aws_access_key_id": KEY_ID,
              "aws_secret_access_key": SECRET}  # fmt: skip
        autoscaling = boto3.client("autoscaling", **kw)
        try:
            for page in autoscaling.get_paginator("describe_auto_scaling_groups").paginate():
                for group in page["AutoScalingGroups"]:
                    name = group["AutoScalingGroupName"]
                    if name.startswith(prefix):
                        counts[f"{region}/{name}"] = counts.get(f"{region}/{name}", 0) + 1
        finally:
            autoscaling.close()
    return counts


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's AWS server in a thread of this process, on a free loopback port."""
    from moto.server import ThreadedMotoServer

    from gennaker.localstack import free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


# ---- histories -------------------------------------------------------------------------------------------------


@dataclass
class History:
    """What Temporal holds for a set of workflows: runs, events and the serialized events' bytes."""

    runs: int = 0
    events: int = 0
    bytes: int = 0

    def add(self, other: History) -> None:
        self.runs += other.runs
        self.events += other.events
        self.bytes += other.bytes


async def run_history(client: Client, workflow_id: str, run_id: str) -> History:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return History(1, len(history.events), sum(e.ByteSize() for e in history.events))


async def histories(client: Client, query: str, *, exclude: str | None = None, parallel: int = 8) -> History:
    """The summed history of every run the visibility ``query`` finds (every run of continued-as-new ones)."""
    runs = [
        (w.id, w.run_id)
        async for w in client.list_workflows(query, page_size=1000)
        if exclude is None or w.id != exclude
    ]
    total = History()
    gate = asyncio.Semaphore(parallel)

    async def one(workflow_id: str, run_id: str) -> None:
        async with gate:
            total.add(await run_history(client, workflow_id, run_id))

    await asyncio.gather(*(one(w, r) for w, r in runs))
    return total


async def workflow_histories(client: Client, workflow_id: str) -> tuple[History, History]:
    """The workflow's own history (all its runs), and the summed history of every workflow named under it
    (``<id>.`` for a pipeline's stages, ``<id>-`` for the raw shape's children)."""
    own = await histories(client, f'WorkflowId = "{workflow_id}"')
    children = History()
    for sep in (".", "-"):
        children.add(await histories(client, f'WorkflowId STARTS_WITH "{workflow_id}{sep}"'))
    return own, children


async def close_reason(client: Client, workflow_id: str) -> tuple[str, str]:
    """``(Temporal status, why)`` of the workflow's latest run; why is a termination reason or a failure."""
    handle = client.get_workflow_handle(workflow_id)
    described = await handle.describe()
    status = described.status.name if described.status else "UNKNOWN"
    why = ""
    if described.status in (WorkflowExecutionStatus.TERMINATED, WorkflowExecutionStatus.FAILED):
        last = None
        async for event in handle.fetch_history_events():
            last = event
        if last is not None:
            attrs = last.workflow_execution_terminated_event_attributes
            failed = last.workflow_execution_failed_event_attributes
            why = attrs.reason if last.HasField("workflow_execution_terminated_event_attributes") else ""
            if last.HasField("workflow_execution_failed_event_attributes"):
                why = failed.failure.message
    return status, why


async def last_task_failure(client: Client, workflow_id: str) -> str:
    """The failure of the workflow's last failed workflow task, if any (why a run makes no progress)."""
    message = ""
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.HasField("workflow_task_failed_event_attributes"):
            message = event.workflow_task_failed_event_attributes.failure.message
    return message


async def wait_closed(client: Client, workflow_id: str, deadline: float) -> bool:
    """Wait until the workflow's latest run is closed (and did not continue-as-new); False at the deadline."""
    handle = client.get_workflow_handle(workflow_id)
    while time.monotonic() < deadline:
        try:
            described = await handle.describe()
        except Exception:  # noqa: BLE001 - not visible yet
            described = None
        if described is not None and described.status not in (
            None,
            WorkflowExecutionStatus.RUNNING,
            WorkflowExecutionStatus.CONTINUED_AS_NEW,
        ):
            return True
        await asyncio.sleep(0.5)
    return False


async def stages_closed(client: Client, execution_id: str) -> int:
    """How many stage workflows of the execution have closed (how far a run that did not finish got)."""
    query = f'WorkflowId STARTS_WITH "{execution_id}." AND ExecutionStatus != "Running"'
    return int((await client.count_workflows(query)).count)


# ---- one measured run ------------------------------------------------------------------------------------------


@dataclass
class Result:
    shape: str
    stages: int
    outcome: str
    seconds: float
    own: History
    children: History
    execution_id: str = ""

    def cells(self) -> tuple[str, ...]:
        per_stage = self.own.bytes / self.stages if self.stages else 0
        return (
            self.shape,
            str(self.stages),
            self.outcome,
            f"{self.own.events:,}" + (f" ({self.own.runs} runs)" if self.own.runs > 1 else ""),
            f"{self.own.bytes / 1e6:,.2f} MB",
            f"{per_stage / 1e3:,.2f} KB",
            f"{self.children.bytes / 1e6:,.2f} MB ({self.children.runs})",
            f"{self.seconds:,.1f} s",
        )


HEADER = ("shape", "stages", "outcome", "events", "history", "bytes/stage", "stage workflows", "wall time")


class Bench:
    """The servers of one benchmark run and the calls the measures share."""

    def __init__(self, client: Client, http: httpx.AsyncClient, raw_queue: str, max_seconds: float) -> None:
        self.client, self.http, self.raw_queue, self.max_seconds = client, http, raw_queue, max_seconds
        self.started: dict[str, str] = {}  # execution id -> pipeline name

    async def save(self, config: dict[str, Any]) -> None:
        response = await self.http.post("/pipelines", json=config)
        if response.status_code >= 300:
            raise RuntimeError(f"saving {config['name']}: {response.status_code} {response.text[:300]}")

    async def trigger(self, name: str) -> str:
        response = await self.http.post(f"/pipelines/{APP}/{name}", json={"parameters": {}})
        if response.status_code >= 300:
            raise RuntimeError(f"triggering {name}: {response.status_code} {response.text[:300]}")
        execution_id = str(response.json()["ref"]).rsplit("/", 1)[1]
        self.started[execution_id] = name
        return execution_id

    async def outcome(self, execution_id: str, finished: bool) -> str:
        """SUCCEEDED (or Gate's other status) for a run that finished; else how it ended in Temporal."""
        if not finished:
            done = await stages_closed(self.client, execution_id)
            failing = await last_task_failure(self.client, execution_id)
            await self.terminate(execution_id, "bench: over --max-seconds")
            why = f"; its workflow task fails: {failing[:80]}" if failing else ""
            return f"not done after {self.max_seconds:.0f} s ({done} stage workflows closed){why}; terminated"
        status, why = await close_reason(self.client, execution_id)
        if status == "COMPLETED":
            got = await self.http.get(f"/pipelines/{execution_id}")
            gate = got.json().get("status") if got.status_code == 200 else f"Gate {got.status_code}"
            return str(gate)
        done = await stages_closed(self.client, execution_id)
        return f"{status} after {done} stage workflows: {why[:90]}"

    async def terminate(self, workflow_id: str, reason: str) -> None:
        with contextlib.suppress(Exception):  # closed meanwhile
            await self.client.get_workflow_handle(workflow_id).terminate(reason=reason)

    async def guarded(self, shape: str, count: int, measure: Any, *args: Any) -> Result:
        """One measure; an error (Gate refusing the save, a lost connection) becomes its outcome, not the end."""
        t0 = time.perf_counter()
        try:
            return await measure(shape, count, *args)  # type: ignore[no-any-return]
        except Exception as exc:  # noqa: BLE001 - reported in the table
            outcome = f"error: {type(exc).__name__}: {str(exc)[:160]}"
            return Result(shape, count, outcome, time.perf_counter() - t0, History(), History())

    async def measure_pipeline(self, shape: str, count: int, name: str, stages: list[dict[str, Any]]) -> Result:
        await self.save(pipeline_config(name, stages))
        t0 = time.perf_counter()
        execution_id = await self.trigger(name)
        finished = await wait_closed(self.client, execution_id, time.monotonic() + self.max_seconds)
        seconds = time.perf_counter() - t0
        outcome = await self.outcome(execution_id, finished)
        own, children = await workflow_histories(self.client, execution_id)
        return Result(shape, count, outcome, seconds, own, children, execution_id)

    async def measure_raw(self, shape: str, n: int) -> Result:
        from .shapes import RawChain

        workflow_id = f"raw-{n}-{uuid.uuid4().hex[:8]}"
        t0 = time.perf_counter()
        handle = await self.client.start_workflow(RawChain.run, n, id=workflow_id, task_queue=self.raw_queue)
        finished = await wait_closed(self.client, workflow_id, time.monotonic() + self.max_seconds)
        seconds = time.perf_counter() - t0
        if not finished:
            await self.terminate(workflow_id, "bench: over --max-seconds")
        status, why = await close_reason(self.client, handle.id)
        outcome = "SUCCEEDED" if status == "COMPLETED" else f"{status}: {why[:90]}"
        own, children = await workflow_histories(self.client, workflow_id)
        return Result(shape, n, outcome, seconds, own, children, workflow_id)

    async def measure_webhook(self, shape: str, count: int, megabytes: float, stages: int = 1) -> Result:
        """A ``webhook`` trigger whose payload is ``megabytes`` MB, starting a pipeline of ``stages`` wait stages
        (each stage's input carries the trigger: the codec must keep it out of every one)."""
        source = f"scale-{uuid.uuid4().hex[:8]}"
        name = f"webhook-{megabytes:g}mb-{stages}"
        trigger = {"type": "webhook", "source": source, "enabled": True}
        await self.save(pipeline_config(name, wait_chain(stages), triggers=[trigger]))
        body = json.dumps({"blob": "x" * int(megabytes * 1024 * 1024 - 16)})
        t0 = time.perf_counter()
        response = await self.http.post(
            f"/webhooks/webhook/{source}", content=body, headers={"Content-Type": "application/json"}
        )
        if response.status_code >= 300:
            outcome = f"Gate {response.status_code}: {response.text[:90]}"
            return Result(shape, 1, outcome, time.perf_counter() - t0, History(), History())
        launched = response.json().get("executions") or []
        ids = [e.get("executionId") or e.get("id") for e in launched]
        if not ids or not ids[0]:
            return Result(shape, 1, f"nothing started: {response.text[:90]}", 0.0, History(), History())
        execution_id = str(ids[0])
        self.started[execution_id] = name
        finished = await wait_closed(self.client, execution_id, time.monotonic() + self.max_seconds)
        seconds = time.perf_counter() - t0
        outcome = await self.outcome(execution_id, finished)
        own, children = await workflow_histories(self.client, execution_id)
        return Result(shape, stages, outcome, seconds, own, children, execution_id)

    async def listed(self) -> tuple[int, int, list[str]]:
        """How many started executions Gate lists (and with which status), of how many."""
        response = await self.http.get(f"/applications/{APP}/pipelines", params={"limit": 1000, "expand": "false"})
        response.raise_for_status()
        seen = {e["id"]: e.get("status") for e in response.json()}
        missing = [f"{self.started[i]} ({i})" for i in self.started if i not in seen]
        return len(self.started) - len(missing), len(self.started), missing

    async def gate_get(self, execution_id: str, runs: int) -> tuple[float, float, int]:
        """p50 and p95 (ms) of Gate's GET of one execution, and its body's size."""
        size = 0
        times = []
        for i in range(runs + 5):
            t0 = time.perf_counter()
            response = await self.http.get(f"/pipelines/{execution_id}")
            elapsed = time.perf_counter() - t0
            response.raise_for_status()
            size = len(response.content)
            if i >= 5:  # warm-up
                times.append(elapsed * 1000)
        return pct(times, 50), pct(times, 95), size


def print_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print(f"\n{title}")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)), flush=True)


# ---- the run ---------------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, client: Client, api_url: str, moto: str | None) -> None:
    from .shapes import RawChain, RawChild, raw_noop

    every = {"linear", "raw", "trigger", "fanout", "deploys", "webhook", "get"}
    only = set(args.only.split(",")) if args.only else every
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    raw_queue = f"scale-raw-{uuid.uuid4().hex[:8]}"
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=120) as http,
        Worker(client, task_queue=raw_queue, workflows=[RawChain, RawChild], activities=[raw_noop]),
    ):
        b = Bench(client, http, raw_queue, args.max_seconds)
        curve: list[tuple[str, ...]] = []
        largest: Result | None = None
        for n in sizes:
            if "linear" in only:
                result = await b.guarded("gennaker wait(0)", n, b.measure_pipeline, f"linear-{n}", wait_chain(n))
                curve.append(result.cells())
                print(" | ".join(result.cells()), flush=True)
                if result.outcome == "SUCCEEDED" and (largest is None or n > largest.stages):
                    largest = result
            if "raw" in only:
                raw = await b.guarded("raw temporal", n, b.measure_raw)
                curve.append(raw.cells())
                print(" | ".join(raw.cells()), flush=True)
        if curve:
            print_table("linear pipelines of wait(0) stages, and the raw Temporal shape", HEADER, curve)

        if "trigger" in only and args.trigger_kb:
            mb = args.trigger_kb / 1024
            triggered: list[tuple[str, ...]] = []
            for n in sizes:
                shape = f"wait(0), {args.trigger_kb:g} KiB trigger"
                result = await b.guarded(shape, n, b.measure_webhook, mb, n)
                triggered.append(result.cells())
                print(" | ".join(result.cells()), flush=True)
            title = f"linear pipelines started by a {args.trigger_kb:g} KiB webhook trigger (in every stage's input)"
            print_table(title, HEADER, triggered)

        others: list[tuple[str, ...]] = []
        if "fanout" in only and args.fanout:
            shape = f"fan-out {args.fanout} + join"
            result = await b.guarded(shape, args.fanout + 1, b.measure_pipeline, "fanout", fan_out(args.fanout))
            others.append(result.cells())
            print(" | ".join(result.cells()), flush=True)
        if "deploys" in only and args.deploys and moto is not None:
            shape, name = f"deploy x {len(REGIONS)} regions", f"deploys-{args.deploys}"
            result = await b.guarded(shape, args.deploys, b.measure_pipeline, name, deploy_chain(args.deploys))
            groups = count_server_groups(moto)
            extra = sum(1 for count in groups.values() if count > 1)
            result.outcome += f"; {len(groups)} server groups (expected {args.deploys * len(REGIONS)}, {extra} dup)"
            others.append(result.cells())
            print(" | ".join(result.cells()), flush=True)
        if "webhook" in only and args.webhook_mb:
            result = await b.guarded(f"webhook trigger, {args.webhook_mb:g} MB", 1, b.measure_webhook, args.webhook_mb)
            others.append(result.cells())
            print(" | ".join(result.cells()), flush=True)
        if others:
            print_table("other shapes", HEADER, others)

        if b.started:
            try:
                got, total, missing = await b.listed()
                print(f"\nGate lists {got} of the {total} executions started (GET /applications/{APP}/pipelines)")
                for line in missing[:10]:
                    print(f"  not listed: {line}")
            except (httpx.HTTPError, ValueError) as exc:
                print(f"\nGate's GET /applications/{APP}/pipelines failed: {type(exc).__name__}: {exc}")

        if "get" in only:
            if largest is not None:
                p50, p95, size = await b.gate_get(largest.execution_id, args.get_runs)
                ok = "yes" if p50 <= GET_TARGET_MS else "NO"
                print_table(
                    "Gate's GET /pipelines/{id}",
                    ("execution", "body", "p50", "p95", f"target p50 <= {GET_TARGET_MS:.0f} ms"),
                    [(f"{largest.stages} stages, finished", f"{size / 1e6:.2f} MB", f"{p50:.1f} ms", f"{p95:.1f} ms",
                      ok)],
                )  # fmt: skip
            else:
                print("\nGate's GET /pipelines/{id}: no linear run SUCCEEDED to read")


async def api_up(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the API at {url} did not answer /health within {timeout:.0f} s")


async def main() -> int:
    from core.store import Store
    from gennaker.temporal_client import connect

    from .chaos import Stack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,30,100,300,1000", help="stage counts of the linear runs")
    parser.add_argument("--fanout", type=int, default=300, help="parallel branches of the fan-out (0: none)")
    parser.add_argument("--deploys", type=int, default=100, help="deploy stages on moto, 3 regions each (0: none)")
    parser.add_argument(
        "--trigger-kb", type=float, default=64, help="webhook trigger of the linear curve's twin (0: none)"
    )
    parser.add_argument(
        "--embedded-part-bytes", type=int, default=-1, help="the codec's embedded-part setting (0: off; default: ours)"
    )
    parser.add_argument("--webhook-mb", type=float, default=4.0, help="size of the webhook trigger (0: none)")
    parser.add_argument("--get-runs", type=int, default=100, help="Gate GETs of the largest finished execution")
    parser.add_argument("--max-seconds", type=float, default=900, help="bound of one run, then it is terminated")
    parser.add_argument("--only", help="comma list of: linear,raw,trigger,fanout,deploys,webhook,get (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gennaker-scale-") as tmp, ExitStack() as exits:
        wants_moto = args.deploys and (not args.only or "deploys" in args.only)
        moto = exits.enter_context(moto_server()) if wants_moto else None
        if moto:
            build_aws_world(moto)
        extra = {"payloads": {"embedded_part_bytes": args.embedded_part_bytes}} if args.embedded_part_bytes >= 0 else {}
        accounts = [aws_account(moto)] if moto else []
        stack = Stack(Path(tmp), accounts, task_queue=f"scale-{uuid.uuid4().hex[:8]}", extra=extra)
        exits.callback(stack.stop)
        store = Store(stack.settings.store_url)
        exits.callback(store.close)
        store.migrate()
        for target in ("temporal", "worker", "api"):
            stack.start(target)
        await api_up(stack.api_url)
        print(f"dev server 127.0.0.1:{stack.temporal_port}, API {stack.api_url}, moto {moto or '-'}; logs in {tmp}")
        client = await connect(stack.settings)
        t0 = time.perf_counter()
        await bench(args, client, stack.api_url, moto)
        print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    from gennaker.temporal_client import exit_now

    exit_now(asyncio.run(main()))

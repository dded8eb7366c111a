"""Chaos: pipelines running while the worker, the API and the Temporal dev server are SIGKILLed and restarted.

    make chaos            # or: nice -n 10 .venv/bin/python -m bench.chaos [--pipelines 200] [--seed 7]

Everything runs on 127.0.0.1 under a temporary directory: the dev server (SQLite file, so a restart keeps its
state), ``worker.py`` and the API (uvicorn ``api.main:app``) as subprocesses, as ``gennaker up`` runs them,
moto's AWS server and a webhook target in this process. Pipelines mix waits, manual judgments (judged here,
through Gate), webhook stages (the target is loopback: the outbound policy's ``allow_cidrs`` opt-in) and moto
deploys (one cluster per pipeline). While they run, a seeded driver SIGKILLs one of the three processes at
random points and restarts it. Then every process is up again and the run settles, within a bound.

Invariants, checked over every execution Gate started and every pipeline workflow Temporal holds:

* 0 stuck: every execution finished (Temporal's workflow closed, the store's status final) within the bound, and
  no stage of a SUCCEEDED execution still RUNNING in the store;
* 0 lost: every execution exists both in the store and in Temporal;
* 0 duplicated cloud mutations: each deploy pipeline's cluster has one server group per execution;
* every final status in the store equals Temporal's (the pipeline's own status for a completed workflow;
  TERMINAL or CANCELED for one Temporal terminated, failed or timed out).

It prints a table and exits 1 when an invariant breaks (2 when the stack could not start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
APP = "chaos"
REGION = "us-east-1"
KEY_ID, SECRET = "AKIAGENNAKERCHAOS001", "chaos-secret-not-a-real-one"  # moto accepts any
IMAGE = "chaos-1.0.0"
TARGETS = ("worker", "api", "temporal")
FINISHED = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE", "SKIPPED"}


@dataclass
class Options:
    pipelines: int = 200
    seed: int = 7
    #: faults: how many kills, or an explicit sequence of targets (the mini chaos in tests/scale uses one)
    kills: int = 12
    targets: list[str] = field(default_factory=list)
    #: triggers are spread over this many seconds; kills fall inside it
    storm_seconds: float = 120.0
    #: after the last fault, every execution must finish within this many seconds
    settle_seconds: float = 300.0
    #: the share of each kind (waits, judgments, webhooks, deploys)
    mix: tuple[float, float, float, float] = (0.4, 0.2, 0.2, 0.2)
    work_dir: Path | None = None
    quiet: bool = False


@dataclass
class Planned:
    name: str
    kind: str
    stages: list[dict[str, Any]]


@dataclass
class Report:
    started: dict[str, str]  # execution id -> pipeline name
    rows: list[dict[str, Any]]
    faults: list[str]
    triggers: tuple[int, int]  # requests left unanswered, and pipelines found started after one
    groups: dict[str, int]
    deploy_executions: dict[str, int]
    webhook_calls: Counter[str]
    violations: list[str]
    seconds: float
    settle_seconds: float


# ---- pipelines -------------------------------------------------------------------------------------------------


def plan(rng: random.Random, opts: Options, hook_url: str) -> list[Planned]:
    """The pipelines of this run: each one of four kinds, a few stages long."""
    out = []
    kinds = ("wait", "judgment", "webhook", "deploy")
    for i in range(opts.pipelines):
        kind = rng.choices(kinds, weights=opts.mix)[0]
        name = f"p{i:03}-{kind}"
        first: dict[str, Any]
        if kind == "wait":
            first = {"type": "wait", "waitTime": rng.randint(1, 4)}
        elif kind == "judgment":
            first = {"type": "manualJudgment", "judgmentInputs": [], "instructions": "chaos"}
        elif kind == "webhook":
            first = {
                "type": "webhook",
                "url": f"{hook_url}/{name}",
                "method": "POST",
                "payload": {"pipeline": name},
                "waitForCompletion": False,
            }
        else:
            first = {"type": "deploy", "clusters": [deploy_cluster(f"c{i:03}")]}
        stages = [
            {"refId": "1", "requisiteStageRefIds": [], "name": kind, **first},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "name": "after",
                "type": "wait",
                "waitTime": rng.randint(0, 2),
            },
        ]
        out.append(Planned(name, kind, stages))
    return out


def deploy_cluster(stack: str) -> dict[str, Any]:
    return {
        "application": APP,
        "stack": stack,
        "account": "aws-local",
        "cloudProvider": "aws",
        "availabilityZones": {REGION: [f"{REGION}a"]},
        "capacity": {"min": 1, "max": 1, "desired": 1},
        "imageId": IMAGE,
        "instanceType": "t3.micro",
        "subnetType": "internal",
        "securityGroups": ["chaos"],
    }


def pipeline_config(p: Planned) -> dict[str, Any]:
    return {
        "application": APP,
        "name": p.name,
        "limitConcurrent": False,
        "keepWaitingPipelines": False,
        "stages": p.stages,
        "triggers": [],
        "parameterConfig": [],
        "notifications": [],
    }


# ---- the world the pipelines touch -----------------------------------------------------------------------------


#: endpoint -> the VPC moto_world made there (moto's backends are per process: other tests' VPCs may be there too)
MOTO_VPC: dict[str, str] = {}


@contextlib.contextmanager
def moto_world() -> Iterator[str]:
    """moto's AWS server in a thread, with a VPC, a tagged subnet, a security group and an image."""
    import boto3
    from moto.server import ThreadedMotoServer

    from gennaker.localstack import free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        kw = {"endpoint_url": endpoint, "region_name": REGION, "aws_access_key_id": KEY_ID,
              "aws_secret_access_key": SECRET}  # fmt: skip
        ec2 = boto3.client("ec2", **kw)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        MOTO_VPC[endpoint] = vpc
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24", AvailabilityZone=f"{REGION}a")
        meta = json.dumps({"purpose": "internal", "target": "ec2"})
        ec2.create_tags(Resources=[subnet["Subnet"]["SubnetId"]], Tags=[{"Key": "immutable_metadata", "Value": meta}])
        ec2.create_security_group(GroupName="chaos", Description="chaos", VpcId=vpc)
        ec2.register_image(Name=IMAGE, RootDeviceName="/dev/sda1")
        ec2.close()
        yield endpoint
    finally:
        server.stop()


def server_groups(endpoint: str) -> dict[str, int]:
    """Server groups per cluster (``chaos-c007``), as moto holds them."""
    import boto3

    kw = {"endpoint_url": endpoint, "region_name": REGION, "aws_access_key_id": KEY_ID,
          "aws_secret_access_key": SECRET}  # fmt: skip
    autoscaling = boto3.client("autoscaling", **kw)
    counts: Counter[str] = Counter()
    try:
        for page in autoscaling.get_paginator("describe_auto_scaling_groups").paginate():
            for group in page["AutoScalingGroups"]:
                counts[group["AutoScalingGroupName"].rsplit("-v", 1)[0]] += 1
    finally:
        autoscaling.close()
    return dict(counts)


class HookTarget:
    """A loopback HTTP server that answers 200 to every POST and counts them by path."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target.calls[self.path.rsplit("/", 1)[-1]] += 1
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, name="chaos-hook", daemon=True)

    def __enter__(self) -> HookTarget:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- the processes ---------------------------------------------------------------------------------------------


def die_with_driver() -> None:
    """In the child: SIGKILL when the thread that started it goes away (this driver dying), so an
    interrupted run leaves no worker or API behind (Linux; elsewhere a no-op)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Stack:
    """The dev server, ``worker.py`` and the API as separate processes, each killable and restartable."""

    def __init__(
        self, work: Path, accounts: list[dict[str, Any]], task_queue: str = "chaos", extra: dict[str, Any] | None = None
    ) -> None:
        from core.settings import Settings
        from gennaker.localstack import free_port

        self.work = work
        self.temporal_port, self.api_port = free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        config: dict[str, Any] = {
            "state_dir": str(work),
            "task_queue": task_queue,
            "temporal": {"address": f"127.0.0.1:{self.temporal_port}"},
            "api": {"host": "127.0.0.1", "port": self.api_port},
            "accounts": accounts,
            **(extra or {}),
        }
        if "outbound" in Settings.model_fields:  # the webhook target is loopback: the operator's opt-in
            config["outbound"] = {"allow_cidrs": ["127.0.0.1/32"]}
        self.config_file = work / "gennaker.yml"
        self.config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.env = {
            **os.environ,
            "GENNAKER_CONFIG_FILE": str(self.config_file),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        for key in [k for k in self.env if k.startswith("GENNAKER_") and k != "GENNAKER_CONFIG_FILE"]:
            del self.env[key]  # this run's file, not the caller's environment
        from core.settings import load_settings

        self.settings = load_settings(**config)  # what the processes read from the file
        self.dev: Any = None
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: Counter[str] = Counter()
        self.down: set[str] = set()  # killed on purpose, to be started again by whoever killed it

    def start(self, target: str) -> None:
        """Start one process (the dev server: until it answers); ``down`` keeps it until then, so the
        supervisor never starts a second one while the first is still coming up."""
        self.starts[target] += 1
        try:
            self._start(target)
        finally:
            self.down.discard(target)

    def _start(self, target: str) -> None:
        if target == "temporal":
            from gennaker.devserver import DevServer

            self.dev = DevServer(
                self.settings,
                port=self.temporal_port,
                headless=True,
                db_file=self.work / "temporal.db",
                log_file=self.work / "temporal.log",
                startup_timeout=60,
            ).start()
            return
        command = (
            [sys.executable, str(ROOT / "worker.py")]
            if target == "worker"
            else [sys.executable, "-m", "uvicorn", "api.main:app", "--app-dir", str(ROOT), "--host", "127.0.0.1",
                  "--port", str(self.api_port), "--log-level", "warning"]
        )  # fmt: skip
        with open(self.work / f"{target}-{self.starts[target]}.log", "wb") as out:
            self.procs[target] = subprocess.Popen(
                command,
                env=self.env,
                cwd=self.work,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_driver,
            )

    def kill(self, target: str) -> None:
        """SIGKILL, as a crashed host would: no shutdown of any kind."""
        self.down.add(target)
        if target == "temporal":
            if self.dev is not None and self.dev.process is not None:
                self.dev.process.send_signal(signal.SIGKILL)
                self.dev.process.wait(30)
                self.dev.stop()  # closes its log; the process is gone already
            self.dev = None
            return
        proc = self.procs.pop(target, None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)

    def alive(self, target: str) -> bool:
        if target == "temporal":
            return self.dev is not None and self.dev.process is not None and self.dev.process.poll() is None
        proc = self.procs.get(target)
        return proc is not None and proc.poll() is None

    def stop(self) -> None:
        for target in ("api", "worker"):
            proc = self.procs.pop(target, None)
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        if self.dev is not None:
            self.dev.stop()
            self.dev = None


# ---- the driver ------------------------------------------------------------------------------------------------


class Driver:
    """Triggers the pipelines, judges the judgments, and kills and restarts processes, from one seed."""

    def __init__(self, opts: Options, stack: Stack, client: Any, planned: list[Planned]) -> None:
        self.opts, self.stack, self.client, self.planned = opts, stack, client, planned
        self.rng = random.Random(opts.seed + 1)
        self.started: dict[str, str] = {}
        self.judged: set[str] = set()
        self.faults: list[str] = []
        self.last_fault = time.monotonic()
        self.http = httpx.AsyncClient(base_url=stack.api_url, timeout=15)
        self.kinds = {p.name: p.kind for p in planned}
        self.unanswered = 0  # trigger requests that got no answer (the API was killed or Temporal down)
        self.adopted = 0  # of those, pipelines found started in Temporal anyway

    def say(self, text: str) -> None:
        if not self.opts.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    async def api_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await self.http.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the API did not answer /health within {timeout:.0f} s")

    async def save_all(self) -> None:
        for p in self.planned:
            response = await self.http.post("/pipelines", json=pipeline_config(p))
            if response.status_code >= 300:
                raise RuntimeError(f"saving {p.name}: {response.status_code} {response.text[:300]}")

    async def in_temporal(self, name: str) -> list[str]:
        """Pipeline workflows Temporal holds for the pipeline ``name`` (a trigger whose answer was lost)."""
        query = f'GennakerApplication = "{APP}" AND GennakerPipelineName = "{name}"'
        with contextlib.suppress(Exception):
            return list(dict.fromkeys([w.id async for w in self.client.list_workflows(query)]))
        return []

    async def trigger(self, p: Planned) -> None:
        """Start one pipeline through Gate; when the answer is lost, find out from Temporal before trying again."""
        for _ in range(60):
            try:
                response = await self.http.post(f"/pipelines/{APP}/{p.name}", json={"parameters": {}})
                if response.status_code < 300:
                    self.started[str(response.json()["ref"]).rsplit("/", 1)[1]] = p.name
                    return
                error = f"{response.status_code} {response.text[:120]}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}"
            self.say(f"trigger {p.name}: {error}; checking Temporal before trying again")
            self.unanswered += 1
            await asyncio.sleep(3)  # visibility lags a little
            found = await self.in_temporal(p.name)
            if found:
                self.adopted += 1
                for execution_id in found:
                    self.started[execution_id] = p.name
                return
            await asyncio.sleep(1)
        self.say(f"trigger {p.name}: gave up")

    async def triggers(self) -> None:
        gaps = [self.rng.uniform(0, 2 * self.opts.storm_seconds / max(1, len(self.planned))) for _ in self.planned]
        for p, gap in zip(self.planned, gaps, strict=True):
            await asyncio.sleep(gap)
            await self.trigger(p)

    async def judge_once(self) -> None:
        waiting = [i for i, name in self.started.items() if self.kinds[name] == "judgment" and i not in self.judged]
        for execution_id in waiting:
            try:
                got = await self.http.get(f"/pipelines/{execution_id}")
                if got.status_code != 200:
                    continue
                execution = got.json()
                if execution.get("status") in FINISHED:
                    self.judged.add(execution_id)
                    continue
                stage = next(
                    (s for s in execution.get("stages", []) if s.get("type") == "manualJudgment"),
                    None,
                )
                if stage is None or stage.get("status") != "RUNNING":
                    if stage is not None and stage.get("status") in FINISHED:
                        self.judged.add(execution_id)
                    continue
                patched = await self.http.patch(
                    f"/pipelines/{execution_id}/stages/{stage['id']}", json={"judgmentStatus": "continue"}
                )
                if patched.status_code < 300:
                    self.judged.add(execution_id)
            except (httpx.HTTPError, ValueError):
                continue

    async def judge(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.judge_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    def fault_plan(self) -> list[tuple[float, str]]:
        targets = list(self.opts.targets) or [self.rng.choice(TARGETS) for _ in range(self.opts.kills)]
        times = sorted(self.rng.uniform(3, self.opts.storm_seconds) for _ in targets)
        return list(zip(times, targets, strict=True))

    async def faults_run(self, t0: float) -> None:
        for at, target in self.fault_plan():
            await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
            down = self.rng.uniform(0.0, 3.0)
            self.say(f"SIGKILL {target}; restart in {down:.1f} s")
            await asyncio.to_thread(self.stack.kill, target)
            await asyncio.sleep(down)
            try:
                await asyncio.to_thread(self.stack.start, target)
            except Exception as exc:  # noqa: BLE001 - the supervisor tries again
                self.say(f"{target} did not start: {str(exc)[:200]}")
            self.faults.append(f"{time.monotonic() - t0:6.1f} s  {target} killed, down {down:.1f} s")
            self.last_fault = time.monotonic()

    async def supervise(self, stop: asyncio.Event) -> None:
        """A process that died by itself (not killed here) is started again and reported as a fault."""
        while not stop.is_set():
            for target in TARGETS:
                if not self.stack.alive(target) and target in self.stack.starts and target not in self.stack.down:
                    await asyncio.sleep(1)
                    if not self.stack.alive(target) and target not in self.stack.down:
                        self.say(f"{target} exited by itself; starting it again")
                        self.faults.append(f"{target} exited by itself (restarted)")
                        self.stack.down.add(target)
                        try:
                            await asyncio.to_thread(self.stack.start, target)
                        except Exception as exc:  # noqa: BLE001 - tried again on the next round
                            self.say(f"{target} did not start: {str(exc)[:200]}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


# ---- checks ----------------------------------------------------------------------------------------------------


async def temporal_view(client: Any, execution_id: str, *, result: bool = True) -> tuple[str, str | None]:
    """``(workflow status, the pipeline's own status)`` of the latest run; ``("MISSING", None)`` when gone."""
    from workflows import search

    handle = client.get_workflow_handle(execution_id)
    try:
        described = await handle.describe()
    except Exception:  # noqa: BLE001 - not found
        return "MISSING", None
    status = described.status.name if described.status else "UNKNOWN"
    own = described.typed_search_attributes.get(search.STATUS)
    if status == "COMPLETED" and result:
        with contextlib.suppress(Exception):
            result = await handle.result()
            if isinstance(result, dict) and result.get("status"):
                own = str(result["status"])
    return status, own


def store_view(store: Any, execution_id: str) -> str | None:
    from core.store import NotFoundError

    try:
        return str(store.executions.get(execution_id).get("status"))
    except NotFoundError:
        return None


def unfinished_stages(store: Any, execution_id: str) -> list[str]:
    """The stages the store's copy of a finished execution still shows RUNNING (a stage end that never landed)."""
    execution = store.executions.get(execution_id)
    return [
        str(stage.get("refId") or stage.get("name"))
        for stage in execution.get("stages") or []
        if str(stage.get("status")) in ("RUNNING", "PAUSED", "SUSPENDED")
    ]


def stage_error(store: Any, execution_id: str) -> str:
    """The first stage error the store's copy shows (why an execution did not succeed)."""
    execution = store.executions.get(execution_id)
    for stage in execution.get("stages") or []:
        details = ((stage.get("context") or {}).get("exception") or {}).get("details") or {}
        if details.get("error"):
            return f"{stage.get('type')}: {str(details['error'])[:160]}"
    return "no stage error recorded"


def stored_name(store: Any, execution_id: str) -> str:
    from core.store import NotFoundError

    try:
        return str(store.executions.get(execution_id).get("name", "?"))
    except NotFoundError:
        return "?"


async def settle(driver: Driver, store: Any, everything: dict[str, str]) -> None:
    """Wait (judging meanwhile) until every execution is closed in Temporal and final in the store."""
    deadline = driver.last_fault + driver.opts.settle_seconds
    done: set[str] = set()
    while time.monotonic() < deadline:
        for execution_id in set(everything) - done:
            status, _ = await temporal_view(driver.client, execution_id, result=False)
            stored = await asyncio.to_thread(store_view, store, execution_id)
            if status not in ("RUNNING", "CONTINUED_AS_NEW") and stored in FINISHED:
                done.add(execution_id)
        if len(done) == len(everything):
            return
        driver.say(f"settling: {len(everything) - len(done)} executions not finished")
        await driver.judge_once()
        await asyncio.sleep(3)


async def check(driver: Driver, store: Any, moto: str, hooks: HookTarget, t0: float) -> Report:
    from workflows.launch import WORKFLOW_TYPE

    everything = dict(driver.started)
    query = f'WorkflowType = "{WORKFLOW_TYPE}" AND GennakerApplication = "{APP}"'
    async for w in driver.client.list_workflows(query):
        everything.setdefault(w.id, "?")
    await settle(driver, store, everything)
    settled = time.monotonic() - driver.last_fault
    rows: list[dict[str, Any]] = []
    violations: list[str] = []
    for execution_id, name in sorted(everything.items()):
        status, own = await temporal_view(driver.client, execution_id)
        stored = await asyncio.to_thread(store_view, store, execution_id)
        if name == "?":
            name = await asyncio.to_thread(stored_name, store, execution_id)
        row: dict[str, Any] = {"id": execution_id, "name": name, "temporal": status, "pipeline": own, "store": stored}
        rows.append(row)
        where = f"{name} ({execution_id})"
        if status == "MISSING" or stored is None:
            violations.append(f"lost: {where}: Temporal {status}, store {stored}")
        elif status in ("RUNNING", "CONTINUED_AS_NEW") or stored not in FINISHED:
            violations.append(f"stuck: {where}: Temporal {status}, store {stored}")
        elif status == "COMPLETED" and own != stored:
            violations.append(f"status differs: {where}: Temporal's pipeline {own}, store {stored}")
        elif status != "COMPLETED" and stored not in ("TERMINAL", "CANCELED"):
            violations.append(f"status differs: {where}: Temporal {status}, store {stored}")
        if stored == "SUCCEEDED":  # (an execution Temporal terminated gets its final status from the reconciler alone)
            running = await asyncio.to_thread(unfinished_stages, store, execution_id)
            if running:
                violations.append(f"stage stuck: {where}: store {stored} but stages {running} still running")
        if stored not in (None, "SUCCEEDED"):
            row["why"] = await asyncio.to_thread(stage_error, store, execution_id)
    # only the harness's own clusters: moto's backends are per process, and other tests in it deploy too
    groups = {c: n for c, n in (await asyncio.to_thread(server_groups, moto)).items() if c.startswith(f"{APP}-c")}
    deploys: Counter[str] = Counter()
    for row in rows:
        if driver.kinds.get(row["name"]) == "deploy":
            deploys[f"{APP}-c{row['name'][1:4]}"] += 1
    for cluster, count in sorted(groups.items()):
        if count > deploys.get(cluster, 0):
            violations.append(f"duplicated mutation: {cluster} has {count} server groups for {deploys[cluster]} runs")
    for row in rows:
        if driver.kinds.get(row["name"]) == "deploy" and row["store"] == "SUCCEEDED":
            cluster = f"{APP}-c{row['name'][1:4]}"
            if not groups.get(cluster):
                violations.append(f"missing mutation: {row['name']} SUCCEEDED but {cluster} has no server group")
    return Report(
        driver.started,
        rows,
        driver.faults,
        (driver.unanswered, driver.adopted),
        groups,
        dict(deploys),
        hooks.calls,
        violations,
        time.monotonic() - t0,
        settled,
    )


# ---- the run ---------------------------------------------------------------------------------------------------


async def run(opts: Options) -> Report:
    """One chaos run; the report says what broke (``violations``)."""
    from core.store import Store
    from gennaker.temporal_client import connect

    with contextlib.ExitStack() as exits:
        work = opts.work_dir or Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="gennaker-chaos-")))
        moto = exits.enter_context(moto_world())
        hooks = exits.enter_context(HookTarget())
        planned = plan(random.Random(opts.seed), opts, hooks.url)
        account = {"name": "aws-local", "type": "aws", "regions": [REGION], "accessKeyId": KEY_ID,
                   "secretAccessKey": SECRET, "endpointUrl": moto, "vpcId": MOTO_VPC[moto]}  # fmt: skip
        stack = Stack(work, [account])
        exits.callback(stack.stop)
        store = Store(stack.settings.store_url)
        exits.callback(store.close)
        store.migrate()
        for target in ("temporal", "worker", "api"):
            stack.start(target)
        client = await connect(stack.settings)
        driver = Driver(opts, stack, client, planned)
        try:
            await driver.api_up()
            await driver.save_all()
            t0 = time.monotonic()
            driver.say(f"{len(planned)} pipelines saved; triggering over {opts.storm_seconds:.0f} s with faults")
            stop = asyncio.Event()
            background = [asyncio.create_task(driver.judge(stop)), asyncio.create_task(driver.supervise(stop))]
            await asyncio.gather(driver.triggers(), driver.faults_run(t0))
            for target in TARGETS:  # everything up for the settling
                if not stack.alive(target):
                    await asyncio.to_thread(stack.start, target)
            await driver.api_up()
            driver.say(f"{len(driver.started)} started, {len(driver.faults)} faults; settling")
            report = await check(driver, store, moto, hooks, t0)
            stop.set()
            await asyncio.gather(*background)
            return report
        finally:
            await driver.http.aclose()


def print_report(report: Report, opts: Options) -> None:
    by_kind: dict[str, Counter[str]] = {}
    for row in report.rows:
        kind = row["name"].split("-", 1)[-1] if row["name"] != "?" else "?"
        by_kind.setdefault(kind, Counter())[str(row["store"])] += 1
    print(f"\nchaos: seed {opts.seed}, {len(report.rows)} executions, {len(report.faults)} faults, "
          f"{report.seconds:.0f} s (settled {report.settle_seconds:.0f} s after the last fault)")  # fmt: skip
    for fault in report.faults:
        print(f"  {fault}")
    header = ("kind", "executions", "final statuses (store)")
    lines = [(k, str(sum(c.values())), ", ".join(f"{s} {n}" for s, n in sorted(c.items()))) for k, c in by_kind.items()]
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(3)]
    print()
    for line in [header, tuple("-" * w for w in widths), *sorted(lines)]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
    stuck = sum(1 for v in report.violations if v.startswith("stuck"))
    stage_stuck = sum(1 for v in report.violations if v.startswith("stage stuck"))
    lost = sum(1 for v in report.violations if v.startswith("lost"))
    dup = sum(1 for v in report.violations if v.startswith("duplicated"))
    differ = sum(1 for v in report.violations if v.startswith("status differs"))
    missing = sum(1 for v in report.violations if v.startswith("missing mutation"))
    redelivered = sum(1 for n in report.webhook_calls.values() if n > 1)
    print()
    invariants = [
        ("stuck (not finished within the bound)", stuck),
        ("stages still RUNNING in a SUCCEEDED execution", stage_stuck),
        ("lost (missing in the store or in Temporal)", lost),
        ("duplicated cloud mutations", dup),
        ("final status differs (store vs Temporal)", differ),
        ("deploy SUCCEEDED without its server group", missing),
    ]
    for label, count in invariants:
        print(f"  {label:<45} {count}")
    print(f"  {'server groups in moto / deploy executions':<45} {sum(report.groups.values())} / "
          f"{sum(report.deploy_executions.values())}")  # fmt: skip
    print(f"  {'trigger requests unanswered / started anyway':<45} {report.triggers[0]} / {report.triggers[1]}")
    print(f"  {'webhook targets called more than once':<45} {redelivered} (at-least-once; not an invariant)")
    unsuccessful = [row for row in report.rows if row.get("why")]
    for row in unsuccessful[:10]:
        print(f"  not SUCCEEDED: {row['name']} {row['store']}: {row['why']}")
    for violation in report.violations[:30]:
        print(f"  VIOLATION {violation}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kills", type=int, default=12, help="SIGKILLs at random points, of random processes")
    parser.add_argument("--storm-seconds", type=float, default=120.0, help="triggers and kills spread over this")
    parser.add_argument("--settle-seconds", type=float, default=300.0, help="bound after the last fault")
    parser.add_argument(
        "--mix", default="0.4,0.2,0.2,0.2", help="shares of waits, judgments, webhooks and deploys (comma list)"
    )
    parser.add_argument("--keep", type=Path, help="keep logs and state in this directory")
    args = parser.parse_args()
    opts = Options(
        pipelines=args.pipelines,
        seed=args.seed,
        kills=args.kills,
        storm_seconds=args.storm_seconds,
        settle_seconds=args.settle_seconds,
        work_dir=args.keep,
        mix=tuple(float(x) for x in args.mix.split(",")),  # type: ignore[arg-type]
    )
    if len(opts.mix) != 4:
        parser.error("--mix: four shares (waits, judgments, webhooks, deploys)")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    try:
        report = asyncio.run(run(opts))
    except RuntimeError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 2
    print_report(report, opts)
    return 1 if report.violations else 0


if __name__ == "__main__":
    from gennaker.temporal_client import exit_now

    exit_now(main())

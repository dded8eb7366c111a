"""The ``bake`` stage through the engine (Temporal's dev server) with Debian's packer baking in moto:
per-region bakes and ``deploymentDetails``, the cache and ``rebake``, identical bakes at once sharing
one packer run, cancel, failures that name their cause, and a deploy that takes the baked image."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.bake import BakeActivities, build
from bakery.accounts import BakeAccounts
from bakery.images import ImageConfig
from bakery.logs import read_log
from bakery.messages import RunBakeResult
from bakery.store import CANCELED, BakeStore
from core.settings.bakery import BakerySettings
from core.store import Store
from tests.bakery.conftest import XENIAL_AMI, account_entries
from tests.bakery.test_packer_moto import assert_gone
from tests.conftest import Settings
from tests.providers.aws_fixtures import FAKE_KEY_ID, FAKE_SECRET, REGION, ZONES, AwsWorld
from workflows import operations
from workflows.stages.base import TaskInput

pytestmark = pytest.mark.temporal


@dataclass
class Bakery:
    client: Client
    queue: str
    world: AwsWorld
    acts: BakeActivities

    async def start(
        self, stages: list[dict[str, Any]], name: str = "bake", trigger: dict[str, Any] | None = None
    ) -> str:
        config = {"application": "myapp", "name": name, "limitConcurrent": False, "stages": stages}
        return await operations.start_pipeline(self.client, config, trigger, task_queue=self.queue)

    async def wait(self, execution_id: str) -> dict[str, Any]:
        return await asyncio.wait_for(operations.wait_for_execution(self.client, execution_id), 90)

    async def run(self, stages: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
        return await self.wait(await self.start(stages, **kw))

    async def running_bake(self, execution_id: str, timeout: float = 30) -> tuple[str, int]:
        """The bake id and packer pid of a running bake stage, once packer runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = await operations.get_execution(self.client, execution_id)
            for stage in execution["stages"]:
                bake_id = (stage["context"].get("status") or {}).get("id")
                pidfile = self.acts.state_dir / "bakery" / "run" / f"{bake_id}.pid"
                if bake_id and pidfile.exists():
                    return bake_id, int(pidfile.read_text().split()[0])
            await asyncio.sleep(0.05)
        raise AssertionError("no packer started")

    def images_named(self, prefix: str) -> list[dict[str, Any]]:
        """The AMIs bakes made in us-east-1 whose name starts with ``prefix``."""
        return [i for i in self.world.ec2.describe_images(Owners=["self"])["Images"] if i["Name"].startswith(prefix)]


@pytest_asyncio.fixture(loop_scope="session")
async def bakery(
    client: Client,
    packer: str,
    aws_world: AwsWorld,
    aws_cloud: Any,
    moto_endpoint: str,
    bakery_settings: BakerySettings,
    images: ImageConfig,
    tmp_path: Path,
) -> AsyncIterator[Bakery]:
    from activities.all import build_activities
    from activities.engine import MemoryConfigSource
    from worker import activity_name
    from workflows.all import WORKFLOWS, workflow_runner

    queue = f"bake-{uuid.uuid4()}"
    accounts = BakeAccounts(account_entries(moto_endpoint))
    store = Store(f"sqlite:///{tmp_path / 'gennaker.db'}")
    store.migrate()
    acts = BakeActivities(client, bakery_settings, images, accounts, BakeStore(store), tmp_path, workflow_queue=queue)
    engine = build_activities(
        Settings(task_queue=queue), client, configs=MemoryConfigSource(), clouds={"aws": aws_cloud}
    )
    bake = [acts.create_bake, acts.monitor_bake, acts.completed_bake, acts.cancel_bake, acts.run_packer]
    ours = {activity_name(fn) for fn in bake}  # this test's bakery replaces the one the worker builds itself
    engine = [fn for fn in engine if activity_name(fn) not in ours]
    async with Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=[*engine, *bake],
        activity_executor=ThreadPoolExecutor(max_workers=20),
        workflow_runner=workflow_runner(),
    ):
        yield Bakery(client, queue, aws_world, acts)
    accounts.close()
    store.close()


def bake(**fields: Any) -> dict[str, Any]:
    return {
        "refId": "1",
        "type": "bake",
        "name": "Bake",
        "package": "myapp_1.0.0-h12_all",
        "baseOs": "xenial",
        "baseLabel": "release",
        "regions": [REGION],
        "cloudProviderType": "aws",
        "account": "test",
        "user": "someone@example.com",
        **fields,
    }


def stage(execution: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in execution["stages"] if s["name"] == name)


async def test_a_bake_per_region_and_deployment_details(bakery: Bakery) -> None:
    execution = await bakery.run([bake(regions=[REGION, "us-west-2"], amiSuffix="20240101")])
    assert execution["status"] == "SUCCEEDED", execution
    parent = stage(execution, "Bake")
    assert [t["name"] for t in parent["tasks"]] == ["completeParallel"]
    details = parent["outputs"]["deploymentDetails"]
    assert [d["region"] for d in sorted(details, key=lambda d: d["region"])] == [REGION, "us-west-2"]
    for detail in details:
        assert detail["ami"] == detail["imageId"] and detail["ami"].startswith("ami-")
        assert detail["imageName"] == "myapp-all-20240101-xenial"
        assert detail["cloudProviderType"] == "aws" and detail["baseOs"] == "xenial"
        assert detail["baseAmiId"] == XENIAL_AMI and detail["package"] == "myapp_1.0.0-h12_all"
    east = stage(execution, f"Bake in {REGION}")
    assert east["parentStageId"] == parent["id"] and east["syntheticStageOwner"] == "STAGE_BEFORE"
    assert [t["name"] for t in east["tasks"]] == ["createBake", "monitorBake", "completedBake"]
    ctx = east["context"]
    assert ctx["status"]["state"] == "COMPLETED" and ctx["status"]["result"] == "SUCCESS"
    assert ctx["status"]["resourceId"] == ctx["status"]["id"] and ctx["previouslyBaked"] is False
    assert ctx["bakeLog"]["url"] == f"/bakery/logs/{REGION}/{ctx['status']['id']}"
    assert "AMIs were created" in ctx["bakeLog"]["tail"]
    assert ctx["artifacts"] == [
        {
            "type": "aws/image",
            "name": "myapp-all-20240101-xenial",
            "location": REGION,
            "reference": ctx["ami"],
            "uuid": ctx["status"]["id"],
        }
    ]
    west = next(d for d in details if d["region"] == "us-west-2")
    ec2_west = boto3.client(
        "ec2",
        endpoint_url=bakery.world.endpoint,
        region_name="us-west-2",
        aws_access_key_id=FAKE_KEY_ID,
        aws_secret_access_key=FAKE_SECRET,
    )
    try:
        (image,) = ec2_west.describe_images(ImageIds=[west["ami"]])["Images"]
    finally:
        ec2_west.close()
    assert image["Name"] == "myapp-all-20240101-xenial"


async def test_one_region_puts_the_image_in_the_stage_context_and_the_suffix_is_orca_s(bakery: Bakery) -> None:
    execution = await bakery.run([bake()])
    parent = stage(execution, "Bake")
    (detail,) = parent["outputs"]["deploymentDetails"]
    assert parent["context"]["ami"] == detail["ami"] and parent["context"]["imageName"] == detail["imageName"]
    # no amiSuffix: Orca's yyyyMMddHHmmss of when the bake started
    assert len(detail["amiSuffix"]) == 14 and detail["imageName"] == f"myapp-all-{detail['amiSuffix']}-xenial"


async def test_the_same_bake_reuses_the_image_and_rebake_makes_a_new_one(bakery: Bakery) -> None:
    first = stage(await bakery.run([bake(amiSuffix="1")]), f"Bake in {REGION}")["context"]
    second = stage(await bakery.run([bake(amiSuffix="2")]), f"Bake in {REGION}")["context"]
    assert second["previouslyBaked"] is True and second["ami"] == first["ami"]
    assert second["status"] == first["status"] and second["imageName"] == "myapp-all-1-xenial"
    assert len(bakery.images_named("myapp-all-")) == 1  # packer ran once
    assert len(bakery.acts.store.for_key(first["bakeKey"])) == 1
    rebaked = stage(await bakery.run([bake(amiSuffix="3", rebake=True)]), f"Bake in {REGION}")["context"]
    assert rebaked["previouslyBaked"] is False and rebaked["ami"] != first["ami"]
    assert rebaked["imageName"] == "myapp-all-3-xenial"
    # from now on the rebaked image is the one reused, also when the trigger asked for the rebake
    again = stage(await bakery.run([bake(amiSuffix="4")]), f"Bake in {REGION}")["context"]
    assert again["ami"] == rebaked["ami"] and again["previouslyBaked"] is True
    by_trigger = stage(await bakery.run([bake(amiSuffix="5")], trigger={"rebake": True}), f"Bake in {REGION}")
    assert by_trigger["context"]["previouslyBaked"] is False
    assert len(bakery.images_named("myapp-all-")) == 3
    # a different package is a different bake
    other = stage(await bakery.run([bake(package="myapp_1.0.1-h13_all")]), f"Bake in {REGION}")["context"]
    assert other["previouslyBaked"] is False and other["bakeKey"] != first["bakeKey"]


async def test_identical_bakes_at_once_run_packer_once(bakery: Bakery) -> None:
    slow = bake(templateFileName="aws-ebs-slow.json", extendedAttributes={"sleep_seconds": "3"}, amiSuffix="x")
    ids = await asyncio.gather(*(bakery.start([dict(slow)], name=f"p{n}") for n in range(3)))
    executions = await asyncio.gather(*(bakery.wait(i) for i in ids))
    contexts = [stage(e, f"Bake in {REGION}")["context"] for e in executions]
    assert [e["status"] for e in executions] == ["SUCCEEDED"] * 3
    assert len({c["status"]["id"] for c in contexts}) == 1 and len({c["ami"] for c in contexts}) == 1
    assert all(c["previouslyBaked"] is False for c in contexts)  # they shared a bake in flight
    assert len(bakery.images_named("myapp-all-x-")) == 1
    (record,) = bakery.acts.store.for_key(contexts[0]["bakeKey"])
    assert len(record.requested_by) == 3
    assert read_log(bakery.acts.state_dir, record.id).text.count("==> gennaker: bake ") == 1


async def test_cancel_stops_packer_unless_another_stage_still_waits(bakery: Bakery) -> None:
    slow = bake(templateFileName="aws-ebs-slow.json", extendedAttributes={"sleep_seconds": "600"})
    execution_id = await bakery.start([slow])
    bake_id, pid = await bakery.running_bake(execution_id)
    await operations.cancel_execution(bakery.client, execution_id)
    canceled = await bakery.wait(execution_id)
    assert canceled["status"] == "CANCELED"
    record = bakery.acts.store.get(bake_id)
    assert record is not None
    handle = bakery.client.get_workflow_handle(record.workflow_id, run_id=bake_id, result_type=RunBakeResult)
    result = await asyncio.wait_for(handle.result(), 60)
    assert result.abandoned and result.state == "CANCELED"
    assert_gone(pid)
    assert bakery.acts.store.get(bake_id).state == CANCELED  # type: ignore[union-attr]
    # two stages share a bake; one is canceled: packer goes on for the other
    shared = bake(templateFileName="aws-ebs-slow.json", extendedAttributes={"sleep_seconds": "3"}, amiSuffix="s")
    first = await bakery.start([dict(shared)], name="first")
    bake_id, pid = await bakery.running_bake(first)
    second = await bakery.start([dict(shared)], name="second")
    await bakery.running_bake(second)
    await operations.cancel_execution(bakery.client, first)
    assert (await bakery.wait(first))["status"] == "CANCELED"
    survivor = await bakery.wait(second)
    assert survivor["status"] == "SUCCEEDED"
    assert stage(survivor, f"Bake in {REGION}")["context"]["status"]["id"] == bake_id


async def test_failures_name_their_cause(bakery: Bakery) -> None:
    failed = await bakery.run([bake(baseOs="gone")])
    assert failed["status"] == "TERMINAL"
    error = stage(failed, "Bake")["context"]["exception"]["details"]["error"]
    assert "InvalidAMIID.NotFound" in error and "(bake log: GET /bakery/logs/us-east-1/" in error
    child = stage(failed, f"Bake in {REGION}")
    assert child["context"]["status"]["result"] == "FAILURE"
    assert [t["status"] for t in child["tasks"]] == ["SUCCEEDED", "TERMINAL", "NOT_STARTED"]
    for fields, message in [
        ({"baseOs": None}, "baseOs: which base image to bake on"),
        ({"extendedAttributes": {"appversion": "{{env `AWS_SECRET_ACCESS_KEY`}}"}}, "appversion: may not contain '{{'"),
        ({"package": "myapp; reboot"}, "package: 'myapp;' is not a package name"),
        ({"regions": ["eu-west-1"]}, "regions: no virtualization settings for region 'eu-west-1'"),
        ({"regions": []}, "regions: name at least one region to bake in"),
    ]:
        execution = await bakery.run([bake(**fields)])
        assert execution["status"] == "TERMINAL", fields
        assert message in stage(execution, "Bake")["context"]["exception"]["details"]["error"], fields


async def test_a_bake_past_the_bakery_timeout_fails_the_stage(bakery: Bakery) -> None:
    bakery.acts.settings = bakery.acts.settings.model_copy(update={"bake_timeout_s": 2})
    execution = await bakery.run(
        [bake(templateFileName="aws-ebs-slow.json", extendedAttributes={"sleep_seconds": "600"})]
    )
    assert execution["status"] == "TERMINAL"
    assert "Bake timed out after 2 seconds" in stage(execution, "Bake")["context"]["exception"]["details"]["error"]


async def test_deploy_takes_the_baked_image(bakery: Bakery) -> None:
    world = bakery.world
    cluster = {
        "application": "myapp",
        "stack": "prod",
        "account": "test",
        "cloudProvider": "aws",
        "availabilityZones": {REGION: ZONES},
        "capacity": {"min": 1, "max": 1, "desired": 1},
        "instanceType": "t3.micro",
        "subnetType": "internal",
        "securityGroups": [world.security_group_id],
    }
    deploy = {"refId": "2", "requisiteStageRefIds": ["1"], "type": "deploy", "name": "Deploy", "clusters": [cluster]}
    execution = await bakery.run([bake(amiSuffix="d"), deploy])
    assert execution["status"] == "SUCCEEDED", stage(execution, "Deploy")["context"].get("exception")
    ami = stage(execution, "Bake")["outputs"]["deploymentDetails"][0]["ami"]
    (plan,) = stage(execution, "Deploy")["context"]["deploy.plan"]
    assert plan["imageId"] == ami
    versions = world.ec2.describe_launch_template_versions(LaunchTemplateName=plan["serverGroupName"])
    assert versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]["ImageId"] == ami


def test_build_wires_the_activities(tmp_path: Path, bakery_settings: BakerySettings) -> None:
    from types import SimpleNamespace

    from activities.all import build_activities
    from worker import activity_name

    settings = SimpleNamespace(
        task_queue="q", state_dir=tmp_path, bakery=bakery_settings, activity_queues={"run_packer": "packers"}
    )
    store = Store(f"sqlite:///{tmp_path / 'gennaker.db'}")
    activities = build(settings, None, store)
    names = [fn.__temporal_activity_definition.name for fn in activities]  # type: ignore[attr-defined]
    assert names == ["create_bake", "monitor_bake", "completed_bake", "cancel_bake", "run_packer"]
    owner = activities[0].__self__  # type: ignore[attr-defined]
    assert (owner.workflow_queue, owner.packer_queue) == ("q", "packers")
    assert owner.store.store is store  # the shared store: no bake file under the state dir
    # without settings.bakery: the shipped images.yml and templates
    plain = build(SimpleNamespace(task_queue="q", state_dir=tmp_path), None, store)[0].__self__  # type: ignore[attr-defined]
    assert plain.images.aws is not None and plain.settings.templates_dir.name == "templates"
    # the worker's composition hands the bakery the store it builds for every activity
    wired = build_activities(Settings(task_queue="q", state_dir=str(tmp_path)), None, store=store, clouds={})
    (create,) = [fn for fn in wired if activity_name(fn) == "create_bake"]
    assert create.__self__.store.store is store  # type: ignore[attr-defined]
    assert "create_bake" not in {
        activity_name(fn) for fn in build_activities(Settings(task_queue="q"), None, clouds={})
    }
    store.close()


def task_input(context: dict[str, Any], stage_id: str = "s1", started: int = 1_700_000_000_000) -> TaskInput:
    return TaskInput(
        execution_id="ex1",
        application="myapp",
        stage_id=stage_id,
        stage_ref_id="1<1",
        stage_type="bake",
        task_name="createBake",
        context=context,
        stage_start_time_ms=started,
        task_start_time_ms=started,
    )


async def test_a_retried_rebake_keeps_its_bake_and_an_abandoned_bake_is_baked_again(bakery: Bakery) -> None:
    env = ActivityEnvironment()
    slow = {**bake(region=REGION, rebake=True), "templateFileName": "aws-ebs-slow.json"}
    slow["extendedAttributes"] = {"sleep_seconds": "600"}
    first = await env.run(bakery.acts.create_bake, task_input(slow))
    again = await env.run(bakery.acts.create_bake, task_input(slow))  # Temporal retried createBake
    assert first.status.value == again.status.value == "SUCCEEDED"
    assert again.context["status"]["id"] == first.context["status"]["id"]
    assert again.context["amiSuffix"] == "20231114221320"  # Orca's suffix from the stage's start time
    waiting = {**slow, **first.context}
    monitored = await env.run(bakery.acts.monitor_bake, task_input(waiting))
    assert monitored.status.value == "RUNNING" and monitored.backoff_ms == 200
    # the only stage waiting leaves: packer is stopped and the bake ends abandoned
    await env.run(bakery.acts.cancel_bake, task_input(waiting))
    handle = bakery.client.get_workflow_handle(
        first.context["bakeWorkflowId"], run_id=first.context["status"]["id"], result_type=RunBakeResult
    )
    assert (await asyncio.wait_for(handle.result(), 60)).abandoned
    # a stage still monitoring it (it joined as the bake was being abandoned) bakes again
    rebaked = await env.run(bakery.acts.monitor_bake, task_input(waiting, stage_id="s2"))
    assert rebaked.status.value == "RUNNING" and rebaked.backoff_ms == 1
    new_id = rebaked.context["status"]["id"]
    assert new_id != first.context["status"]["id"] and rebaked.context["bakeWorkflowId"] == handle.id
    # an operator cancels that bake's workflow: packer stops, the stage fails
    _, pid = await bakery_pid(bakery, new_id)
    canceled = bakery.client.get_workflow_handle(handle.id, run_id=new_id)
    await canceled.cancel()
    with contextlib.suppress(WorkflowFailureError):  # the event: the bake's workflow has closed, canceled
        await asyncio.wait_for(canceled.result(), 60)
    done = await env.run(bakery.acts.monitor_bake, task_input({**waiting, **rebaked.context}, stage_id="s2"))
    assert done.status.value == "TERMINAL" and done.error == f"bake {new_id} ended CANCELED"
    assert_gone(pid)


async def bakery_pid(bakery: Bakery, bake_id: str, timeout: float = 30) -> tuple[str, int]:
    pidfile = bakery.acts.state_dir / "bakery" / "run" / f"{bake_id}.pid"
    deadline = time.monotonic() + timeout
    while not pidfile.exists():
        assert time.monotonic() < deadline, "packer did not start"
        await asyncio.sleep(0.05)
    return bake_id, int(pidfile.read_text().split()[0])


async def test_another_bakery_worker_reuses_the_bake_from_the_shared_store(bakery: Bakery, tmp_path: Path) -> None:
    """A second worker (its own state dir, its own connection to the store) finds the first one's bake."""
    first = stage(await bakery.run([bake(amiSuffix="w1")]), f"Bake in {REGION}")["context"]
    url = bakery.acts.store.store.engine.url.render_as_string(hide_password=False)
    shared = Store(url)
    acts = bakery.acts
    other = BakeActivities(
        bakery.client, acts.settings, acts.images, acts.accounts, BakeStore(shared), tmp_path / "other", bakery.queue
    )
    env = ActivityEnvironment()
    created = await env.run(other.create_bake, task_input(bake(region=REGION, amiSuffix="w2"), stage_id="elsewhere"))
    assert created.context["previouslyBaked"] is True and created.context["status"] == first["status"]
    done = await env.run(other.completed_bake, task_input({**bake(region=REGION), **created.context}))
    assert done.context["ami"] == first["ami"] and done.context["imageName"] == "myapp-all-w1-xenial"
    record = other.store.get(first["status"]["id"])
    assert record is not None and record.log_ref is not None
    baked_log = acts.state_dir / "bakery" / "logs" / f"{record.id}.log"
    assert Path(record.log_ref["path"]) == baked_log.resolve()  # the log stays with the worker that baked
    assert not (tmp_path / "other" / "bakery").exists()
    shared.close()

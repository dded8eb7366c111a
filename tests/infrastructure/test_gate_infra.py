"""The infrastructure through Gate with Fiat on, against moto's server: the reads in Clouddriver's field names
from the refreshed cache, the operations as ``/tasks`` jobs and as pipeline stages (created, changed, read
back, deleted), and a reader's 403 on an account it may not write."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.messages.cloud_cache import RefreshCloudCacheInput
from tests.api.permissions_world import principal_from_header
from tests.providers.aws_fixtures import FAKE_KEY_ID, FAKE_SECRET, REGION, AwsWorld

pytestmark = pytest.mark.temporal
DONE = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED"}


class Gate:
    def __init__(self, http: httpx.AsyncClient, settings: Any, store: Any) -> None:
        self.http, self.settings, self.store = http, settings, store

    async def call(self, role: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers={"X-Test-As": role}, **kwargs)

    async def task(self, role: str, job: dict[str, Any]) -> dict[str, Any]:
        answer = await self.call(role, "POST", "/tasks", json={"application": "myapp", "job": [job]})
        assert answer.status_code == 200, answer.text
        return await self.finished(answer.json()["ref"])

    async def finished(self, ref: str) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            shown = await self.call("writer", "GET", ref)
            if shown.status_code == 200 and shown.json()["status"] in DONE:
                return shown.json()  # type: ignore[no-any-return]
            await asyncio.sleep(0.1)
        raise AssertionError(f"{ref} did not finish")


@contextlib.asynccontextmanager
async def serve(client: Any, tmp_path: Path, endpoint: str, *more: dict[str, Any]) -> AsyncIterator[Gate]:
    from api.deps import get_principal
    from api.main import create_app
    from core.settings import Settings
    from core.settings.auth import AuthSettings
    from core.store import Store
    from tests.conftest import build_worker_with

    account = {
        "name": "test",
        "type": "aws",
        "regions": [REGION],
        "accessKeyId": FAKE_KEY_ID,
        "secretAccessKey": FAKE_SECRET,
        "endpointUrl": endpoint,
        "environment": "staging",
        "permissions": {"READ": ["readers", "writers"], "WRITE": ["writers"]},
    }
    settings = Settings(
        state_dir=tmp_path,
        task_queue=f"infra-{uuid.uuid4()}",
        accounts=[account, *more],
        auth=AuthSettings(enabled=True, admin_roles=["admins"]),
    )
    store = Store(settings.store_url)
    store.migrate()
    store.applications.save({"name": "myapp", "email": "a@b.c"}, "setup")
    async with build_worker_with(client, settings, store):
        app = create_app(settings, temporal=client, store=store)
        app.dependency_overrides[get_principal] = principal_from_header
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
            yield Gate(http, settings, store)
    store.close()


async def test_reads_in_clouddrivers_shapes(client: Any, tmp_path: Path, aws_world: AwsWorld) -> None:
    aws_world.ec2.create_key_pair(KeyName="deploy")
    async with serve(client, tmp_path, aws_world.endpoint) as gate:
        before = await gate.call("reader", "GET", "/subnets/aws")
        assert before.json() == [] and before.headers["X-Gennaker-Cache-Refreshed-At"] == "never"
        await client.execute_workflow(
            "RefreshCloudCache",
            RefreshCloudCacheInput("aws", "test"),
            id=f"refresh-{uuid.uuid4()}",
            task_queue=gate.settings.task_queue,
        )
        account = (await gate.call("reader", "GET", "/credentials/test")).json()
        assert account["type"] == "aws" and account["regions"] == [{"name": REGION}]
        assert account["environment"] == "staging" and account["authorized"] is False
        assert account["permissions"] == {"READ": ["readers", "writers"], "WRITE": ["writers"]}
        assert "secretAccessKey" not in account and FAKE_SECRET not in str(account)
        assert (await gate.call("writer", "GET", "/credentials/test")).json()["authorized"] is True
        assert (await gate.call("anonymous", "GET", "/credentials/test")).status_code == 403
        assert (await gate.call("admin", "GET", "/credentials/nope")).status_code == 404
        expanded = (await gate.call("writer", "GET", "/credentials", params={"expand": "true"})).json()
        assert expanded[0]["regions"] == [{"name": REGION}] and expanded[0]["authorized"] is True

        networks = await gate.call("reader", "GET", "/networks")
        assert float(networks.headers["X-Gennaker-Cache-Age-Seconds"]) < 60
        vpc = next(n for n in networks.json()["aws"] if n["id"] == aws_world.vpc_id)
        assert {k: vpc[k] for k in ("account", "region", "deprecated")} == {
            "account": "test",
            "region": REGION,
            "deprecated": False,
        }
        assert aws_world.vpc_id in {n["id"] for n in (await gate.call("reader", "GET", "/networks/aws")).json()}
        subnets = {s["id"]: s for s in (await gate.call("reader", "GET", "/subnets/aws")).json()}
        subnet = subnets[aws_world.subnet_ids[1]]
        assert {k: subnet[k] for k in ("account", "region", "availabilityZone", "vpcId", "purpose", "target")} == {
            "account": "test",
            "region": REGION,
            "availabilityZone": "us-east-1b",
            "vpcId": aws_world.vpc_id,
            "purpose": "internal",
            "target": "ec2",
        }
        assert (await gate.call("anonymous", "GET", "/subnets/aws")).json() == []  # Fiat filters the account out
        assert "t3.micro" in {t["name"] for t in (await gate.call("reader", "GET", "/instanceTypes")).json()}
        assert [k["keyName"] for k in (await gate.call("reader", "GET", "/keyPairs")).json()] == ["deploy"]
        everything = (await gate.call("reader", "GET", "/securityGroups")).json()
        assert {"name": "myapp", "id": aws_world.security_group_id, "vpcId": aws_world.vpc_id} in everything["test"][
            "aws"
        ][REGION]
        assert REGION in (await gate.call("reader", "GET", "/securityGroups/test")).json()["aws"]
        one = await gate.call(
            "reader", "GET", "/securityGroups/test/aws/myapp", params={"region": REGION, "vpcId": aws_world.vpc_id}
        )
        assert one.json()["id"] == aws_world.security_group_id and one.json()["accountName"] == "test"
        mine = (await gate.call("reader", "GET", "/applications/myapp/securityGroups")).json()
        assert [g["name"] for g in mine] == ["myapp"]
        assert (await gate.call("reader", "GET", "/applications/myapp/firewalls")).json() == mine  # Gate's newer name


async def test_operations_through_tasks_and_pipelines(client: Any, tmp_path: Path, aws_world: AwsWorld) -> None:
    async with serve(client, tmp_path, aws_world.endpoint) as gate:
        job = {
            "type": "upsertSecurityGroup",
            "cloudProvider": "aws",
            "credentials": "test",
            "regions": [REGION],
            "name": "myapp-elb",
            "description": "front door",
            "vpcId": aws_world.vpc_id,
            "ipIngress": [{"cidr": "10.1.0.0/16", "ipProtocol": "tcp", "startPort": 443, "endPort": 443}],
            "securityGroupIngress": [{"name": "myapp", "type": "tcp", "startPort": 7001, "endPort": 7001}],
        }
        denied = await gate.call("reader", "POST", "/tasks", json={"application": "myapp", "job": [job]})
        assert denied.status_code == 403 and "test" in denied.text
        done = await gate.task("writer", job)
        assert done["status"] == "SUCCEEDED", done
        path = "/securityGroups/test/aws/myapp-elb"
        shown = (await gate.call("reader", "GET", path, params={"region": REGION})).json()  # the cache, refreshed
        assert {(r["protocol"], r["portRanges"][0]["startPort"]) for r in shown["inboundRules"]} == {
            ("tcp", 443),
            ("tcp", 7001),
        }
        again = await gate.task("writer", {**job, "ipIngress": [], "securityGroupIngress": []})
        assert again["status"] == "SUCCEEDED", again
        assert (await gate.call("reader", "GET", path, params={"region": REGION})).json()["inboundRules"] == []
        named = aws_world.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["myapp-elb"]}])
        assert len(named["SecurityGroups"]) == 1
        gone = await gate.task(
            "writer",
            {
                "type": "deleteSecurityGroup",
                "credentials": "test",
                "regions": [REGION],
                "securityGroupName": "myapp-elb",
                "vpcId": aws_world.vpc_id,
            },
        )
        assert gone["status"] == "SUCCEEDED", gone
        assert (await gate.call("reader", "GET", path, params={"region": REGION})).status_code == 404

        balancer = {
            "credentials": "test",
            "cloudProvider": "aws",
            "regions": [REGION],
            "name": "myapp-api",
            "loadBalancerType": "application",
            "subnetType": "internal",
            "targetGroups": [{"name": "myapp-api-web", "protocol": "HTTP", "port": 7001}],
            "listeners": [{"protocol": "HTTP", "port": 80, "defaultActions": [{"targetGroupName": "myapp-api-web"}]}],
        }
        stages = [
            {"refId": "1", "type": "upsertLoadBalancer", **balancer},
            {
                "refId": "2",
                "requisiteStageRefIds": ["1"],
                "type": "upsertImageTags",
                "credentials": "test",
                "regions": [REGION],
                "amiName": aws_world.image_name,
                "tags": {"stage": "released"},
            },
        ]
        saved = await gate.call(
            "writer", "POST", "/pipelines", json={"application": "myapp", "name": "infra", "stages": stages}
        )
        assert saved.status_code == 200, saved.text
        started = await gate.call("writer", "POST", "/pipelines/myapp/infra", json={})
        run = await gate.finished("/pipelines/" + started.json()["ref"].split("/")[-1])
        assert run["status"] == "SUCCEEDED", run
        lbs = (await gate.call("reader", "GET", "/applications/myapp/loadBalancers")).json()
        api_lb = next(lb for lb in lbs if lb["name"] == "myapp-api")
        assert api_lb["listeners"][0]["port"] == 80 and api_lb["targetGroups"][0]["name"] == "myapp-api-web"
        tags = aws_world.ec2.describe_images(ImageIds=[aws_world.image_id])["Images"][0]["Tags"]
        assert {"Key": "stage", "Value": "released"} in tags
        found = (await gate.call("reader", "GET", "/images/find", params={"q": aws_world.image_name})).json()
        assert found[0]["tags"]["stage"] == "released"  # the image cache was refreshed by the stage

        deleted = await gate.task(
            "writer",
            {
                "type": "deleteLoadBalancer",
                "credentials": "test",
                "regions": [REGION],
                "loadBalancerName": "myapp-api",
                "loadBalancerType": "application",
            },
        )
        assert deleted["status"] == "SUCCEEDED", deleted
        lbs = (await gate.call("reader", "GET", "/applications/myapp/loadBalancers")).json()
        assert "myapp-api" not in {lb["name"] for lb in lbs}


async def test_scaling_stages_built_with_the_sdk(client: Any, tmp_path: Path, aws_world: AwsWorld) -> None:
    from gennaker.pipelines import (
        DeleteAsgScheduledActions,
        DeleteScalingPolicy,
        Pipeline,
        UpsertAsgScheduledActions,
        UpsertScalingPolicy,
    )

    world = aws_world
    world.templated_group("myapp-v000", max_size=2)
    cpu = {"targetValue": 50, "predefinedMetricSpecification": {"predefinedMetricType": "ASGAverageCPUUtilization"}}
    asgs = [{"asgName": "myapp-v000", "region": REGION}]
    policy = UpsertScalingPolicy(
        "myapp-v000", account="test", region=REGION, policy_name="cpu", target_tracking=cpu, after=[]
    )
    schedule = UpsertAsgScheduledActions(
        asgs,
        account="test",
        scheduled_actions=[{"recurrence": "0 8 * * *", "minSize": 1, "maxSize": 2, "desiredCapacity": 1}],
        after=[policy],
    )
    create = Pipeline("scale", application="myapp", stages=[policy, schedule]).to_json()
    changed_policy = UpsertScalingPolicy(
        "myapp-v000", account="test", region=REGION, policy_name="cpu", target_tracking={**cpu, "targetValue": 70}
    )
    drop = [
        DeleteScalingPolicy("myapp-v000", account="test", region=REGION, policy_name="cpu", after=[]),
        DeleteAsgScheduledActions(asgs, account="test", after=[]),
    ]
    async with serve(client, tmp_path, world.endpoint) as gate:

        async def run(config: dict[str, Any]) -> dict[str, Any]:
            saved = await gate.call("writer", "POST", "/pipelines", json=config)
            assert saved.status_code == 200, saved.text
            started = await gate.call("writer", "POST", f"/pipelines/myapp/{config['name']}", json={})
            return await gate.finished("/pipelines/" + started.json()["ref"].split("/")[-1])

        assert (await run(create))["status"] == "SUCCEEDED"
        [made] = world.autoscaling.describe_policies(AutoScalingGroupName="myapp-v000")["ScalingPolicies"]
        assert made["TargetTrackingConfiguration"]["TargetValue"] == 50
        found = world.autoscaling.describe_scheduled_actions(AutoScalingGroupName="myapp-v000")
        assert [a["Recurrence"] for a in found["ScheduledUpdateGroupActions"]] == ["0 8 * * *"]
        # the group in the cache was refreshed by the stage
        assert [g["name"] for g in (await gate.call("reader", "GET", "/applications/myapp/serverGroups")).json()] == [
            "myapp-v000"
        ]

        update = Pipeline("rescale", application="myapp", stages=[changed_policy]).to_json()
        assert (await run(update))["status"] == "SUCCEEDED"
        [changed] = world.autoscaling.describe_policies(AutoScalingGroupName="myapp-v000")["ScalingPolicies"]
        assert changed["PolicyName"] == "cpu" and changed["TargetTrackingConfiguration"]["TargetValue"] == 70

        assert (await run(Pipeline("unscale", application="myapp", stages=drop).to_json()))["status"] == "SUCCEEDED"
        assert world.autoscaling.describe_policies(AutoScalingGroupName="myapp-v000")["ScalingPolicies"] == []
        assert (
            world.autoscaling.describe_scheduled_actions(AutoScalingGroupName="myapp-v000")[
                "ScheduledUpdateGroupActions"
            ]
            == []
        )
        denied = await gate.call("reader", "POST", "/tasks", json={"application": "myapp", "job": [drop[0]._render()]})
        assert denied.status_code == 403


async def test_gce_firewall_through_tasks(client: Any, tmp_path: Path, aws_world: AwsWorld, gce_world: Any) -> None:
    from tests.providers.gce_fixtures import GCE_PROJECT, GCE_REGION

    gce = {
        "name": "gce-test",
        "type": "gce",
        "project": GCE_PROJECT,
        "regions": [GCE_REGION],
        "anonymous": True,
        "endpoint": gce_world.standin.url,
        "permissions": {"READ": ["readers", "writers"], "WRITE": ["writers"]},
    }
    job = {
        "type": "upsertSecurityGroup",
        "cloudProvider": "gce",
        "credentials": "gce-test",
        "securityGroupName": "myapp-web",
        "network": "default",
        "sourceRanges": ["10.0.0.0/8"],
        "targetTags": ["myapp-web"],
        "allowed": [{"ipProtocol": "tcp", "portRanges": ["80"]}],
    }
    path = "/securityGroups/gce-test/gce/myapp-web"
    async with serve(client, tmp_path, aws_world.endpoint, gce) as gate:
        assert (
            await gate.call("reader", "POST", "/tasks", json={"application": "myapp", "job": [job]})
        ).status_code == 403
        assert (await gate.task("writer", job))["status"] == "SUCCEEDED"
        shown = (await gate.call("reader", "GET", path)).json()
        assert shown["inboundRules"][0]["range"] == {"ip": "10.0.0.0", "cidr": "/8"} and shown["region"] == "global"
        changed = {**job, "sourceRanges": ["192.168.0.0/16"], "allowed": [{"ipProtocol": "udp", "portRanges": ["53"]}]}
        assert (await gate.task("writer", changed))["status"] == "SUCCEEDED"
        rule = (await gate.call("reader", "GET", path)).json()["inboundRules"][0]
        assert (rule["protocol"], rule["range"]["ip"], rule["portRanges"]) == (
            "udp",
            "192.168.0.0",
            [{"startPort": 53, "endPort": 53}],
        )
        deleted = {
            "type": "deleteSecurityGroup",
            "cloudProvider": "gce",
            "credentials": "gce-test",
            "securityGroupName": "myapp-web",
        }
        assert (await gate.task("writer", deleted))["status"] == "SUCCEEDED"
        assert (await gate.call("reader", "GET", path)).status_code == 404
        assert gce_world.standin.names(GCE_PROJECT, "firewalls") == []

        nlb = {"cloudProvider": "gce", "credentials": "gce-test", "region": GCE_REGION, "loadBalancerName": "myapp-nlb"}
        made = await gate.task("writer", {"type": "upsertLoadBalancer", **nlb, "ipProtocol": "TCP", "portRange": "80"})
        assert made["status"] == "SUCCEEDED", made
        assert gce_world.standin.resource(GCE_PROJECT, "forwardingRules", "myapp-nlb", GCE_REGION) is not None
        assert (await gate.task("writer", {"type": "deleteLoadBalancer", **nlb}))["status"] == "SUCCEEDED"
        assert "myapp-nlb" not in gce_world.standin.names(GCE_PROJECT, "forwardingRules", GCE_REGION)


def test_security_group_task_over_a_served_gate(
    temporal_env: Any, tmp_path: Path, payload_settings: dict[str, Any], aws_world: AwsWorld
) -> None:
    """The same job through uvicorn on loopback (the stack the ``gate`` fixture serves, with an AWS account)."""
    import time

    from core.settings import Settings
    from core.store import Store
    from gennaker.localstack import ServedApi

    account = {
        "name": "test",
        "type": "aws",
        "regions": [REGION],
        "accessKeyId": FAKE_KEY_ID,
        "secretAccessKey": FAKE_SECRET,
        "endpointUrl": aws_world.endpoint,
    }
    settings = Settings(
        state_dir=tmp_path,
        task_queue=f"gate-{uuid.uuid4()}",
        temporal={"address": temporal_env.client.service_client.config.target_host},
        payloads=payload_settings,
        accounts=[account],
    )
    store = Store(settings.store_url)
    store.migrate()
    job = {
        "type": "upsertSecurityGroup",
        "credentials": "test",
        "regions": [REGION],
        "name": "myapp-db",
        "vpcId": aws_world.vpc_id,
        "securityGroupIngress": [{"name": "myapp", "type": "tcp", "startPort": 5432, "endPort": 5432}],
    }
    try:
        with ServedApi(settings, store) as served, httpx.Client(base_url=served.url, timeout=30) as http:
            ref = http.post("/tasks", json={"application": "myapp", "job": [job]}).json()["ref"]
            deadline = time.monotonic() + 60
            while (status := http.get(ref).json()["status"]) not in DONE and time.monotonic() < deadline:
                time.sleep(0.1)
            assert status == "SUCCEEDED"
            shown = http.get("/securityGroups/test/aws/myapp-db", params={"region": REGION})
            assert shown.status_code == 200 and "X-Gennaker-Cache-Refreshed-At" in shown.headers
            [rule] = shown.json()["inboundRules"]
            assert rule["securityGroup"]["name"] == "myapp" and rule["portRanges"] == [
                {"startPort": 5432, "endPort": 5432}
            ]
            unknown = http.post("/tasks", json={"application": "myapp", "job": [{"type": "upsertNothing"}]})
            assert unknown.status_code == 400
    finally:
        store.close()


async def test_a_pipeline_stage_on_an_account_its_runner_may_not_write(
    client: Any, tmp_path: Path, aws_world: AwsWorld
) -> None:
    """Fiat inside the engine: the stage declares its account (``mutates_account``), so a run started by a
    user without WRITE on it ends TERMINAL before the cloud is touched."""
    stage = {
        "refId": "1",
        "type": "upsertSecurityGroup",
        "credentials": "test",
        "regions": [REGION],
        "name": "myapp-sneaky",
        "vpcId": aws_world.vpc_id,
    }
    async with serve(client, tmp_path, aws_world.endpoint) as gate:
        saved = await gate.call(
            "writer", "POST", "/pipelines", json={"application": "myapp", "name": "sneaky", "stages": [stage]}
        )
        assert saved.status_code == 200, saved.text
        started = await gate.call("executor", "POST", "/pipelines/myapp/sneaky", json={})
        assert started.status_code in (200, 202), started.text
        run = await gate.finished("/pipelines/" + started.json()["ref"].split("/")[-1])
        assert run["status"] == "TERMINAL"
        assert "Access denied to account test" in str(run["stages"][0]["context"])
        named = aws_world.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["myapp-sneaky"]}])
        assert named["SecurityGroups"] == []

"""AWS fixtures: moto's real HTTP server (one per test session, in a thread), reset before each test,
and a small world built in it through boto3: a VPC whose subnets carry Clouddriver's
``immutable_metadata`` purposes, a security group, two AMIs, an ALB with a target group and a classic ELB.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from providers.aws import AwsAccount, AwsCloud

REGION = "us-east-1"
ZONES = ["us-east-1a", "us-east-1b"]
FAKE_KEY_ID = "AKIAGENNAKERTESTKEY1"
FAKE_SECRET = "gennaker/moto+secret-never-shown"
SERVICES = ("ec2", "autoscaling", "elbv2", "elb", "sts")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto server that lives for the whole test session."""
    port = _free_port()
    access_log = logging.getLogger("werkzeug")  # one line per request otherwise, in every failure report
    level = access_log.level
    access_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        access_log.setLevel(level)


@dataclass
class AwsWorld:
    """What a test's AWS holds, and boto3 clients to look at it with."""

    endpoint: str
    vpc_id: str
    subnet_ids: list[str]  # purpose "internal", target ec2, one per zone
    elb_subnet_id: str  # purpose "internal", target elb: never used for instances
    security_group_id: str
    security_group_name: str
    image_id: str
    image_name: str
    old_image_id: str
    target_group_name: str
    target_group_arn: str
    load_balancer_arn: str
    classic_lb: str
    clients: dict[str, Any]

    @property
    def ec2(self) -> Any:
        return self.clients["ec2"]

    def templated_group(
        self, name: str, *, max_size: int = 1, template: dict[str, Any] | None = None, **extra: Any
    ) -> str:
        """An Auto Scaling group of that name on a launch template of that name (``template``: its data, the current
        image by default), in the first subnet, no instances wanted."""
        data = template or {"ImageId": self.image_id}
        self.ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data)
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": name},
            MinSize=0,
            MaxSize=max_size,
            VPCZoneIdentifier=self.subnet_ids[0],
            **extra,
        )
        return name

    @property
    def autoscaling(self) -> Any:
        return self.clients["autoscaling"]

    @property
    def elbv2(self) -> Any:
        return self.clients["elbv2"]

    def target_ids(self) -> set[str]:
        described = self.clients["elbv2"].describe_target_health(TargetGroupArn=self.target_group_arn)
        return {d["Target"]["Id"] for d in described["TargetHealthDescriptions"]}

    def classic_ids(self) -> set[str]:
        described = self.clients["elb"].describe_instance_health(LoadBalancerName=self.classic_lb)
        return {s["InstanceId"] for s in described["InstanceStates"]}

    def suspended(self, name: str) -> set[str]:
        group = self.clients["autoscaling"].describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        return {p["ProcessName"] for p in group["AutoScalingGroups"][0]["SuspendedProcesses"]}


def _purpose(purpose: str, target: str | None = None) -> list[dict[str, str]]:
    meta = {"purpose": purpose, **({"target": target} if target else {})}
    return [{"Key": "immutable_metadata", "Value": json.dumps(meta)}]


def _build_world(endpoint: str, clients: dict[str, Any]) -> AwsWorld:
    ec2, elbv2, elb = clients["ec2"], clients["elbv2"], clients["elb"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    def subnet(cidr: str, zone: str, tags: list[dict[str, str]]) -> str:
        made = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        if tags:
            ec2.create_tags(Resources=[made], Tags=tags)
        return str(made)

    internal = [subnet(f"10.0.{n}.0/24", zone, _purpose("internal", "ec2")) for n, zone in enumerate(ZONES)]
    elb_only = subnet("10.0.10.0/24", ZONES[0], _purpose("internal", "elb"))
    subnet("10.0.20.0/24", ZONES[1], _purpose("external"))
    subnet("10.0.30.0/24", ZONES[0], [])
    group = ec2.create_security_group(GroupName="myapp", Description="myapp", VpcId=vpc)["GroupId"]
    old = ec2.register_image(Name="myapp-0.9.0-h1", RootDeviceName="/dev/sda1")["ImageId"]
    image = ec2.register_image(Name="myapp-1.0.0-h2", RootDeviceName="/dev/sda1")["ImageId"]
    ec2.create_tags(Resources=[image], Tags=[{"Key": "appversion", "Value": "1.0.0"}])
    balancer = elbv2.create_load_balancer(Name="myapp-frontend", Subnets=internal, SecurityGroups=[group])
    arn = balancer["LoadBalancers"][0]["LoadBalancerArn"]
    target_group = elbv2.create_target_group(Name="myapp-web", Protocol="HTTP", Port=8080, VpcId=vpc)
    tg_arn = target_group["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=arn, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}]
    )
    listeners = [{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080}]
    elb.create_load_balancer(LoadBalancerName="myapp-classic", Listeners=listeners, Subnets=internal)
    return AwsWorld(
        endpoint=endpoint,
        vpc_id=vpc,
        subnet_ids=internal,
        elb_subnet_id=elb_only,
        security_group_id=group,
        security_group_name="myapp",
        image_id=image,
        image_name="myapp-1.0.0-h2",
        old_image_id=old,
        target_group_name="myapp-web",
        target_group_arn=tg_arn,
        load_balancer_arn=arn,
        classic_lb="myapp-classic",
        clients=clients,
    )


@pytest.fixture(scope="session")
def moto_clients(moto_endpoint: str) -> Iterator[dict[str, Any]]:
    """boto3 clients on the moto server, to build worlds and to look at what the cloud did."""
    credentials = {"aws_access_key_id": FAKE_KEY_ID, "aws_secret_access_key": FAKE_SECRET}
    clients = {s: boto3.client(s, endpoint_url=moto_endpoint, region_name=REGION, **credentials) for s in SERVICES}
    try:
        yield clients
    finally:
        for client in clients.values():
            client.close()


@pytest.fixture
def aws_world(moto_endpoint: str, moto_clients: dict[str, Any]) -> AwsWorld:
    """A fresh moto state with the world above (moto's ``/moto-api/reset`` empties every service)."""
    httpx.post(f"{moto_endpoint}/moto-api/reset").raise_for_status()
    return _build_world(moto_endpoint, moto_clients)


@pytest.fixture
def aws_account(moto_endpoint: str) -> AwsAccount:
    return AwsAccount(
        name="test",
        regions=[REGION, "us-west-2"],
        access_key_id=FAKE_KEY_ID,
        secret_access_key=FAKE_SECRET,
        endpoint_url=moto_endpoint,
    )


@pytest.fixture
def aws_cloud(aws_world: AwsWorld, aws_account: AwsAccount) -> Iterator[AwsCloud]:
    cloud = AwsCloud([aws_account])
    try:
        yield cloud
    finally:
        cloud.close()

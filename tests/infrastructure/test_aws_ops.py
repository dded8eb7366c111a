"""The AWS infrastructure reads and writes against moto's server: Clouddriver's field names, creates that
find what a retry already made, updates that converge, deletes of what is gone."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from providers.aws_infra import AwsInfraReads
from providers.aws_infra_ops import AwsInfraWrites
from providers.aws_lb_ops import AwsLoadBalancerWrites
from providers.base import InvalidRequestError
from tests.providers.aws_fixtures import FAKE_KEY_ID, FAKE_SECRET, REGION, AwsWorld


def test_reads_in_clouddrivers_shapes(aws_cloud: Any, aws_world: AwsWorld) -> None:
    reads = AwsInfraReads(aws_cloud)
    aws_world.ec2.create_key_pair(KeyName="deploy")
    vpcs = {n["id"]: n for n in reads.networks("test", REGION)}
    assert set(vpcs[aws_world.vpc_id]) >= {"id", "name", "account", "region", "deprecated", "cloudProvider"}
    assert vpcs[aws_world.vpc_id]["account"] == "test" and vpcs[aws_world.vpc_id]["deprecated"] is False
    subnets = {s["id"]: s for s in reads.subnets("test", REGION)}
    first = subnets[aws_world.subnet_ids[0]]
    assert (first["purpose"], first["target"], first["vpcId"]) == ("internal", "ec2", aws_world.vpc_id)
    assert first["availabilityZone"] == "us-east-1a" and first["account"] == "test" and first["region"] == REGION
    assert subnets[aws_world.elb_subnet_id]["target"] == "elb"
    assert [k["keyName"] for k in reads.key_pairs("test", REGION)] == ["deploy"]
    assert "t3.micro" in {t["name"] for t in reads.instance_types("test", REGION)}
    group = next(g for g in reads.security_groups("test", REGION) if g["id"] == aws_world.security_group_id)
    assert (group["name"], group["application"], group["accountName"]) == ("myapp", "myapp", "test")


def test_security_group_create_update_retry_delete(aws_cloud: Any, aws_world: AwsWorld) -> None:
    writes = AwsInfraWrites(aws_cloud)
    spec = {
        "name": "myapp-elb",
        "description": "front door",
        "vpcId": aws_world.vpc_id,
        "ipIngress": [{"cidr": "10.1.0.0/16", "ipProtocol": "tcp", "startPort": 443, "endPort": 443}],
        "securityGroupIngress": [{"name": "myapp", "type": "tcp", "startPort": 7001, "endPort": 7002}],
    }
    made = writes.upsert_security_group("test", REGION, spec)
    again = writes.upsert_security_group("test", REGION, spec)  # a retried create
    assert made["id"] == again["id"]
    named = aws_world.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["myapp-elb"]}])
    assert len(named["SecurityGroups"]) == 1
    rules = {(r["protocol"], r["portRanges"][0]["startPort"]): r for r in made["inboundRules"]}
    assert rules[("tcp", 443)]["range"] == {"ip": "10.1.0.0", "cidr": "/16"}
    assert rules[("tcp", 7001)]["securityGroup"]["name"] == "myapp"
    assert rules[("tcp", 7001)]["securityGroup"]["id"] == aws_world.security_group_id

    changed = {**spec, "ipIngress": [{"cidr": "10.2.0.0/16", "ipProtocol": "tcp", "startPort": 80}]}
    changed["securityGroupIngress"] = []
    updated = writes.upsert_security_group("test", REGION, changed)
    assert [(r["range"]["ip"], r["portRanges"]) for r in updated["inboundRules"]] == [
        ("10.2.0.0", [{"startPort": 80, "endPort": 80}])
    ]
    writes.delete_security_group("test", REGION, "myapp-elb", aws_world.vpc_id)
    writes.delete_security_group("test", REGION, "myapp-elb", aws_world.vpc_id)  # gone already: fine
    assert writes.security_group("test", REGION, "myapp-elb", aws_world.vpc_id) is None


def test_bad_ingress_names_the_field(aws_cloud: Any, aws_world: AwsWorld) -> None:
    writes = AwsInfraWrites(aws_cloud)
    with pytest.raises(InvalidRequestError, match=r"ipIngress\[0\]\.cidr"):
        writes.upsert_security_group("test", REGION, {"name": "x", "vpcId": aws_world.vpc_id, "ipIngress": [{}]})
    with pytest.raises(InvalidRequestError, match=r"securityGroupIngress\[0\]\.ipProtocol"):
        writes.upsert_security_group(
            "test", REGION, {"name": "x", "securityGroupIngress": [{"name": "myapp", "ipProtocol": "gre"}]}
        )


def _group(world: AwsWorld, name: str = "myapp-prod-v000", **extra: Any) -> str:
    return world.templated_group(name, max_size=2, DesiredCapacity=0, **extra)


def test_scaling_policies_and_scheduled_actions(aws_cloud: Any, aws_world: AwsWorld) -> None:
    group = _group(aws_world)
    writes = AwsInfraWrites(aws_cloud)
    tracking = {
        "targetTrackingConfiguration": {
            "targetValue": 50,
            "predefinedMetricSpecification": {"predefinedMetricType": "ASGAverageCPUUtilization"},
        }
    }
    writes.upsert_scaling_policy("test", REGION, group, "cpu", tracking)
    writes.upsert_scaling_policy("test", REGION, group, "cpu", tracking)  # a retry: still one
    step = {
        "step": {"stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]},
        "alarm": {"threshold": 80, "comparisonOperator": "GreaterThanOrEqualToThreshold"},
    }
    made = writes.upsert_scaling_policy("test", REGION, group, "steps", step)
    writes.upsert_scaling_policy("test", REGION, group, "steps", step)
    cloudwatch = boto3.client(
        "cloudwatch",
        endpoint_url=aws_world.endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_KEY_ID,
        aws_secret_access_key=FAKE_SECRET,
    )
    [alarm] = cloudwatch.describe_alarms()["MetricAlarms"]
    assert alarm["AlarmName"] == made["alarmName"] == "steps-alarm" and alarm["AlarmActions"] == [made["policyARN"]]
    assert alarm["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": group}] and alarm["Threshold"] == 80
    policies = {p["PolicyName"]: p for p in writes.scaling_policies("test", REGION, group)}
    assert set(policies) == {"cpu", "steps"}
    assert policies["cpu"]["TargetTrackingConfiguration"]["TargetValue"] == 50
    writes.upsert_scaling_policy(
        "test",
        REGION,
        group,
        "cpu",
        {"targetTrackingConfiguration": {**tracking["targetTrackingConfiguration"], "targetValue": 70}},
    )
    policies = {p["PolicyName"]: p for p in writes.scaling_policies("test", REGION, group)}
    assert policies["cpu"]["TargetTrackingConfiguration"]["TargetValue"] == 70
    writes.delete_scaling_policy("test", REGION, group, "steps")
    writes.delete_scaling_policy("test", REGION, group, "steps")
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert [p["PolicyName"] for p in writes.scaling_policies("test", REGION, group)] == ["cpu"]

    actions = [
        {"recurrence": "0 8 * * *", "minSize": 1, "maxSize": 2, "desiredCapacity": 1},
        {"recurrence": "0 20 * * *", "minSize": 0, "maxSize": 2, "desiredCapacity": 0},
    ]
    assert writes.upsert_scheduled_actions("test", REGION, group, actions) == [
        f"{group}-schedule-0",
        f"{group}-schedule-1",
    ]
    writes.upsert_scheduled_actions("test", REGION, group, actions[:1])  # converges: the second goes
    found = writes.scheduled_actions("test", REGION, group)
    assert [(a["ScheduledActionName"], a["Recurrence"]) for a in found] == [(f"{group}-schedule-0", "0 8 * * *")]
    assert writes.delete_scheduled_actions("test", REGION, group, None) == [f"{group}-schedule-0"]
    assert writes.scheduled_actions("test", REGION, group) == []


def test_image_tags(aws_cloud: Any, aws_world: AwsWorld) -> None:
    image_id = AwsInfraWrites(aws_cloud).upsert_image_tags("test", REGION, "myapp-1.0.0-h2", {"stage": "candidate"})
    assert image_id == aws_world.image_id
    tags = aws_world.ec2.describe_images(ImageIds=[image_id])["Images"][0]["Tags"]
    assert {"Key": "stage", "Value": "candidate"} in tags


def test_application_load_balancer_converges(aws_cloud: Any, aws_world: AwsWorld) -> None:
    writes = AwsLoadBalancerWrites(aws_cloud)
    spec = {
        "name": "myapp-api",
        "loadBalancerType": "application",
        "subnetType": "internal",
        "securityGroups": ["myapp"],
        "targetGroups": [{"name": "myapp-api-web", "protocol": "HTTP", "port": 7001, "healthCheckPath": "/up"}],
        "listeners": [{"protocol": "HTTP", "port": 80, "defaultActions": [{"targetGroupName": "myapp-api-web"}]}],
    }
    writes.upsert("test", REGION, spec)
    writes.upsert("test", REGION, spec)  # a retry
    elbv2 = aws_world.elbv2
    [balancer] = elbv2.describe_load_balancers(Names=["myapp-api"])["LoadBalancers"]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert [listener["Port"] for listener in listeners] == [80]
    assert elbv2.describe_target_groups(Names=["myapp-api-web"])["TargetGroups"][0]["HealthCheckPath"] == "/up"

    changed = {
        **spec,
        "targetGroups": [{"name": "myapp-api-v2", "protocol": "HTTP", "port": 8080, "healthCheckPath": "/ok"}],
        "listeners": [{"protocol": "HTTP", "port": 8080, "defaultActions": [{"targetGroupName": "myapp-api-v2"}]}],
    }
    writes.upsert("test", REGION, changed)
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert [listener["Port"] for listener in listeners] == [8080]
    names = {g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]}
    assert "myapp-api-v2" in names and "myapp-api-web" not in names
    shown = next(b for b in aws_cloud.load_balancers("test", REGION) if b["name"] == "myapp-api")
    assert shown["listeners"][0]["defaultActions"][0]["targetGroupName"] == "myapp-api-v2"

    writes.delete("test", REGION, "myapp-api", "application")
    writes.delete("test", REGION, "myapp-api", "application")
    assert "myapp-api" not in {b["LoadBalancerName"] for b in elbv2.describe_load_balancers()["LoadBalancers"]}
    assert "myapp-api-v2" not in {g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]}


def test_classic_load_balancer_converges(aws_cloud: Any, aws_world: AwsWorld) -> None:
    writes = AwsLoadBalancerWrites(aws_cloud)
    elb = aws_world.clients["elb"]
    spec = {
        "name": "myapp-old",
        "subnetType": "internal",
        "listeners": [{"externalProtocol": "HTTP", "externalPort": 80, "internalPort": 7001}],
        "healthCheck": "HTTP:7001/health",
    }
    writes.upsert("test", REGION, spec)
    writes.upsert("test", REGION, spec)
    [lb] = elb.describe_load_balancers(LoadBalancerNames=["myapp-old"])["LoadBalancerDescriptions"]
    assert lb["HealthCheck"]["Target"] == "HTTP:7001/health"
    _group(aws_world, "myapp-old-v001", LoadBalancerNames=["myapp-old"])
    shown = next(b for b in aws_cloud.load_balancers("test", REGION) if b["name"] == "myapp-old")
    assert [g["name"] for g in shown["serverGroups"]] == ["myapp-old-v001"]
    assert shown["loadBalancerType"] == "classic" and shown["healthCheck"]["target"] == "HTTP:7001/health"
    assert shown["listeners"] == [
        {"externalProtocol": "HTTP", "externalPort": 80, "internalProtocol": "HTTP", "internalPort": 7001}
    ]
    writes.upsert("test", REGION, {**spec, "listeners": [{"externalProtocol": "TCP", "externalPort": 9000}]})
    [lb] = elb.describe_load_balancers(LoadBalancerNames=["myapp-old"])["LoadBalancerDescriptions"]
    assert [d["Listener"]["LoadBalancerPort"] for d in lb["ListenerDescriptions"]] == [9000]
    writes.delete("test", REGION, "myapp-old", "classic")
    writes.delete("test", REGION, "myapp-old", "classic")
    assert "myapp-old" not in {d["LoadBalancerName"] for d in elb.describe_load_balancers()["LoadBalancerDescriptions"]}

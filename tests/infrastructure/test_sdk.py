"""The SDK's infrastructure builders write Orca's context fields and refuse mistakes naming the field."""

from __future__ import annotations

import pytest

from gennaker.pipelines import (
    DeleteLoadBalancer,
    DeleteSecurityGroup,
    PipelineBuildError,
    UpdateLaunchTemplate,
    UpsertImageTags,
    UpsertLoadBalancer,
    UpsertScalingPolicy,
    UpsertSecurityGroup,
)


def test_builders_write_orcas_fields() -> None:
    sg = UpsertSecurityGroup(
        "myapp-elb", account="prod", regions=["us-east-1"], vpc_id="vpc-1", ip_ingress=[{"cidr": "10.0.0.0/8"}]
    )._render()
    assert (sg["type"], sg["name"], sg["credentials"], sg["regions"], sg["vpcId"]) == (
        "upsertSecurityGroup",
        "myapp-elb",
        "prod",
        ["us-east-1"],
        "vpc-1",
    )
    firewall = UpsertSecurityGroup("myapp-web", account="gce", cloud_provider="gce", source_tags=["lb"])._render()
    assert firewall["securityGroupName"] == "myapp-web" and firewall["sourceTags"] == ["lb"]
    assert "regions" not in firewall and firewall["network"] == "default"
    assert DeleteSecurityGroup("x", account="prod", regions=["us-east-1"])._render()["securityGroupName"] == "x"
    lb = UpsertLoadBalancer(
        "myapp-api",
        account="prod",
        regions=["us-east-1"],
        load_balancer_type="application",
        listeners=[{"port": 80, "defaultActions": [{"targetGroupName": "web"}]}],
        target_groups=[{"name": "web", "port": 7001}],
    )._render()
    assert lb["loadBalancerType"] == "application" and lb["targetGroups"] == [{"name": "web", "port": 7001}]
    assert DeleteLoadBalancer("myapp-api", account="prod", regions=["us-east-1"])._render()["loadBalancerName"] == (
        "myapp-api"
    )
    policy = UpsertScalingPolicy("myapp-v000", account="prod", region="us-east-1", simple={"scalingAdjustment": 1})
    assert policy._render()["simple"] == {"scalingAdjustment": 1}
    tags = UpsertImageTags(["myapp-1.0"], account="prod", regions=["us-east-1"], tags={"stage": "ok"})._render()
    assert tags["imageNames"] == ["myapp-1.0"] and tags["tags"] == {"stage": "ok"}
    update = UpdateLaunchTemplate("myapp-v001", account="prod", region="us-east-1", instance_type="t3.large")
    assert update._render()["instanceType"] == "t3.large"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: UpsertSecurityGroup("x", account="prod"), "regions"),
        (
            lambda: UpsertLoadBalancer("x", account="prod", regions=["r"], load_balancer_type="gwlb"),
            "load_balancer_type",
        ),
        (lambda: UpsertLoadBalancer("x", account="prod", regions=["r"]), "listeners"),
        (lambda: UpsertScalingPolicy("g", account="prod", region="r"), "target_tracking"),
        (lambda: UpsertImageTags(["i"], account="prod", regions=["r"], tags={}), "tags"),
        (lambda: UpdateLaunchTemplate("g", account="prod", region="r"), "image"),
        # regions given do not count as a change to the template
        (lambda: UpdateLaunchTemplate("g", account="prod", region="r", regions=["r"]), "image"),
    ],
)
def test_mistakes_name_the_field(build: object, field: str) -> None:
    with pytest.raises(PipelineBuildError, match=rf"\.{field}:"):
        build()  # type: ignore[operator]

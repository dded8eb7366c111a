"""Rolling red/black's per-step disable: Clouddriver's disable with ``desiredPercentage`` below 100 deregisters
that share of a group's serving instances from its target groups and classic ELBs, leaves scaling on, and
counts the instances already out (a repeat deregisters nothing more)."""

from __future__ import annotations

from typing import Any

import pytest

from activities.deploy_base import StageInputError
from activities.deploy_server_groups import desired_percentage
from providers.aws import AwsCloud
from providers.targets import TargetError, instances_to_modify
from tests.providers.aws_fixtures import REGION, AwsWorld
from tests.providers.test_aws import request


@pytest.mark.parametrize(
    ("modified", "unmodified", "pct", "expected"),
    [
        ([], ["a", "b", "c", "d"], 50, ["a", "b"]),
        ([], ["a", "b", "c", "d"], 25, ["a"]),
        ([], ["a", "b", "c"], 50, ["a", "b"]),  # ceil(1.5)
        (["x"], ["a", "b", "c"], 50, ["a"]),  # one is already out
        (["x", "y"], ["a", "b"], 50, []),  # already there
        (["x", "y", "z"], ["a"], 50, []),  # beyond it: nothing comes back either
        ([], ["a", "b"], 100, ["a", "b"]),
        ([], ["a", "b"], 0, []),
        ([], [], 50, []),
    ],
)
def test_instances_to_modify(modified: list[str], unmodified: list[str], pct: int, expected: list[str]) -> None:
    assert instances_to_modify(modified, unmodified, pct) == expected


@pytest.mark.parametrize("pct", [-1, 101])
def test_instances_to_modify_refuses_a_percentage_outside_0_100(pct: int) -> None:
    with pytest.raises(TargetError, match="desiredPercentage"):
        instances_to_modify([], ["a"], pct)


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), (50, 50), ("25", 25), (100.0, 100), (0, 0)])
def test_desired_percentage_reads_the_stage_field(raw: Any, expected: int | None) -> None:
    assert desired_percentage({"desiredPercentage": raw}) == expected


@pytest.mark.parametrize("raw", [101, -5, 33.3, "half", True, [50]])
def test_desired_percentage_names_the_field_when_wrong(raw: Any) -> None:
    with pytest.raises(StageInputError, match="desiredPercentage"):
        desired_percentage({"desiredPercentage": raw})


def test_disable_a_percentage_of_a_groups_targets(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    from providers.base import Capacity

    group = aws_cloud.create_server_group(request(aws_world, load_balancers=[], capacity=Capacity(4, 4, 4)))
    ids = {i.id for i in group.instances}
    assert len(ids) == 4 and aws_world.target_ids() == ids

    first = aws_cloud.disable_percentage("test", REGION, group.name, 50)
    assert len(first) == 2 and set(first) <= ids
    assert aws_world.target_ids() == ids - set(first)
    assert aws_world.suspended(group.name) == set()  # scaling stays on below 100, as in Clouddriver
    half = aws_cloud.server_group("test", REGION, group.name)
    assert half is not None and not half.disabled and half.healthy_count() == 2

    assert aws_cloud.disable_percentage("test", REGION, group.name, 50) == []  # a repeat: already there
    second = aws_cloud.disable_percentage("test", REGION, group.name, 75)
    assert len(second) == 1 and not set(second) & set(first)
    assert len(aws_world.target_ids()) == 1

    aws_cloud.disable("test", REGION, group.name)  # the 100% step: the whole group
    assert aws_world.target_ids() == set() and "AddToLoadBalancer" in aws_world.suspended(group.name)
    aws_cloud.enable("test", REGION, group.name)  # a rollback brings every instance back
    assert aws_world.target_ids() == ids
    assert aws_cloud.disable_percentage("test", REGION, "myapp-prod-v042", 50) == []  # missing: nothing to do


def test_disable_a_percentage_deregisters_from_classic_load_balancers(aws_cloud: AwsCloud, aws_world: AwsWorld) -> None:
    """moto never drops ASG-registered instances from a classic ELB: the calls are checked as botocore sends them."""
    group = aws_cloud.create_server_group(request(aws_world, target_groups=[]))
    ids = {i.id for i in group.instances}
    sent: list[tuple[str, str, set[str]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if "Instances" in params:
            sent.append((model.name, params["LoadBalancerName"], {i["InstanceId"] for i in params["Instances"]}))

    aws_cloud._client("test", REGION, "elb").meta.events.register(
        "provide-client-params.elastic-load-balancing", record
    )
    chosen = aws_cloud.disable_percentage("test", REGION, group.name, 50)
    assert len(chosen) == 1 and set(chosen) <= ids
    assert sent == [("DeregisterInstancesFromLoadBalancer", "myapp-classic", set(chosen))]

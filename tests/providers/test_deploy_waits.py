"""Orca's wait rules as tables: how many instances must be Up, how often to look, and the timeouts the
wait tasks get (activities/deploy_waits.py, the deploy and server-group stages)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from activities.deploy_waits import PercentageError, backoff_ms, healthy_target, percentage
from workflows.stages.deploy import DeployStage
from workflows.stages.server_groups import ResizeServerGroupStage, RollbackServerGroupStage


@pytest.mark.parametrize(
    ("desired", "pct", "expected"),
    [
        (4, None, 4),
        (4, 100, 4),
        (4, 50, 2),
        (3, 50, 2),  # 1.5 rounds half up, as Java's Math.round
        (5, 30, 2),  # 1.5 again
        (10, 33, 3),  # 3.3 rounds down (ceil would say 4)
        (1, 10, 1),  # never 0 by rounding
        (3, 0, 0),  # 0% asks for nothing
        (0, 50, 0),
    ],
)
def test_how_many_must_be_up(desired: int, pct: int | None, expected: int) -> None:
    assert healthy_target(desired, pct) == expected


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), (75, 75), ("100", 100), (0, 0)])
def test_percentages_read_as_orca_reads_them(raw: Any, expected: int | None) -> None:
    assert percentage(raw, "targetHealthyDeployPercentage") == expected


@pytest.mark.parametrize("raw", [101, -1, "lots"])
def test_bad_percentages_name_the_field(raw: Any) -> None:
    with pytest.raises(PercentageError, match="targetHealthyDeployPercentage"):
        percentage(raw, "targetHealthyDeployPercentage")


@pytest.mark.parametrize(("minutes", "expected_s"), [(0, 10), (29, 10), (31, 60), (59, 60), (61, 120), (500, 120)])
def test_checks_slow_down_as_orca_s_do(minutes: int, expected_s: int) -> None:
    assert backoff_ms(timedelta(minutes=minutes)) == expected_s * 1000


def _task(tasks: list[Any], name: str) -> Any:
    return next(t for t in tasks if t.name == name)


def test_the_wait_tasks_time_out_after_orca_s_two_hours() -> None:
    up = _task(DeployStage().tasks({}), "waitForUpInstances")
    assert up.timeout == timedelta(hours=2) and up.backoff == timedelta(seconds=10) and up.polling
    assert _task(DeployStage().tasks({"waitForUpInstancesTimeoutMinutes": 5}), "waitForUpInstances").timeout == (
        timedelta(minutes=5)
    )
    assert _task(ResizeServerGroupStage().tasks({}), "waitForCapacityMatch").timeout == timedelta(hours=2)
    assert _task(RollbackServerGroupStage().tasks({}), "waitForRestoredInstances").timeout == timedelta(hours=2)


class _NoGroups:
    cloud_provider = "aws"

    def server_group(self, account: str, region: str, name: str) -> None:
        return None


def _wait_input(started_ms_ago: int) -> Any:
    import time

    from workflows.stages.base import TaskInput

    plan = [{"cluster": 0, "cloudProvider": "aws", "account": "a", "region": "r", "serverGroupName": "app-v001"}]
    now = int(time.time() * 1000)
    return TaskInput(
        execution_id="e",
        application="app",
        stage_id="s",
        stage_ref_id="1",
        stage_type="deploy",
        task_name="waitForUpInstances",
        context={"deploy.plan": plan},
        stage_start_time_ms=now - started_ms_ago,
        task_start_time_ms=now - started_ms_ago,
    )


def test_a_new_group_not_there_yet_is_waited_for_ten_minutes() -> None:
    from activities.deploy import DeployActivities, ProviderSessions
    from core.status import ExecutionStatus

    acts = DeployActivities(ProviderSessions({"aws": _NoGroups()}))  # type: ignore[dict-item]
    early = acts._wait_up(_wait_input(60_000))
    assert early.status == ExecutionStatus.RUNNING and early.context["waitingFor"] == ["app-v001 (not there yet)"]
    late = acts.wait_for_up_instances(_wait_input(11 * 60_000))
    assert late.status == ExecutionStatus.TERMINAL and "app-v001 is gone" in (late.error or "")


def test_a_deploy_rollback_is_timeboxed_to_30_minutes_as_orca_does() -> None:
    from workflows.stages.deploy import rollback_stages

    item = {
        "cluster": 0,
        "cloudProvider": "aws",
        "account": "a",
        "region": "r",
        "serverGroupName": "app-v001",
        "clusterName": "app",
    }
    context = {"rollback": {"onFailure": True}, "deploy.plan": [item], "deploy.server.groups": {"r": ["app-v001"]}}
    [rollback] = rollback_stages(context)
    assert rollback.context["stageTimeoutMs"] == 30 * 60 * 1000


def _group(load_balancers: list[str], target_groups: list[str]) -> Any:
    from providers.base import Capacity, ServerGroup

    return ServerGroup(
        name="app-v001",
        account="a",
        region="r",
        cloud_provider="aws",
        created_ms=1,
        capacity=Capacity(),
        load_balancers=load_balancers,
        target_groups=target_groups,
    )


@pytest.mark.parametrize(
    ("context", "where", "expected"),
    [
        ({}, {}, True),  # nothing could report: the cloud's own health counts
        ({}, {"targetGroups": ["web"]}, False),
        ({"interestingHealthProviderNames": ["Amazon"]}, {"targetGroups": ["web"]}, True),
        ({"interestingHealthProviderNames": ["Amazon"]}, {"interestingHealthProviderNames": ["TargetGroup"]}, False),
        ({"interestingHealthProviderNames": ["Google", "LoadBalancer"]}, {}, False),
        ({}, ("lb", []), False),  # an existing group in a load balancer
        ({}, ([], []), True),
        ({"interestingHealthProviderNames": ["aws"]}, ([], ["web"]), True),
    ],
)
def test_when_platform_health_counts(context: dict[str, Any], where: Any, expected: bool) -> None:
    from activities.deploy_base import platform_health_only

    if isinstance(where, tuple):
        lbs, tgs = where
        where = _group([lbs] if isinstance(lbs, str) else lbs, tgs)
    assert platform_health_only(context, where) is expected

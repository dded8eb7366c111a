"""Rolling red/black as tables: Orca's percentage math (``scalePct`` rounds up, pinning), the percentages
a stage may give, and the synthetic stages the strategy plans."""

from __future__ import annotations

from typing import Any

import pytest

from providers.base import Capacity
from providers.targets import resize_capacity, scale_pct
from workflows.stages.deploy import rollback_stages, strategy_stages
from workflows.stages.rolling import grown_desired, target_percentages


@pytest.mark.parametrize(
    ("source_desired", "pct", "expected"),
    [(10, 50, 5), (3, 50, 2), (3, 33, 1), (1, 10, 1), (7, 100, 7), (5, 1, 1), (4, 75, 3), (0, 50, 0)],
)
def test_the_new_group_grows_to_a_percentage_rounded_up(source_desired: int, pct: int, expected: int) -> None:
    assert grown_desired(source_desired, pct) == expected
    assert scale_pct(Capacity(0, source_desired, source_desired), pct).desired == expected


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        # below 100: pinned, min = max = desired
        ({"scalePct": 50, "pinCapacity": True, "pinMinimumCapacity": True}, (3, 3, 3)),
        # 100 with unpin: the source's capacity, min back to the source's original min
        ({"scalePct": 100, "unpinMinimumCapacity": True, "originalCapacity.app-v001": {"min": 1}}, (1, 8, 6)),
        # pin the source's min at its desired
        ({"pinMinimumCapacity": True}, (6, 8, 6)),
        # unpinning never raises a min
        ({"unpinMinimumCapacity": True, "originalCapacity.app-v001": {"min": 7}}, (6, 8, 6)),
        # unpin falls back to savedCapacity
        ({"scalePct": 100, "unpinMinimumCapacity": True, "savedCapacity": {"min": 2}}, (2, 8, 6)),
    ],
)
def test_scale_to_server_group_follows_the_source(context: dict[str, Any], expected: tuple[int, int, int]) -> None:
    source = Capacity(min=6, max=8, desired=6)  # pinned at its desired, as the strategy pins it first
    ctx = {"action": "scale_to_server_group", "source": {"serverGroupName": "app-v001"}, **context}
    got = resize_capacity(Capacity(0, 0, 0), ctx, [], source)
    assert (got.min, got.max, got.desired) == expected


def test_scale_exact_with_a_percentage_is_a_share_of_the_configured_capacity() -> None:
    ctx = {"action": "scale_exact", "capacity": {"min": 2, "max": 4, "desired": 4}, "scalePct": 50}
    assert resize_capacity(Capacity(0, 0, 0), {**ctx, "pinCapacity": True}).to_json() == {
        "min": 2,
        "max": 2,
        "desired": 2,
    }
    with pytest.raises(ValueError, match="source"):
        resize_capacity(Capacity(0, 0, 0), {"action": "scale_to_server_group"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, [100]), ([], [100]), ([50], [50, 100]), ([25, 50, 100], [25, 50, 100]), (["10", 100], [10, 100])],
)
def test_target_percentages_always_end_at_100(raw: Any, expected: list[int]) -> None:
    assert target_percentages({"targetPercentages": raw}) == expected


@pytest.mark.parametrize("raw", [[0], [150], [50, 20], ["x"], "50", [33.5]])
def test_bad_target_percentages_name_the_field(raw: Any) -> None:
    with pytest.raises(ValueError, match="targetPercentages"):
        target_percentages({"targetPercentages": raw})


def _context(source: bool = True, **cluster: Any) -> dict[str, Any]:
    item = {
        "cluster": 0,
        "cloudProvider": "aws",
        "account": "test",
        "region": "us-east-1",
        "serverGroupName": "app-prod-v002",
        "clusterName": "app-prod",
        "capacity": {"min": 0, "max": 0, "desired": 0},
        "savedCapacity": {"min": 2, "max": 4, "desired": 4},
        "source": {"serverGroupName": "app-prod-v001", "capacity": {"min": 2, "max": 4, "desired": 4}}
        if source
        else None,
    }
    return {
        "clusters": [{"strategy": "rollingredblack", **cluster}],
        "deploy.plan": [item],
        "deploy.server.groups": {"us-east-1": ["app-prod-v002"]},
    }


def test_the_strategy_plans_orcas_stages() -> None:
    stages = strategy_stages(
        _context(
            targetPercentages=[50, 100],
            delayBeforeCleanup=5,
            scaleDown=True,
            delayBeforeScaleDown=7,
            pipelineBeforeCleanup={"application": "app", "pipelineId": "validate", "pipelineParameters": {"a": 1}},
        )
    )
    assert [(s.type, s.name) for s in stages] == [
        ("pinServerGroup", "Pin app-prod-v001"),
        ("resizeServerGroup", "Grow to 50% of Desired Size"),
        ("wait", "wait"),
        ("pipeline", "Run Validation Pipeline"),
        ("disableServerGroup", "Disable 50% of Traffic on app-prod-v001"),
        ("resizeServerGroup", "Grow to 100% of Desired Size"),
        ("wait", "wait"),
        ("pipeline", "Run Validation Pipeline"),
        ("disableServerGroup", "Disable 100% of Traffic on app-prod-v001"),
        ("wait", "Wait Before Scale Down"),
        ("scaleDownCluster", "scaleDown"),
    ]
    grow50 = stages[1].context
    assert grow50["serverGroupName"] == "app-prod-v002" and grow50["action"] == "scale_to_server_group"
    assert grow50["pinCapacity"] and not grow50["unpinMinimumCapacity"]
    assert stages[4].context["desiredPercentage"] == 50 and stages[4].context["serverGroupName"] == "app-prod-v001"
    assert stages[5].context["unpinMinimumCapacity"] and not stages[5].context["pinCapacity"]
    params = stages[3].context["pipelineParameters"]
    assert params["percentageComplete"] == 50 and params["a"] == 1
    assert params["deployedServerGroup"]["serverGroupName"] == "app-prod-v002"
    assert params["sourceServerGroup"]["serverGroupName"] == "app-prod-v001"
    assert stages[-1].context["excludeServerGroups"] == ["app-prod-v002"]


def test_without_scale_down_the_source_is_unpinned_and_max_remaining_shrinks_first() -> None:
    stages = strategy_stages(_context(maxRemainingAsgs=2))
    assert [s.name for s in stages] == [
        "shrinkCluster app-prod in us-east-1",
        "Pin app-prod-v001",
        "Grow to 100% of Desired Size",
        "Disable 100% of Traffic on app-prod-v001",
        "Unpin app-prod-v001",
    ]
    assert stages[-1].context["unpinMinimumCapacity"] is True


def test_a_first_deploy_grows_to_the_configured_capacity_and_touches_nothing_else() -> None:
    stages = strategy_stages(_context(source=False, targetPercentages=[50], scaleDown=True))
    assert [s.name for s in stages] == ["Grow to 50% of Desired Size", "Grow to 100% of Desired Size"]
    assert stages[0].context["action"] == "scale_exact"
    assert stages[0].context["capacity"] == {"min": 2, "max": 4, "desired": 4}


def test_rollback_on_failure_restores_the_source_then_unpins_it() -> None:
    stages = rollback_stages(_context(rollback={"onFailure": True}))
    assert [(s.type, s.name) for s in stages] == [
        ("rollbackServerGroup", "rollback app-prod-v002"),
        ("pinServerGroup", "Unpin app-prod-v001"),
    ]
    assert stages[0].context["rollbackContext"]["restoreServerGroupName"] == "app-prod-v001"
    assert rollback_stages(_context()) == []

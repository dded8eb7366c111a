"""Orca's target and cluster selection rules, as tables."""

from __future__ import annotations

import pytest

from providers.base import DOWN, UP, Capacity, Instance, ServerGroup
from providers.naming import Moniker, NameError_, next_name
from providers.targets import (
    TargetError,
    disable_cluster,
    resize_capacity,
    resolve_target,
    scale_down_cluster,
    shrink_cluster,
)


def group(seq: int, *, disabled: bool = False, up: int = 0, down: int = 0, desired: int | None = None) -> ServerGroup:
    instances = [Instance(f"i-{seq}-{n}", health_state=UP) for n in range(up)]
    instances += [Instance(f"i-{seq}-d{n}", health_state=DOWN) for n in range(down)]
    size = len(instances) if desired is None else desired
    return ServerGroup(
        name=f"app-prod-v{seq:03d}",
        account="acct",
        region="us-east-1",
        cloud_provider="aws",
        created_ms=1000 * seq,
        capacity=Capacity(size, size, size),
        disabled=disabled,
        instances=instances,
    )


def names(groups: list[ServerGroup]) -> list[str]:
    return [g.name[-4:] for g in groups]


V1, V2, V3 = group(1, up=2), group(2, up=2), group(3, up=2)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("current_asg_dynamic", "v003"),
        ("ancestor_asg_dynamic", "v002"),
        ("oldest_asg_dynamic", "v001"),
        ("current_asg", "v003"),
    ],
)
def test_targets(target: str, expected: str) -> None:
    assert resolve_target([V2, V1, V3], target).name.endswith(expected)


def test_missing_targets() -> None:
    with pytest.raises(TargetError, match="no ancestor"):
        resolve_target([V1], "ancestor_asg_dynamic")
    with pytest.raises(TargetError, match="not one of"):
        resolve_target([V1], "newest")
    assert resolve_target([V1, group(2, disabled=True)], "current_asg_dynamic", only_enabled=True).name.endswith("v001")


def test_disable_cluster_keeps_the_newest_enabled() -> None:
    assert names(disable_cluster([V1, V2, V3])) == ["v002", "v001"]
    assert names(disable_cluster([V1, V2, V3], exclude=["app-prod-v003"])) == ["v002", "v001"]
    assert names(disable_cluster([V1, V2, V3], remaining_enabled=2)) == ["v001"]
    already = group(1, disabled=True)  # disabled and drained: not active, nothing to do
    assert names(disable_cluster([already, V2, V3])) == ["v002"]
    bigger = group(1, up=5)
    assert names(disable_cluster([bigger, V2, V3], prefer_larger=True)) == ["v002", "v003"]


def test_shrink_cluster() -> None:
    old = [group(1, disabled=True), group(2, disabled=True)]
    assert names(shrink_cluster([*old, V3], shrink_to=2)) == ["v001"]
    assert names(shrink_cluster([*old, V3], shrink_to=1)) == ["v002", "v001"]
    assert names(shrink_cluster([V1, V2, V3], shrink_to=1)) == []  # never an active group by default
    assert names(shrink_cluster([V1, V2, V3], shrink_to=1, allow_delete_active=True)) == ["v002", "v001"]
    highlander = shrink_cluster([V1, V2, V3], shrink_to=1, allow_delete_active=True, exclude=["app-prod-v003"])
    assert names(highlander) == ["v002", "v001"]


def test_scale_down_cluster() -> None:
    disabled = [group(1, disabled=True, desired=2), group(2, disabled=True, desired=2)]
    assert names(scale_down_cluster([*disabled, V3])) == ["v002", "v001"]
    assert names(scale_down_cluster([*disabled, V3], remaining_full_size=2)) == ["v001"]
    assert names(scale_down_cluster([group(1, disabled=True, desired=0), V3])) == []  # already at zero


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"action": "scale_exact", "capacity": {"min": 1, "max": 5, "desired": 3}}, (1, 5, 3)),
        ({"action": "scale_up", "scalePct": 50}, (2, 6, 6)),
        ({"action": "scale_up", "scaleNum": 3}, (2, 7, 7)),
        ({"action": "scale_down", "scaleNum": 3}, (1, 4, 1)),
        ({"action": "scale_down", "scalePct": 100}, (0, 4, 0)),
        ({"action": "scale_to_cluster"}, (2, 9, 9)),
    ],
)
def test_resize(context: dict, expected: tuple[int, int, int]) -> None:
    big = group(9, up=9)
    got = resize_capacity(Capacity(2, 4, 4), context, [V1, big])
    assert (got.min, got.max, got.desired) == expected


def test_naming() -> None:
    assert Moniker.parse("app-prod-canary-v012") == Moniker("app", "prod", "canary", 12)
    assert Moniker.parse("app--canary").cluster == "app--canary"
    assert Moniker.of("app", "prod").server_group_name(7) == "app-prod-v007"
    assert next_name(Moniker.of("app", "prod"), []) == "app-prod-v000"
    assert next_name(Moniker.of("app", "prod"), [("app-prod-v004", 1), ("app-prod-v002", 2), ("app-v009", 3)]) == (
        "app-prod-v003"  # one past the most recently created, not the highest
    )
    assert next_name(Moniker.of("app", "prod"), [("app-prod-v999", 5), ("app-prod-v000", 1)]) == "app-prod-v001"
    with pytest.raises(NameError_, match="stack"):
        Moniker.of("app", "pr-od")
    with pytest.raises(NameError_, match="application"):
        Moniker.of("app;rm -rf /")

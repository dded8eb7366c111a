"""Which server groups an operation acts on: Orca's target resolution and cluster-wide selection, as pure
functions over a cluster's server groups (so they are table-tested without a cloud).

``current_asg_dynamic`` is the newest group, ``ancestor_asg_dynamic`` the one before it,
``oldest_asg_dynamic`` the oldest; the cluster operations (disable/shrink/scale down a cluster)
keep the groups Orca keeps and return the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from core.errors import ProviderError

from .base import UP, Capacity, ServerGroup

TARGETS = {
    "current_asg_dynamic": "current",
    "current_asg": "current",
    "ancestor_asg_dynamic": "ancestor",
    "ancestor_asg": "ancestor",
    "oldest_asg_dynamic": "oldest",
    "oldest_asg": "oldest",
}


class TargetError(ProviderError, ValueError):
    """No server group answers the stage's target (the message says which and where)."""


def newest_first(groups: Sequence[ServerGroup]) -> list[ServerGroup]:
    return sorted(groups, key=lambda g: (g.created_ms, g.name), reverse=True)


def resolve_target(groups: Sequence[ServerGroup], target: str, *, only_enabled: bool = False) -> ServerGroup:
    """The server group a ``target`` names, among one cluster's groups in one location."""
    kind = TARGETS.get(target)
    if kind is None:
        raise TargetError(f"target: '{target}' is not one of {', '.join(sorted(TARGETS))}")
    candidates = [g for g in newest_first(groups) if not (only_enabled and g.disabled)]
    if kind == "current" and candidates:
        return candidates[0]
    if kind == "ancestor" and len(candidates) > 1:
        return candidates[1]
    if kind == "oldest" and candidates:
        return candidates[-1]
    raise TargetError(f"no {kind} server group (target {target}) among {len(candidates)} server group(s)")


def is_active(group: ServerGroup) -> bool:
    """Orca's rule: enabled, or disabled but still with healthy instances."""
    return not group.disabled or any(i.health_state == UP for i in group.instances)


def _key(*comparators: Callable[[ServerGroup], Any]) -> Callable[[ServerGroup], tuple[Any, ...]]:
    return lambda g: tuple(c(g) for c in comparators)


def _retain_order(groups: list[ServerGroup], *, active_first: bool, larger_first: bool) -> list[ServerGroup]:
    """Groups in the order Orca retains them: active ones, larger ones (when asked), then newer ones."""
    comparators: list[Callable[[ServerGroup], Any]] = []
    if active_first:
        comparators.append(lambda g: 0 if is_active(g) else 1)
    if larger_first:
        comparators.append(lambda g: -len(g.instances))
    comparators.append(lambda g: (-g.created_ms, g.name))
    return sorted(groups, key=_key(*comparators))


def _candidates(groups: Sequence[ServerGroup], exclude: Sequence[str]) -> list[ServerGroup]:
    """Orca's ``filterParentDeploys``: the groups the deploy just created are never targets."""
    return [g for g in groups if g.name not in set(exclude)]


def disable_cluster(
    groups: Sequence[ServerGroup],
    *,
    remaining_enabled: int = 1,
    prefer_larger: bool = False,
    exclude: Sequence[str] = (),
) -> list[ServerGroup]:
    """The active groups to disable so that ``remaining_enabled`` stay enabled (the excluded count)."""
    candidates = _candidates(groups, exclude)
    drop = max(0, remaining_enabled - (len(groups) - len(candidates)))
    active = [g for g in candidates if is_active(g)]
    order = sorted(active, key=lambda g: -len(g.instances)) if prefer_larger else newest_first(active)
    return order[drop:]


def shrink_cluster(
    groups: Sequence[ServerGroup],
    *,
    shrink_to: int = 1,
    allow_delete_active: bool = False,
    retain_larger: bool = False,
    exclude: Sequence[str] = (),
) -> list[ServerGroup]:
    """The groups to destroy so that ``shrink_to`` remain (never an active one unless allowed)."""
    candidates = _candidates(groups, exclude)
    if not allow_delete_active:
        candidates = [g for g in candidates if not is_active(g)]
    drop = shrink_to - (len(groups) - len(candidates))
    ordered = _retain_order(candidates, active_first=allow_delete_active, larger_first=retain_larger)
    return ordered[max(0, drop) :]


def scale_down_cluster(
    groups: Sequence[ServerGroup],
    *,
    remaining_full_size: int = 1,
    allow_scale_down_active: bool = False,
    prefer_larger: bool = False,
    exclude: Sequence[str] = (),
) -> list[ServerGroup]:
    """The groups to scale to zero so that ``remaining_full_size`` keep their size."""
    candidates = _candidates(groups, exclude)
    if not allow_scale_down_active:
        candidates = [g for g in candidates if not is_active(g)]
    drop = max(0, remaining_full_size - (len(groups) - len(candidates)))
    ordered = _retain_order(candidates, active_first=allow_scale_down_active, larger_first=prefer_larger)
    return [g for g in ordered[drop:] if g.capacity.desired > 0 or g.capacity.min > 0]


def scale_pct(capacity: Capacity, pct: float) -> Capacity:
    """Orca's ``scalePct``: desired becomes ``ceil(desired * pct / 100)``; min and max stretch to hold it."""
    desired = math.ceil(capacity.desired * pct / 100)
    return Capacity(min=min(capacity.min, desired), max=max(capacity.max, desired), desired=desired)


def pin(capacity: Capacity, context: dict[str, Any], original_min: int | None = None) -> Capacity:
    """Orca's pinning flags on a computed capacity: ``unpinMinimumCapacity`` lowers min back to the original
    one (never raises it), then ``pinCapacity`` sets min = max = desired, ``pinMinimumCapacity`` min = desired."""
    unpin = context.get("unpinMinimumCapacity") in (True, "true")
    if unpin and original_min is not None and original_min <= capacity.min:
        capacity = Capacity(min=original_min, max=capacity.max, desired=capacity.desired)
    if context.get("pinCapacity") in (True, "true"):
        return Capacity(min=capacity.desired, max=capacity.desired, desired=capacity.desired)
    if context.get("pinMinimumCapacity") in (True, "true"):
        return Capacity(min=capacity.desired, max=capacity.max, desired=capacity.desired)
    return capacity


def _original_min(context: dict[str, Any]) -> int | None:
    """The min to unpin to: ``originalCapacity.<source>`` (the source before the deploy), else ``savedCapacity``."""
    source = context.get("source")
    name = source.get("serverGroupName") if isinstance(source, dict) else None
    for key in (f"originalCapacity.{name}", "savedCapacity"):
        raw = context.get(key)
        if isinstance(raw, dict) and raw.get("min") is not None:
            return int(raw["min"])
    return None


def resize_capacity(
    current: Capacity,
    context: dict[str, Any],
    cluster: Sequence[ServerGroup] = (),
    source: Capacity | None = None,
) -> Capacity:
    """The capacity a ``resizeServerGroup`` stage asks for, from the group's current one (Orca's
    ``ResizeStrategy``): ``scale_exact`` (``capacity``), ``scale_up``/``scale_down`` by ``scalePct`` or
    ``scaleNum``, ``scale_to_cluster`` (the cluster's largest desired), ``scale_to_server_group`` (the
    ``source`` group's capacity, scaled by ``scalePct``), with ``resizeType`` ``exact``/``pct``/``incr`` as
    Deck sends it, then Orca's pinning flags (``pinCapacity``, ``pinMinimumCapacity``, ``unpinMinimumCapacity``)."""
    action = str(context.get("action") or "scale_exact").lower()
    raw = context.get("capacity")
    given: dict[str, Any] = raw if isinstance(raw, dict) else {}
    pct = context.get("scalePct")
    if action == "scale_exact":
        capacity = Capacity(
            min=int(given.get("min", current.min)),
            max=int(given.get("max", current.max)),
            desired=int(given.get("desired", current.desired)),
        )
        if pct is not None:  # a rolling red/black without a source: a percentage of the configured capacity
            capacity = scale_pct(capacity, float(pct))
        return pin(capacity, context, _original_min(context))
    if action == "scale_to_server_group":
        if source is None:
            raise ValueError("source: scale_to_server_group needs a source server group")
        capacity = scale_pct(source, float(pct)) if pct is not None else source
        return pin(capacity, context, _original_min(context))
    if action == "scale_to_cluster":
        largest = max((g.capacity.desired for g in cluster), default=current.desired)
        return Capacity(min=min(current.min, largest), max=max(current.max, largest), desired=largest)
    if action not in ("scale_up", "scale_down"):
        raise ValueError(
            f"action: '{action}' is not scale_exact, scale_up, scale_down, scale_to_cluster or scale_to_server_group"
        )
    if pct is not None:
        step = math.ceil(current.desired * float(pct) / 100)
    else:
        step = int(context.get("scaleNum") or 0)
    desired = current.desired + step if action == "scale_up" else max(0, current.desired - step)
    return Capacity(min=min(current.min, desired), max=max(current.max, desired), desired=desired)


def instances_to_modify(modified: Sequence[str], unmodified: Sequence[str], desired_percentage: int) -> list[str]:
    """Clouddriver's ``EnableDisablePercentageCategorizer``: of a group's instances, ``modified`` are already
    out of service (not Up), ``unmodified`` still serve; return the ones to take out so that
    ``ceil(total × desired_percentage / 100)`` are out -- none when that many already are."""
    if isinstance(desired_percentage, bool) or not 0 <= desired_percentage <= 100:
        raise TargetError(f"desiredPercentage: must be between 0 and 100, not {desired_percentage}")
    total = len(modified) + len(unmodified)
    wanted = math.ceil(total * desired_percentage / 100)
    return list(unmodified[: max(0, wanted - len(modified))])


def rollback_healthy_percentage(desired: int | None, override: Any = None) -> int:
    """Orca's ``DetermineRollbackCandidatesTask.determineTargetHealthyRollbackPercentage`` (Deck's rule for
    manual rollbacks): the stage's ``targetHealthyRollbackPercentage`` when set, else 100 below 10 instances,
    90 below 20 (one instance may be unknown), 95 from 20."""
    if override is not None and override != "":
        return int(override)
    if desired is None or desired < 10:
        return 100
    return 90 if desired < 20 else 95


def rollback_candidates(
    groups: Sequence[ServerGroup], *, only_enabled: bool = False, original: str | None = None
) -> tuple[ServerGroup, str] | None:
    """Orca's ``DetermineRollbackCandidatesTask`` for one region of a cluster (no entity tags): the newest enabled
    group is rolled back to ``original`` when given, else to the newest other group (enabled ones only with
    ``only_enabled``). None when no rollback is possible: fewer than two groups, or none enabled."""
    ordered = newest_first(groups)
    enabled = [g for g in ordered if not g.disabled]
    if len(ordered) < 2 or not enabled:
        return None
    current = enabled[0]
    if original:
        return current, original
    others = [g for g in (enabled if only_enabled else ordered) if g.name != current.name]
    if not others:  # Orca fails the same way
        raise TargetError(f"no server group to roll back {current.name} to (only enabled ones considered)")
    return current, others[0].name

"""An AWS instance's health as Clouddriver computes it: pure functions, table-tested.

Clouddriver keeps a list of health entries per instance and reduces it to one state:

- ``Amazon`` (platform): ``running`` → Unknown, any other EC2 state → Down
  (``InstanceCachingAgent.getAmazonHealth``). Where EC2 has no record of the instance we read the
  Auto Scaling lifecycle instead: Pending → Starting, InService → Unknown, leaving → Down; an
  instance the group is terminating is Down even while EC2 still runs it.
- ``TargetGroup``: per target group ``healthy`` → Up, ``initial`` → Starting, ``unused`` →
  OutOfService, ``draining`` → Draining, anything else Down; across groups Starting, then Down, then
  OutOfService, then Draining win, else Up (``InstanceTargetGroupState``, ``InstanceTargetGroups``).
- ``LoadBalancer`` (classic ELB): ``InService`` → Up, else by description (registration in
  progress → Starting, not registered → OutOfService, else Down); across ELBs Starting, Down,
  OutOfService, else Up (``InstanceLoadBalancerState``, ``InstanceLoadBalancers``).

The instance is Up when every entry that is not Unknown is Up (and there is one), else Starting,
Down or OutOfService if any entry says so, else Starting within 3 minutes of launch, else Unknown
(``AmazonInstance.getHealthState``). An instance outside every load balancer is therefore Unknown,
as in Spinnaker, where Orca's "platform health only" setting is what counts it as up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import DOWN, OUT_OF_SERVICE, STARTING, UNKNOWN, UP

#: Clouddriver's ``HealthState.Draining``: a target group entry only, never an instance's own state
DRAINING = "Draining"
#: ``AmazonInstance.START_TIME_DRIFT``: a recent instance with no verdict yet counts as starting
START_TIME_DRIFT_MS = 180_000

_TARGET_STATES = {"healthy": UP, "initial": STARTING, "unused": OUT_OF_SERVICE, "draining": DRAINING}


def platform_state(ec2_state: str | None, lifecycle_state: str | None = None) -> str:
    """The ``Amazon`` entry: EC2's instance state, else the Auto Scaling lifecycle state."""
    lifecycle = lifecycle_state or ""
    if lifecycle.startswith(("Terminating", "Terminated")):
        return DOWN
    if ec2_state is not None:
        return UNKNOWN if ec2_state == "running" else DOWN
    if lifecycle.startswith("Pending"):
        return STARTING
    return UNKNOWN if lifecycle == "InService" else DOWN


def target_state(state: str) -> str:
    """One target group's ``TargetHealth.State`` for the instance."""
    return _TARGET_STATES.get(state, DOWN)


def target_groups_state(states: Sequence[str]) -> str:
    """The ``TargetGroup`` entry from the per-group states (:func:`target_state`)."""
    for verdict in (STARTING, DOWN, OUT_OF_SERVICE, DRAINING):
        if verdict in states:
            return verdict
    return UP


def classic_lb_state(state: str, description: str = "") -> str:
    """One classic ELB's ``InstanceState`` (``InService``/``OutOfService`` and its description)."""
    if state == "InService":
        return UP
    if description == "Instance registration is still in progress":
        return STARTING
    if description == "Instance is not currently registered with the LoadBalancer.":
        return OUT_OF_SERVICE
    return DOWN


def classic_lbs_state(states: Sequence[str]) -> str:
    """The ``LoadBalancer`` entry from the per-ELB states (:func:`classic_lb_state`)."""
    for verdict in (STARTING, DOWN, OUT_OF_SERVICE):
        if verdict in states:
            return verdict
    return UP


def instance_state(entry_states: Sequence[str], launch_ms: int | None, now_ms: int) -> str:
    """The instance's one state from its entries' states, as Deck shows and Orca counts it."""
    known = [s for s in entry_states if s != UNKNOWN]
    if known and all(s == UP for s in known):
        return UP
    for verdict in (STARTING, DOWN, OUT_OF_SERVICE):
        if verdict in entry_states:
            return verdict
    if launch_ms is not None and launch_ms > now_ms - START_TIME_DRIFT_MS:
        return STARTING
    return UNKNOWN


def health_entries(
    ec2_state: str | None,
    lifecycle_state: str | None,
    target_groups: dict[str, str],
    load_balancers: dict[str, tuple[str, str]],
) -> list[dict[str, Any]]:
    """Clouddriver's ``health`` list: the platform entry, then target groups and classic ELBs when the
    instance is registered with any (``target_groups``: name → state, ``load_balancers``: name →
    (state, description))."""
    entries: list[dict[str, Any]] = [
        {"type": "Amazon", "healthClass": "platform", "state": platform_state(ec2_state, lifecycle_state)}
    ]
    if target_groups:
        per_group = [
            {"targetGroupName": name, "state": state, "healthState": target_state(state)}
            for name, state in sorted(target_groups.items())
        ]
        state = target_groups_state([g["healthState"] for g in per_group])
        entries.append({"type": "TargetGroup", "state": state, "targetGroups": per_group})
    if load_balancers:
        per_lb = [
            {"loadBalancerName": name, "state": s, "description": d, "healthState": classic_lb_state(s, d)}
            for name, (s, d) in sorted(load_balancers.items())
        ]
        state = classic_lbs_state([lb["healthState"] for lb in per_lb])
        entries.append({"type": "LoadBalancer", "state": state, "loadBalancers": per_lb})
    return entries

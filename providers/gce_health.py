"""A GCE instance's health as Clouddriver computes it, from what ``listManagedInstances`` says: pure
functions, table-tested.

Clouddriver keeps a list of health entries per instance and reduces it to one state:

- ``Google`` (platform), from the instance's status (``GoogleInstanceHealth.Status.toHealthState``):
  PROVISIONING and STAGING → Starting, RUNNING → Unknown, anything else (STOPPING, STOPPED,
  SUSPENDED, TERMINATED...) → Down. The managed instance group's ``currentAction`` comes first, since
  it says what is about to happen to the instance: an instance being created, recreated, restarted or
  verified is Starting, one being deleted, abandoned, stopped or suspended is Down.
- the group's autohealing health check (``instanceHealth[].detailedHealthState``), where the group has
  one: HEALTHY → Up, DRAINING → OutOfService, UNKNOWN → Unknown, anything else (UNHEALTHY, TIMEOUT)
  → Down. Clouddriver reads load balancer health here; autohealing is the health check a group
  without a load balancer has (a deliberate addition, see ``docs/providers/gce.md``).

The instance is Up when every entry that is not Unknown is Up (and there is one), else Starting, Down
or OutOfService if any entry says so, else Unknown (``GoogleInstance.View.getHealthState``). A
RUNNING instance with no health check is therefore Unknown, as in Spinnaker, where Orca's "platform
health only" setting is what counts it as up.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import DOWN, OUT_OF_SERVICE, STARTING, UNKNOWN, UP

#: ``ManagedInstance.currentAction`` values for an instance on its way up
STARTING_ACTIONS = frozenset(
    {"CREATING", "CREATING_WITHOUT_RETRIES", "RECREATING", "RESTARTING", "RESUMING", "STARTING", "VERIFYING"}
)
#: ... and on its way out
LEAVING_ACTIONS = frozenset({"DELETING", "ABANDONING", "STOPPING", "SUSPENDING"})
_STARTING_STATUSES = frozenset({"PROVISIONING", "STAGING"})
_CHECK_STATES = {"HEALTHY": UP, "DRAINING": OUT_OF_SERVICE, "UNKNOWN": UNKNOWN}


def platform_state(instance_status: str | None, current_action: str | None = None) -> str:
    """The ``Google`` entry: the group's current action on the instance, else the instance's status."""
    action = current_action or "NONE"
    if action in STARTING_ACTIONS:
        return STARTING
    if action in LEAVING_ACTIONS:
        return DOWN
    if not instance_status:
        return UNKNOWN
    if instance_status in _STARTING_STATUSES:
        return STARTING
    return UNKNOWN if instance_status == "RUNNING" else DOWN


def health_check_state(detailed_state: str) -> str:
    """One autohealing health check's ``detailedHealthState`` for the instance."""
    return _CHECK_STATES.get(detailed_state, DOWN)


def instance_state(entry_states: Sequence[str]) -> str:
    """The instance's one state from its entries' states, as Deck shows and Orca counts it."""
    known = [s for s in entry_states if s != UNKNOWN]
    if known and all(s == UP for s in known):
        return UP
    for verdict in (STARTING, DOWN, OUT_OF_SERVICE):
        if verdict in entry_states:
            return verdict
    return UNKNOWN


def managed_instance_state(
    instance_status: str | None, current_action: str | None, health_checks: Sequence[str] = ()
) -> str:
    """:func:`instance_state` of one ``listManagedInstances`` entry (``health_checks``: its
    ``instanceHealth[].detailedHealthState`` values)."""
    entries = [platform_state(instance_status, current_action)]
    entries += [health_check_state(s) for s in health_checks]
    return instance_state(entries)

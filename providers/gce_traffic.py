"""Disabling and enabling a GCE server group: Clouddriver's ``AbstractEnableDisableAtomicOperation`` for
network load balancers (a regional forwarding rule in front of a target pool).

- disable: take the instances named ``<group>-`` out of each of the group's target pools, then set
  the group's target pools to none (with the group's fingerprint, so a concurrent change is noticed);
- enable: read the forwarding rules named in the template's ``load-balancer-names`` metadata, put the
  group's instances in their target pools, then set the group's target pools to those (kept with any
  it already had).

A group is then disabled when its template names load balancers and it is in no target pool (see
``providers/gce_view.py``). Clouddriver also turns the autoscaler off and takes the group out of
backend services (HTTP(S), SSL, TCP and internal load balancers) and Consul; none of these are managed
here. A group without load balancers has nothing to leave, and Clouddriver never shows it disabled.
"""

from __future__ import annotations

import logging

from .base import NotFoundCloudError
from .gce_errors import gce_call
from .gce_ops import CALL_TIMEOUT_S, GceOps, resource_path
from .gce_view import REGIONAL_LOAD_BALANCER_NAMES, local_name, metadata_of, split_names

log = logging.getLogger(__name__)


def set_traffic(ops: GceOps, account: str, region: str, name: str, *, disable: bool) -> None:
    """Disable (or enable) the group ``name``; a missing group, or one already so, is left alone."""
    verb = "disabling" if disable else "enabling"
    mig = ops.mig(account, region, name)
    if mig is None:
        log.info("%s %s in %s/%s: no such group", verb, name, account, region)
        return
    current = [resource_path(p) for p in mig.target_pools]
    wanted: list[str] = []
    if not disable:
        names = split_names(metadata_of(ops.template(account, mig.instance_template)).get(REGIONAL_LOAD_BALANCER_NAMES))
        wanted = list(dict.fromkeys([*current, *_pools_of_rules(ops, account, region, names)]))
    if wanted == current:
        log.info("%s %s in %s/%s: nothing to change", verb, name, account, region)
        return
    instances = [m.instance for m in ops.managed_instances(account, region, name) if m.instance]
    for pool in current if disable else [p for p in wanted if p not in current]:
        _change_pool(ops, account, region, pool, name, instances, disable=disable)
    request = {"target_pools": wanted, "fingerprint": mig.fingerprint}
    ops.act(
        account,
        region,
        f"{verb} {name} in {account}/{region}: setting its target pools",
        lambda: ops.client(account, "migs").set_target_pools_unary(
            project=ops.project(account, region),
            region=region,
            instance_group_manager=name,
            region_instance_group_managers_set_target_pools_request_resource=request,
            timeout=CALL_TIMEOUT_S,
        ),
    )
    log.info("%s %s in %s/%s: done (%d target pools)", verb, name, account, region, len(wanted))


def _pools_of_rules(ops: GceOps, account: str, region: str, names: list[str]) -> list[str]:
    """``GCEUtil.queryRegionalForwardingRules``: the target pools of the rules that still exist."""
    found: list[str] = []
    for rule in names:
        try:
            found += ops.target_pools(account, region, [rule])
        except NotFoundCloudError:
            log.info("load balancer %s in %s/%s is gone: no traffic from it", rule, account, region)
    return found


def _change_pool(
    ops: GceOps, account: str, region: str, pool: str, name: str, instances: list[str], *, disable: bool
) -> None:
    """Take the group's instances out of one target pool (those named ``<group>-``, as Clouddriver picks
    them), or put its ``instances`` in; members already out (or in) are left alone."""
    pools = ops.client(account, "target_pools")
    where = {"project": ops.project(account, region), "region": region, "target_pool": local_name(pool)}
    try:
        with gce_call(f"reading target pool {local_name(pool)} in {account}/{region}"):
            members = list(pools.get(**where, **ops.read).instances)
    except NotFoundCloudError:  # a deleted target pool has nothing to take out or put in
        log.info("target pool %s in %s/%s is gone", local_name(pool), account, region)
        return
    if disable:
        change = [m for m in members if local_name(m).startswith(f"{name}-")]
    else:
        present = {local_name(m) for m in members}
        change = [i for i in instances if local_name(i) not in present]
    if not change:
        return
    refs = {"instances": [{"instance": i} for i in change]}
    if disable:
        ops.act(
            account,
            region,
            f"disabling {name}: taking {len(change)} instances out of {local_name(pool)}",
            lambda: pools.remove_instance_unary(
                **where, target_pools_remove_instance_request_resource=refs, timeout=CALL_TIMEOUT_S
            ),
        )
    else:
        ops.act(
            account,
            region,
            f"enabling {name}: putting {len(change)} instances in {local_name(pool)}",
            lambda: pools.add_instance_unary(
                **where, target_pools_add_instance_request_resource=refs, timeout=CALL_TIMEOUT_S
            ),
        )

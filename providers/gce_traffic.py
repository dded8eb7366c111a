"""Disabling and enabling a GCE server group: Clouddriver's ``AbstractEnableDisableAtomicOperation`` for network
load balancers (a regional forwarding rule in front of a target pool) and for the backend services of HTTP(S) and
internal load balancers; the backend services a deploy joins (``BasicGoogleDeployHandler``) and a destroy leaves
(``DestroyGoogleServerGroupAtomicOperation``).

- disable: take the group's instance group out of the backend services its template names (the global ones of
  ``backend-service-names``, the regional ones of ``region-backend-service-names``), then the instances named
  ``<group>-`` out of each of the group's target pools, then set the group's target pools to none (with the
  group's fingerprint, so a concurrent change is noticed);
- enable: put the instance group back in those backend services, each backend made from the template's
  ``load-balancing-policy`` (Clouddriver's ``backendFromLoadBalancingPolicy``; internal ones balance by
  CONNECTION), then read the forwarding rules named in ``load-balancer-names``, put the group's instances in their
  target pools, then set the group's target pools to those (kept with any it already had).

Every change reads the backend service first: a group already there (or already gone) is left alone, so a
retried enable makes one backend, and a service that no longer exists is skipped. A group is then disabled when
it is in none of its backend services (nor, with network load balancers too, in a target pool; see
:func:`backends_disabled` and ``providers/gce_view.py``). Clouddriver also turns the autoscaler off, and handles
SSL/TCP proxy and internal HTTP(S) balancers and Consul; none of these are managed here. A group without load
balancers has nothing to leave, and Clouddriver never shows it disabled.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from google.cloud import compute_v1

from .base import CreateServerGroupRequest, NotFoundCloudError
from .gce_deploy import backend_from_policy, backend_services_asked, load_balancing_policy
from .gce_errors import gce_call
from .gce_ops import CALL_TIMEOUT_S, GceOps, resource_path
from .gce_view import (
    BACKEND_SERVICE_NAMES,
    GLOBAL_LOAD_BALANCER_NAMES,
    LOAD_BALANCING_POLICY,
    REGION_BACKEND_SERVICE_NAMES,
    REGIONAL_LOAD_BALANCER_NAMES,
    local_name,
    metadata_of,
    split_names,
)

log = logging.getLogger(__name__)


def group_link(project: str, region: str, name: str) -> str:
    """A regional managed instance group's instance group, as a backend names it."""
    return f"projects/{project}/regions/{region}/instanceGroups/{name}"


def set_traffic(ops: GceOps, account: str, region: str, name: str, *, disable: bool) -> None:
    """Disable (or enable) the group ``name``; a missing group, or one already so, is left alone."""
    verb = "disabling" if disable else "enabling"
    mig = ops.mig(account, region, name)
    if mig is None:
        log.info("%s %s in %s/%s: no such group", verb, name, account, region)
        return
    metadata = metadata_of(ops.template(account, mig.instance_template))
    changed = set_backends(ops, account, region, name, metadata, leave=disable)
    current = [resource_path(p) for p in mig.target_pools]
    wanted: list[str] = []
    if not disable:
        names = split_names(metadata.get(REGIONAL_LOAD_BALANCER_NAMES))
        wanted = list(dict.fromkeys([*current, *_pools_of_rules(ops, account, region, names)]))
    if wanted == current:
        log.info(
            "%s %s in %s/%s: target pools unchanged (%d backend services changed)", verb, name, account, region, changed
        )
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


# ---- backend services (HTTP(S) and internal load balancers) ------------------------------------------------------


def set_backends(ops: GceOps, account: str, region: str, name: str, metadata: dict[str, str], *, leave: bool) -> int:
    """Take the group's instance group out of (``leave``) or put it in the backend services ``metadata`` (its
    template's) names; returns how many services changed."""
    link = group_link(ops.project(account, region), region, name)
    changed = 0
    global_names = split_names(metadata.get(BACKEND_SERVICE_NAMES))
    if global_names:  # leaving needs only the group: a policy the metadata garbled never blocks a disable
        policy = None if leave else load_balancing_policy(metadata.get(LOAD_BALANCING_POLICY), LOAD_BALANCING_POLICY)
        backend = compute_v1.Backend(group=link) if policy is None else backend_from_policy(policy, link)
        for service in global_names:
            changed += _change_backend(ops, account, None, service, backend, leave=leave)
    for service in split_names(metadata.get(REGION_BACKEND_SERVICE_NAMES)):
        backend = compute_v1.Backend(group=link, balancing_mode="CONNECTION")
        changed += _change_backend(ops, account, region, service, backend, leave=leave)
    return changed


def _service(ops: GceOps, account: str, region: str | None, service: str) -> compute_v1.BackendService | None:
    kind = "region_backend_services" if region else "backend_services"
    where = {"project": ops.project(account)} | ({"region": region} if region else {})
    try:
        with gce_call(f"reading backend service {service} in {account}" + (f"/{region}" if region else "")):
            found: compute_v1.BackendService = ops.client(account, kind).get(
                **where, backend_service=service, **ops.read
            )
            return found
    except NotFoundCloudError:
        return None


def _change_backend(
    ops: GceOps, account: str, region: str | None, service_name: str, backend: compute_v1.Backend, *, leave: bool
) -> int:
    """One backend service: the group's backend removed (every one naming its instance group) or added once."""
    where = f"{account}/{region}" if region else account
    service = _service(ops, account, region, service_name)
    if service is None:
        log.info("backend service %s in %s is gone: nothing to change", service_name, where)
        return 0
    link = resource_path(backend.group)
    present = any(resource_path(b.group) == link for b in service.backends)
    if present != leave:  # already in (joining) or already out (leaving)
        return 0
    if leave:
        service.backends = [b for b in service.backends if resource_path(b.group) != link]
    else:
        service.backends = [*service.backends, backend]
    kind = "region_backend_services" if region else "backend_services"
    scope = {"project": ops.project(account)} | ({"region": region} if region else {})
    verb = "taking" if leave else "putting"
    ops.act(
        account,
        region,
        f"{verb} {local_name(link)} {'out of' if leave else 'in'} backend service {service_name} in {where}",
        lambda: ops.client(account, kind).update_unary(
            **scope, backend_service=service_name, backend_service_resource=service, timeout=CALL_TIMEOUT_S
        ),
    )
    log.info(
        "%s %s %s backend service %s in %s", verb, local_name(link), "out of" if leave else "in", service_name, where
    )
    return 1


def backends_disabled(
    ops: GceOps, account: str, region: str, mig: compute_v1.InstanceGroupManager, metadata: dict[str, str]
) -> bool | None:
    """Clouddriver's disabled state of a group whose template names backend services: it is a backend of none of
    them and (when it has network load balancers too) in no target pool. None when it names no backend service
    (the target pool rule of ``providers/gce_view.py`` alone applies)."""
    global_names = split_names(metadata.get(BACKEND_SERVICE_NAMES))
    regional = split_names(metadata.get(REGION_BACKEND_SERVICE_NAMES))
    if not global_names and not regional:
        return None
    link = group_link(ops.project(account, region), region, mig.name)
    for service_region, names in ((None, global_names), (region, regional)):
        for name in names:
            service = _service(ops, account, service_region, name)
            if service is not None and any(resource_path(b.group) == link for b in service.backends):
                return False
    return not list(mig.target_pools)


# ---- what a deploy joins ----------------------------------------------------------------------------------------


@dataclass
class BalancingPlan:
    """What a create's load balancers come to: the target pools of its network load balancers, the template's
    load balancing metadata (Clouddriver's keys), and the named ports of its instance group."""

    target_pools: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    named_ports: list[dict[str, Any]] = field(default_factory=list)


def url_map_services(url_map: compute_v1.UrlMap) -> list[str]:
    """The backend services a URL map sends to (``Utils.getBackendServicesFromUrlMap``), its default first."""
    links = [url_map.default_service]
    for matcher in url_map.path_matchers:
        links.append(matcher.default_service)
        links += [r.service for r in matcher.path_rules]
    return list(dict.fromkeys(local_name(link) for link in links if link))


def http_balancers(ops: GceOps, account: str) -> dict[str, list[str]]:
    """The account's HTTP(S) load balancers (a global forwarding rule to a target HTTP(S) proxy, its URL map) by
    name, each with the backend services its URL map sends to."""
    project = ops.project(account)
    with gce_call(f"listing HTTP(S) load balancers in {account}"):
        rules = list(ops.client(account, "global_forwarding_rules").list(project=project, **ops.read))
        rules = [r for r in rules if "/targetHttpProxies/" in r.target or "/targetHttpsProxies/" in r.target]
        if not rules:
            return {}
        proxies = {
            resource_path(p.self_link): p
            for kind in ("target_http_proxies", "target_https_proxies")
            for p in ops.client(account, kind).list(project=project, **ops.read)
        }
        maps = {
            resource_path(m.self_link): m for m in ops.client(account, "url_maps").list(project=project, **ops.read)
        }
    found: dict[str, list[str]] = {}
    for rule in rules:
        proxy = proxies.get(resource_path(rule.target))
        url_map = maps.get(resource_path(proxy.url_map)) if proxy is not None else None
        if url_map is not None:
            found[rule.name] = url_map_services(url_map)
    return found


def plan_load_balancers(ops: GceOps, request: CreateServerGroupRequest) -> BalancingPlan:
    """``getLoadBalancerToUpdateFromInput`` and the backend service parts of ``BasicGoogleDeployHandler``: each
    name of ``loadBalancers`` is a regional forwarding rule (a network load balancer's target pool, or an internal
    one's backend service) or an HTTP(S) load balancer; an unknown name is a NotFoundCloudError. The global backend
    services joined are those the request names (``backendServices``, ``backendServiceMetadata``, the
    ``backend-service-names`` metadata), else each named HTTP(S) balancer's default service."""
    account, region, extra = request.account, request.region, request.extra
    instance_metadata: dict[str, Any] = extra.get("instanceMetadata") or {}
    plan = BalancingPlan()
    regional_names: list[str] = []
    regional_services = split_names(str(instance_metadata.get(REGION_BACKEND_SERVICE_NAMES) or ""))
    http_names: list[str] = []
    balancers: dict[str, list[str]] | None = None
    for name in request.load_balancers:
        rule = _regional_rule(ops, account, region, name)
        if rule is not None:
            regional_names.append(name)
            if "/targetPools/" in rule.target:
                plan.target_pools.append(resource_path(rule.target))
            elif rule.backend_service:
                regional_services.append(local_name(rule.backend_service))
            continue
        if balancers is None:
            balancers = http_balancers(ops, account)
        if name not in balancers:
            raise NotFoundCloudError(f"loadBalancers: {name} not found in {account}/{region}")
        http_names.append(name)
    services = backend_services_asked(extra)
    if http_names and not services and balancers is not None:  # Deck names them; without, the default service
        services = [balancers[n][0] for n in http_names if balancers[n]]
    for service in services:
        if _service(ops, account, None, service) is None:
            raise NotFoundCloudError(f"backendServices: backend service {service} not found in {account}")
    regional_services = list(dict.fromkeys(regional_services))
    for service in regional_services:
        if _service(ops, account, region, service) is None:
            raise NotFoundCloudError(f"loadBalancers: backend service {service} not found in {account}/{region}")
    if regional_names:
        plan.metadata[REGIONAL_LOAD_BALANCER_NAMES] = ",".join(regional_names)
    if services:
        if balancers is None:
            balancers = http_balancers(ops, account)
        using = [n for n, names in balancers.items() if any(s in names for s in services)]
        raw = extra.get("loadBalancingPolicy")
        if not (isinstance(raw, dict) and raw.get("balancingMode")):
            raw = instance_metadata.get(LOAD_BALANCING_POLICY) or raw
        policy = load_balancing_policy(raw)
        plan.metadata[GLOBAL_LOAD_BALANCER_NAMES] = ",".join(dict.fromkeys([*http_names, *using]))
        plan.metadata[BACKEND_SERVICE_NAMES] = ",".join(services)
        plan.metadata[LOAD_BALANCING_POLICY] = json.dumps(policy, separators=(",", ":"))
        plan.named_ports = policy["namedPorts"]
    if regional_services:
        plan.metadata[REGION_BACKEND_SERVICE_NAMES] = ",".join(regional_services)
    plan.target_pools = list(dict.fromkeys(plan.target_pools))
    return plan


def _regional_rule(ops: GceOps, account: str, region: str, name: str) -> compute_v1.ForwardingRule | None:
    try:
        with gce_call(f"looking up load balancer {name} in {account}/{region}"):
            rule: compute_v1.ForwardingRule = ops.client(account, "forwarding_rules").get(
                project=ops.project(account, region), region=region, forwarding_rule=name, **ops.read
            )
            return rule
    except NotFoundCloudError:
        return None

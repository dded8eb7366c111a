"""GCE infrastructure in Clouddriver's shapes: networks, subnetworks and firewall rules (read, and firewall
rules upserted/deleted by name, as ``UpsertGoogleSecurityGroupAtomicOperation`` does).

Networks and firewalls are global: they are read with the account's first region only, so the cache
holds each once. Every write is safe to repeat: an upsert inserts a missing rule or patches an existing
one to the asked-for shape, a delete of a missing rule does nothing.
"""

from __future__ import annotations

from typing import Any

from google.cloud import compute_v1

from .base import InvalidRequestError, NotFoundCloudError
from .gce_errors import gce_call
from .gce_view import epoch_ms, local_name
from .naming import Moniker, NameError_

JSON = dict[str, Any]


def _app(name: str) -> str | None:
    try:
        return Moniker.parse(name).app or None
    except (NameError_, ValueError):
        return None


def _ports(ports: list[str]) -> list[JSON]:
    out = []
    for p in ports or ["0-65535"]:
        start, _, end = str(p).partition("-")
        out.append({"startPort": int(start), "endPort": int(end or start)})
    return out


def firewall_json(account: str, rule: compute_v1.Firewall) -> JSON:
    """Clouddriver's ``GoogleSecurityGroup``: one ``IpRangeRule`` per source range and protocol, and one
    rule per source tag (``sourceTag``), with the network and target tags."""
    rules: list[JSON] = []
    for allowed in rule.allowed:
        protocol, ports = allowed.I_p_protocol, _ports(list(allowed.ports))
        for source in rule.source_ranges:
            ip, _, bits = source.partition("/")
            rules.append({"protocol": protocol, "portRanges": ports, "range": {"ip": ip, "cidr": f"/{bits or 32}"}})
        for tag in rule.source_tags:
            rules.append({"protocol": protocol, "portRanges": ports, "sourceTag": tag})
    app = _app(rule.name)
    return {
        "type": "gce",
        "cloudProvider": "gce",
        "id": rule.name,
        "name": rule.name,
        "description": rule.description or None,
        "network": local_name(rule.network),
        "vpcId": local_name(rule.network),
        "selfLink": rule.self_link,
        "accountName": account,
        "account": account,
        "region": "global",
        "application": app,
        "moniker": {"app": app} if app else {},
        "sourceTags": list(rule.source_tags),
        "targetTags": list(rule.target_tags),
        "sourceRanges": list(rule.source_ranges),
        "inboundRules": rules,
    }


class GceInfraReads:
    """Reads of one GCE cloud (a :class:`~providers.gce.GceCloud`)."""

    cloud_provider = "gce"
    KINDS: dict[str, tuple[str, str]] = {
        "networks": ("networks", "id"),
        "subnets": ("subnets", "id"),
        "securityGroups": ("security_groups", "id"),
        "instanceTypes": ("instance_types", "name"),
    }

    def __init__(self, cloud: Any) -> None:
        self.ops = cloud.ops

    def _global(self, account: str, region: str) -> bool:
        return region == self.ops.clients.account(account).regions[0]

    def networks(self, account: str, region: str) -> list[JSON]:
        if not self._global(account, region):
            return []
        with gce_call(f"listing networks in {account}"):
            found = list(self.ops.client(account, "networks").list(project=self.ops.project(account), **self.ops.read))
        return [
            {
                "cloudProvider": "gce",
                "id": n.name,
                "name": n.name,
                "account": account,
                "region": "global",
                "deprecated": False,
                "autoCreateSubnets": bool(n.auto_create_subnetworks),
                "subnets": [local_name(s) for s in n.subnetworks],
                "selfLink": n.self_link,
            }
            for n in found
        ]

    def subnets(self, account: str, region: str) -> list[JSON]:
        project = self.ops.project(account, region)
        with gce_call(f"listing subnetworks in {account}/{region}"):
            found = list(self.ops.client(account, "subnetworks").list(project=project, region=region, **self.ops.read))
        return [
            {
                "type": "gce",
                "id": s.name,
                "name": s.name,
                "account": account,
                "region": region,
                "availabilityZone": None,
                "vpcId": local_name(s.network),
                "network": local_name(s.network),
                "cidrBlock": s.ip_cidr_range,
                "gatewayAddress": s.gateway_address or None,
                "purpose": s.purpose or "n/a",
                "target": None,
                "selfLink": s.self_link,
            }
            for s in found
        ]

    def instance_types(self, account: str, region: str) -> list[JSON]:
        """The machine types of the region's zones (the account's configured zones, else Compute's list of the
        region's), one item per type with the ``zones`` offering it, as Clouddriver's
        ``locationToInstanceTypesMap`` has them per zone and per region."""
        project = self.ops.project(account, region)
        zones = self.ops.clients.account(account).zones_in(region)
        if not zones:
            with gce_call(f"reading region {region} in {account}"):
                found = self.ops.client(account, "regions").get(project=project, region=region, **self.ops.read)
            zones = [local_name(z) for z in found.zones]
        types: dict[str, JSON] = {}
        for zone in zones:
            with gce_call(f"listing machine types in {account}/{zone}"):
                listed = list(
                    self.ops.client(account, "machine_types").list(project=project, zone=zone, **self.ops.read)
                )
            for machine in listed:
                item = types.setdefault(
                    machine.name,
                    {
                        "cloudProvider": "gce",
                        "name": machine.name,
                        "account": account,
                        "region": region,
                        "zones": [],
                        "vCpus": int(machine.guest_cpus),
                        "memoryMb": int(machine.memory_mb),
                        "isSharedCpu": bool(machine.is_shared_cpu),
                        "description": machine.description or None,
                    },
                )
                item["zones"].append(zone)
        return sorted(types.values(), key=lambda t: t["name"])

    def security_groups(self, account: str, region: str) -> list[JSON]:
        if not self._global(account, region):
            return []
        with gce_call(f"listing firewall rules in {account}"):
            found = list(self.ops.client(account, "firewalls").list(project=self.ops.project(account), **self.ops.read))
        return [firewall_json(account, r) for r in found]


class GceInfraWrites:
    """Firewall rules, by name."""

    def __init__(self, cloud: Any) -> None:
        self.ops = cloud.ops

    def firewall(self, account: str, name: str) -> compute_v1.Firewall | None:
        try:
            with gce_call(f"reading firewall rule {name} in {account}"):
                return self.ops.client(account, "firewalls").get(
                    project=self.ops.project(account), firewall=name, **self.ops.read
                )
        except NotFoundCloudError:
            return None

    def upsert_firewall(self, account: str, spec: JSON) -> JSON:
        """Insert the rule, or patch it to ``spec`` (Deck's ``upsertSecurityGroup`` for GCE)."""
        name = str(spec.get("securityGroupName") or spec.get("name") or "")
        if not name:
            raise InvalidRequestError("securityGroupName: which firewall rule")
        project = self.ops.project(account)
        network = str(spec.get("network") or "default")
        allowed = []
        for i, rule in enumerate(spec.get("allowed") or []):
            if not isinstance(rule, dict) or not rule.get("ipProtocol"):
                raise InvalidRequestError(f"allowed[{i}].ipProtocol: which protocol")
            allowed.append(
                compute_v1.Allowed(
                    I_p_protocol=str(rule["ipProtocol"]), ports=[str(p) for p in rule.get("portRanges") or []]
                )
            )
        body = compute_v1.Firewall(
            name=name,
            description=str(spec.get("description") or ""),
            network=network if "/" in network else f"projects/{project}/global/networks/{network}",
            allowed=allowed,
            source_ranges=[str(r) for r in spec.get("sourceRanges") or []],
            source_tags=[str(t) for t in spec.get("sourceTags") or []],
            target_tags=[str(t) for t in spec.get("targetTags") or []],
        )
        client = self.ops.client(account, "firewalls")
        if self.firewall(account, name) is None:
            self.ops.act(
                account,
                None,
                f"creating firewall rule {name} in {account}",
                lambda: client.insert(project=project, firewall_resource=body, timeout=60),
            )
        else:
            self.ops.act(
                account,
                None,
                f"updating firewall rule {name} in {account}",
                lambda: client.update(project=project, firewall=name, firewall_resource=body, timeout=60),
            )
        found = self.firewall(account, name)
        if found is None:
            raise NotFoundCloudError(f"securityGroupName: {name} vanished after its upsert in {account}")
        return firewall_json(account, found)

    def upsert_image_tags(self, account: str, image_name: str, tags: dict[str, str]) -> JSON:
        """Clouddriver's ``UpsertGoogleImageTagsAtomicOperation``: the image of the account's project gets its
        labels merged with ``tags`` (``images.setLabels`` with the label fingerprint read just before, so a
        concurrent change is a 412, which is retried). Images of the ``image_projects`` are not labelled."""
        project = self.ops.project(account)
        client = self.ops.client(account, "images")
        try:
            with gce_call(f"reading image {image_name} in {project}"):
                image = client.get(project=project, image=image_name, **self.ops.read)
        except NotFoundCloudError:
            raise NotFoundCloudError(f"imageName: image {image_name} not found in project {project}") from None
        labels = dict(image.labels) | tags
        if labels != dict(image.labels):
            request = compute_v1.GlobalSetLabelsRequest(labels=labels, label_fingerprint=image.label_fingerprint)
            self.ops.act(
                account,
                None,
                f"labelling image {image_name} in {project}",
                lambda: client.set_labels(
                    project=project, resource=image_name, global_set_labels_request_resource=request, timeout=60
                ),
            )
        return {"imageName": image_name, "project": project, "labels": labels}

    def delete_firewall(self, account: str, name: str) -> None:
        if self.firewall(account, name) is None:
            return
        client = self.ops.client(account, "firewalls")
        project = self.ops.project(account)
        try:
            self.ops.act(
                account,
                None,
                f"deleting firewall rule {name} in {account}",
                lambda: client.delete(project=project, firewall=name, timeout=60),
            )
        except NotFoundCloudError:
            return


def load_balancers(cloud: Any, account: str, region: str) -> list[JSON]:
    """Every GCE load balancer Gate shows for one region: network and internal ones of the region, and (with the
    account's first region, as firewalls are read) the global HTTP(S) ones, in region ``global``."""
    from .gce_lb_http import http_load_balancers, internal_load_balancers

    ops = cloud.ops
    project = ops.project(account, region)
    with gce_call(f"listing load balancers in {account}/{region}"):
        rules = list(ops.client(account, "forwarding_rules").list(project=project, region=region, **ops.read))
    found = network_load_balancers(cloud, account, region, rules)
    found += internal_load_balancers(cloud, account, region, rules)
    if region == ops.clients.account(account).regions[0]:
        found += http_load_balancers(cloud, account)
    return found


def network_load_balancers(cloud: Any, account: str, region: str, rules: list[Any] | None = None) -> list[JSON]:
    """Clouddriver's GCE network load balancers: a regional forwarding rule and its target pool (instances,
    health checks, session affinity, the pool's legacy HTTP ``healthCheck``), with the server groups that name
    it. ``rules``: the region's forwarding rules, when the caller has listed them."""
    ops = cloud.ops
    project = ops.project(account, region)
    with gce_call(f"listing load balancers in {account}/{region}"):
        if rules is None:
            rules = list(ops.client(account, "forwarding_rules").list(project=project, region=region, **ops.read))
        pools = {
            p.name: p for p in ops.client(account, "target_pools").list(project=project, region=region, **ops.read)
        }
    rules = [r for r in rules if r.load_balancing_scheme != "INTERNAL" and not r.backend_service]
    if not rules:
        return []
    checks: dict[str, JSON] = {}
    if any(p.health_checks for p in pools.values()):
        from .gce_lb_ops import LegacyHttpHealthChecks, legacy_health_check_json

        checks = {c["name"]: legacy_health_check_json(c) for c in LegacyHttpHealthChecks(ops).list(account)}
    groups = cloud.server_groups(account, region)
    out = []
    for rule in rules:
        pool = pools.get(local_name(rule.target)) if "/targetPools/" in rule.target else None
        pool_checks = [local_name(h) for h in pool.health_checks] if pool else []
        app = _app(rule.name)
        out.append(
            {
                "name": rule.name,
                "account": account,
                "region": region,
                "type": "gce",
                "cloudProvider": "gce",
                "loadBalancerType": "NETWORK",
                "ipAddress": rule.I_p_address or None,
                "ipProtocol": rule.I_p_protocol or None,
                "portRange": rule.port_range or None,
                "targetPool": pool.name if pool else local_name(rule.target),
                "sessionAffinity": pool.session_affinity if pool else None,
                "healthChecks": pool_checks,
                "healthCheck": checks.get(pool_checks[0]) if pool_checks else None,
                "createdTime": epoch_ms(rule.creation_timestamp),
                "instances": [local_name(i) for i in pool.instances] if pool else [],
                "moniker": {"app": app} if app else {},
                "listeners": [{"protocol": rule.I_p_protocol or None, "portRange": rule.port_range or None}],
                "serverGroups": [
                    {
                        "name": g.name,
                        "account": account,
                        "region": region,
                        "cloudProvider": "gce",
                        "isDisabled": g.disabled,
                    }
                    for g in groups
                    if rule.name in g.load_balancers
                ],
            }
        )
    return out

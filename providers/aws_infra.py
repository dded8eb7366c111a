"""AWS infrastructure reads in Clouddriver's shapes: VPCs (``/networks``), subnets with their
``immutable_metadata`` purpose (``/subnets``), key pairs, instance types and security groups with
their ingress rules (``AmazonSecurityGroup``: IP ranges and references to other groups).

Each reader takes one account and region and answers plain JSON; the cache refresh stores it and the
routes serve it. The writes are in ``providers/aws_infra_ops.py``.
"""

from __future__ import annotations

from typing import Any

from .aws_deploy import subnet_purpose
from .aws_errors import aws_call
from .aws_view import tags_of
from .naming import Moniker, NameError_

JSON = dict[str, Any]


def _app(name: str) -> str | None:
    """The application a resource belongs to by Frigga naming (``myapp-prod`` → ``myapp``)."""
    try:
        return Moniker.parse(name).app or None
    except (NameError_, ValueError):
        return None


class AwsInfraReads:
    """Reads of one AWS cloud (an :class:`~providers.aws.AwsCloud`)."""

    cloud_provider = "aws"
    #: the cached kinds, each to the reader that fills it and the field that keys an item within its region
    KINDS: dict[str, tuple[str, str]] = {
        "networks": ("networks", "id"),
        "subnets": ("subnets", "id"),
        "keyPairs": ("key_pairs", "keyName"),
        "instanceTypes": ("instance_types", "name"),
        "securityGroups": ("security_groups", "id"),
    }

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud

    def _ec2(self, account: str, region: str) -> Any:
        return self.cloud._client(account, region, "ec2")  # noqa: SLF001 - the cloud's own client cache

    def networks(self, account: str, region: str) -> list[JSON]:
        with aws_call(f"listing VPCs in {account}/{region}"):
            vpcs = self._ec2(account, region).describe_vpcs()["Vpcs"]
        return [
            {
                "cloudProvider": "aws",
                "id": v["VpcId"],
                "name": tags_of(v).get("Name") or None,
                "account": account,
                "region": region,
                "deprecated": False,
                "default": bool(v.get("IsDefault")),
                "cidrBlock": v.get("CidrBlock"),
            }
            for v in vpcs
        ]

    def subnets(self, account: str, region: str) -> list[JSON]:
        with aws_call(f"listing subnets in {account}/{region}"):
            found = self._ec2(account, region).describe_subnets()["Subnets"]
        out = []
        for s in found:
            purpose, target = subnet_purpose(s)
            out.append(
                {
                    "type": "aws",
                    "id": s["SubnetId"],
                    "state": s.get("State"),
                    "vpcId": s.get("VpcId"),
                    "cidrBlock": s.get("CidrBlock"),
                    "availableIpAddressCount": s.get("AvailableIpAddressCount"),
                    "account": account,
                    "accountId": s.get("OwnerId"),
                    "region": region,
                    "availabilityZone": s.get("AvailabilityZone"),
                    "purpose": purpose,
                    "target": target,
                    "deprecated": False,
                }
            )
        return out

    def key_pairs(self, account: str, region: str) -> list[JSON]:
        with aws_call(f"listing key pairs in {account}/{region}"):
            pairs = self._ec2(account, region).describe_key_pairs()["KeyPairs"]
        return [
            {
                "cloudProvider": "aws",
                "account": account,
                "region": region,
                "keyName": p["KeyName"],
                "keyFingerprint": p.get("KeyFingerprint"),
            }
            for p in pairs
        ]

    def instance_types(self, account: str, region: str) -> list[JSON]:
        ec2 = self._ec2(account, region)
        with aws_call(f"listing instance types in {account}/{region}"):
            names = [
                o["InstanceType"]
                for page in ec2.get_paginator("describe_instance_type_offerings").paginate()
                for o in page["InstanceTypeOfferings"]
            ]
        return [{"cloudProvider": "aws", "name": n, "account": account, "region": region} for n in sorted(set(names))]

    def security_groups(self, account: str, region: str) -> list[JSON]:
        with aws_call(f"listing security groups in {account}/{region}"):
            groups = [
                g
                for page in self._ec2(account, region).get_paginator("describe_security_groups").paginate()
                for g in page["SecurityGroups"]
            ]
        by_id = {g["GroupId"]: g for g in groups}
        return [security_group_json(account, region, g, by_id) for g in groups]


def _ranges(permission: JSON) -> list[JSON]:
    start, end = permission.get("FromPort"), permission.get("ToPort")
    if start is None or permission.get("IpProtocol") == "-1":
        return [{"startPort": 0, "endPort": 65535}]
    return [{"startPort": start, "endPort": end}]


def _protocol(permission: JSON) -> str:
    value = str(permission.get("IpProtocol") or "-1")
    return "-1" if value == "-1" else value.lower()


def security_group_json(account: str, region: str, group: JSON, by_id: dict[str, JSON]) -> JSON:
    """Clouddriver's ``AmazonSecurityGroup``: ``inboundRules`` are ``SecurityGroupRule`` (another group,
    named and linked) or ``IpRangeRule`` (``range: {ip, cidr}``), one per protocol and port range."""
    rules: list[JSON] = []
    for permission in group.get("IpPermissions") or []:
        protocol, ports = _protocol(permission), _ranges(permission)
        for pair in permission.get("UserIdGroupPairs") or []:
            other = by_id.get(pair.get("GroupId", ""), {})
            rules.append(
                {
                    "protocol": protocol,
                    "portRanges": ports,
                    "securityGroup": {
                        "type": "aws",
                        "id": pair.get("GroupId"),
                        "name": other.get("GroupName") or pair.get("GroupName"),
                        "vpcId": other.get("VpcId") or pair.get("VpcId"),
                        "accountName": account,
                        "accountId": pair.get("UserId"),
                        "region": region,
                    },
                }
            )
        for ip in permission.get("IpRanges") or []:
            address, _, bits = str(ip.get("CidrIp") or "").partition("/")
            rules.append({"protocol": protocol, "portRanges": ports, "range": {"ip": address, "cidr": f"/{bits}"}})
    name = group["GroupName"]
    app = _app(name)
    return {
        "type": "aws",
        "cloudProvider": "aws",
        "id": group["GroupId"],
        "name": name,
        "description": group.get("Description"),
        "vpcId": group.get("VpcId"),
        "accountName": account,
        "account": account,
        "accountId": group.get("OwnerId"),
        "region": region,
        "application": app,
        "moniker": {"app": app} if app else {},
        "tags": tags_of(group),
        "inboundRules": rules,
    }


def classic_load_balancers(elb: Any, account: str, region: str, groups: list[Any]) -> list[JSON]:
    """Clouddriver's classic ELB (``AmazonLoadBalancer`` of type classic): listeners, the health check, and
    the server groups in it (``groups``: the region's :class:`~providers.base.ServerGroup` objects)."""
    with aws_call(f"listing classic load balancers in {account}/{region}"):
        described = [
            d
            for page in elb.get_paginator("describe_load_balancers").paginate()
            for d in page["LoadBalancerDescriptions"]
        ]
    out = []
    for d in described:
        name = d["LoadBalancerName"]
        health = d.get("HealthCheck") or {}
        behind = [
            {"name": g.name, "account": account, "region": region, "cloudProvider": "aws", "isDisabled": g.disabled}
            for g in groups
            if name in g.load_balancers
        ]
        app = _app(name)
        out.append(
            {
                "name": name,
                "account": account,
                "region": region,
                "type": "aws",
                "cloudProvider": "aws",
                "loadBalancerType": "classic",
                "dnsname": d.get("DNSName"),
                "vpcId": d.get("VPCId"),
                "availabilityZones": list(d.get("AvailabilityZones") or []),
                "subnets": list(d.get("Subnets") or []),
                "securityGroups": list(d.get("SecurityGroups") or []),
                "scheme": d.get("Scheme"),
                "moniker": {"app": app} if app else {},
                "listeners": [
                    {
                        "externalProtocol": ld["Listener"]["Protocol"],
                        "externalPort": ld["Listener"]["LoadBalancerPort"],
                        "internalProtocol": ld["Listener"].get("InstanceProtocol"),
                        "internalPort": ld["Listener"]["InstancePort"],
                    }
                    for ld in d.get("ListenerDescriptions") or []
                ],
                "healthCheck": {
                    "target": health.get("Target"),
                    "interval": health.get("Interval"),
                    "timeout": health.get("Timeout"),
                    "healthyThreshold": health.get("HealthyThreshold"),
                    "unhealthyThreshold": health.get("UnhealthyThreshold"),
                },
                "instances": [i["InstanceId"] for i in d.get("Instances") or []],
                "serverGroups": behind,
            }
        )
    return out

"""Clouddriver's documents as Gate serves them: clusters, server groups, load balancers, images, instances,
search results, networks, security groups, account details and Kubernetes manifests.

They describe what the cloud cache holds (each provider writes its own keys besides these), so every field a
provider may leave out is optional, and every key a provider adds is kept.
"""

from __future__ import annotations

from typing import Any

from .base import SpinnakerDocument

Json = dict[str, Any]


class Moniker(SpinnakerDocument):
    """Frigga's name parts: ``app-stack-detail-v001``."""

    app: str | None = None
    stack: str | None = None
    detail: str | None = None
    cluster: str | None = None
    sequence: int | None = None


class Capacity(SpinnakerDocument):
    min: int | None = None
    max: int | None = None
    desired: int | None = None


class InstanceSummary(SpinnakerDocument):
    """An instance inside a server group, with its health."""

    id: str
    name: str | None = None
    availability_zone: str | None = None
    health_state: str | None = None
    launch_time: int | None = None
    private_ip_address: str | None = None


class ServerGroup(SpinnakerDocument):
    """One server group (an AWS Auto Scaling group, a GCE managed instance group)."""

    name: str
    account: str
    region: str
    cluster: str
    type: str | None = None
    cloud_provider: str | None = None
    moniker: Moniker | None = None
    created_time: int | None = None
    is_disabled: bool | None = None
    capacity: Capacity | None = None
    instances: list[InstanceSummary] | None = None
    instance_counts: dict[str, int] | None = None
    zones: list[str] | None = None
    image: Json | None = None
    instance_type: str | None = None
    load_balancers: list[str] | None = None
    target_groups: list[str] | None = None
    security_groups: list[str] | None = None
    tags: Json | None = None
    launch_config: Json | None = None


class ClusterBase(SpinnakerDocument):
    """One cluster name in one account, as Gate gathers server groups into clusters."""

    name: str
    account: str
    account_name: str
    type: str
    moniker: Moniker
    load_balancers: list[str]


class Cluster(ClusterBase):
    """A cluster with its server groups whole (``/clusters/{account}/{cluster}``)."""

    server_groups: list[ServerGroup]


class ClusterSummary(ClusterBase):
    """A cluster of an account with its server groups named, not shown (``/clusters/{account}``)."""

    server_groups: list[str]


class LoadBalancer(SpinnakerDocument):
    name: str
    account: str | None = None
    region: str | None = None
    type: str | None = None
    cloud_provider: str | None = None
    load_balancer_type: str | None = None
    dnsname: str | None = None
    created_time: int | None = None
    availability_zones: list[str] | None = None
    subnets: list[str] | None = None
    moniker: Moniker | None = None
    listeners: list[Json] | None = None
    target_groups: list[Json] | None = None
    server_groups: list[Json] | None = None


class Image(SpinnakerDocument):
    """A machine image (``/images/find``)."""

    image_id: str | None = None
    image_name: str | None = None
    region: str | None = None
    account: str | None = None
    creation_date: int | None = None
    tags: Json | None = None


class Instance(InstanceSummary):
    """One instance with where it runs (``/instances/{account}/{region}/{id}``)."""

    account: str
    region: str
    server_group: str
    cluster: str
    cloud_provider: str | None = None


class SearchResult(SpinnakerDocument):
    """One hit; which of the naming fields are present depends on the search ``type``."""

    type: str
    provider: str
    account: str | None = None
    region: str | None = None
    application: str | None = None
    cluster: str | None = None
    server_group: str | None = None
    instance_id: str | None = None
    load_balancer: str | None = None


class SearchResults(SpinnakerDocument):
    """One page of Gate's search (``GET /search`` answers a list of one)."""

    page_number: int
    page_size: int
    platform: str
    query: str
    results: list[SearchResult]
    total_matches: int


class Network(SpinnakerDocument):
    """A network (VPC), subnet, instance type or key pair: each provider's fields, with where it is."""

    name: str | None = None
    id: str | None = None
    account: str | None = None
    region: str | None = None
    cloud_provider: str | None = None


class SecurityGroupSummary(SpinnakerDocument):
    name: str | None = None
    id: str | None = None
    vpc_id: str | None = None


class SecurityGroup(SpinnakerDocument):
    """A whole security group (firewall) with its ``inboundRules``."""

    name: str
    id: str | None = None
    type: str | None = None
    cloud_provider: str | None = None
    description: str | None = None
    vpc_id: str | None = None
    account: str | None = None
    account_name: str | None = None
    account_id: str | None = None
    region: str | None = None
    application: str | None = None
    moniker: Moniker | None = None
    tags: Json | None = None
    inbound_rules: list[Json] | None = None


#: ``{cloudProvider: {region: [summary]}}``
SecurityGroupsByRegion = dict[str, dict[str, list[SecurityGroupSummary]]]


class Region(SpinnakerDocument):
    name: str


class AccountDetails(SpinnakerDocument):
    """Clouddriver's ``AccountDetails`` without secrets; ``authorized``: the caller may WRITE to it."""

    name: str
    type: str
    cloud_provider: str
    account_type: Any = None  # as the account's settings give them (the name when they do not)
    environment: Any = None
    regions: list[Region]
    permissions: Json
    required_group_membership: list[Any]
    authorized: bool


class ManifestMoniker(SpinnakerDocument):
    app: str | None
    cluster: str | None
    sequence: int | None = None


class StatusFlag(SpinnakerDocument):
    state: bool
    message: str | None = None


class ManifestStatus(SpinnakerDocument):
    """Clouddriver's manifest status: is it ``stable``, ``failed``, ``paused``, ``available`` (and why not)."""

    stable: StatusFlag
    failed: StatusFlag
    paused: StatusFlag
    available: StatusFlag


class Manifest(SpinnakerDocument):
    """One Kubernetes object as Clouddriver shows it (``GET /manifests/{account}/{location}/{name}``)."""

    account: str
    location: str
    name: str
    moniker: ManifestMoniker
    manifest: Json
    status: ManifestStatus
    artifacts: list[Json]
    events: list[Json]
    metrics: list[Json]
    warnings: list[Json]


__all__ = [
    "AccountDetails",
    "Cluster",
    "ClusterSummary",
    "Image",
    "Instance",
    "LoadBalancer",
    "Manifest",
    "Network",
    "SearchResults",
    "SecurityGroup",
    "SecurityGroupSummary",
    "SecurityGroupsByRegion",
    "ServerGroup",
]

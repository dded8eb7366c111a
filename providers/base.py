"""The narrow interface every server-group cloud implements (Clouddriver's, for AWS and GCE), and the
plain objects that cross it. Kubernetes manifests have their own interface (``providers/kubernetes.py``).

Calls are blocking (boto3 and google-cloud-compute are), so activities run them in threads. Every
mutating call is safe to repeat: creating a server group whose name exists returns the existing one
(check, then act; names are chosen before the create, so a retry asks for the same name), resizing
to the current size, disabling a disabled group or destroying a missing one does nothing.

Errors: :class:`CloudError` and its subclasses, one tree for every cloud; activities turn
``ThrottledError``/``TransientCloudError`` into retries and the others into a TERMINAL stage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from core.errors import ProviderError

from .naming import Moniker


class CloudError(ProviderError):
    """A cloud call failed; the message says which call and why (never credentials)."""

    #: the cloud's own codes for the failure (Compute's error reasons), so callers match codes, not words
    reasons: frozenset[str] = frozenset()


class TransientCloudError(CloudError):
    """Worth retrying: a timeout, a 5xx, a connection reset."""


class ThrottledError(TransientCloudError):
    """The cloud asked us to slow down (RequestLimitExceeded, 429, rateLimitExceeded)."""


class NotFoundCloudError(CloudError):
    """The account, region, image or server group does not exist."""


class InvalidRequestError(CloudError):
    """The request cannot succeed as given (bad instance type, unknown subnet...): do not retry."""


@dataclass
class Capacity:
    min: int = 1
    max: int = 1
    desired: int = 1

    def to_json(self) -> dict[str, int]:
        return asdict(self)


#: Spinnaker's instance health states, as Deck counts them
UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN = "Up", "Down", "Starting", "OutOfService", "Unknown"


@dataclass
class Instance:
    id: str
    zone: str | None = None
    health_state: str = UNKNOWN
    launch_time_ms: int | None = None
    private_ip: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.id,
            "availabilityZone": self.zone,
            "healthState": self.health_state,
            "launchTime": self.launch_time_ms,
            "privateIpAddress": self.private_ip,
        }


@dataclass
class ServerGroup:
    """One server group (an AWS Auto Scaling group, a GCE managed instance group) as Clouddriver shows it."""

    name: str
    account: str
    region: str
    cloud_provider: str
    created_ms: int
    capacity: Capacity
    disabled: bool = False
    instances: list[Instance] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)
    image_id: str | None = None
    image_name: str | None = None
    instance_type: str | None = None
    load_balancers: list[str] = field(default_factory=list)
    target_groups: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    #: the provider's own description (launch template, instance template), for clones and rollbacks
    launch_config: dict[str, Any] = field(default_factory=dict)
    #: GCE: Clouddriver's ``autoscalingPolicy`` of the autoscaler targeting the group (None: no autoscaler)
    autoscaling_policy: dict[str, Any] | None = None

    @property
    def moniker(self) -> Moniker:
        return Moniker.parse(self.name)

    @property
    def cluster(self) -> str:
        return self.moniker.cluster

    def healthy_count(self, *, platform_only: bool = False) -> int:
        """Instances Up. ``platform_only`` (Spinnaker's "consider only cloud provider health") also counts
        those no load balancer reports on (Unknown) or that are still in their first minutes (Starting)."""
        counted = (UP, UNKNOWN, STARTING) if platform_only else (UP,)
        return sum(1 for i in self.instances if i.health_state in counted)

    def to_json(self) -> dict[str, Any]:
        """Gate's server group shape (the fields Deck and pipelines read)."""
        moniker = self.moniker
        return {
            "name": self.name,
            "type": self.cloud_provider,
            "cloudProvider": self.cloud_provider,
            "account": self.account,
            "region": self.region,
            "cluster": moniker.cluster,
            "moniker": moniker.to_json(),
            "createdTime": self.created_ms,
            "isDisabled": self.disabled,
            "capacity": self.capacity.to_json(),
            "instances": [i.to_json() for i in self.instances],
            "instanceCounts": instance_counts(self.instances),
            "zones": list(self.zones),
            "image": {"imageId": self.image_id, "name": self.image_name} if self.image_id else None,
            "buildInfo": {},
            "instanceType": self.instance_type,
            "loadBalancers": list(self.load_balancers),
            "targetGroups": list(self.target_groups),
            "securityGroups": list(self.security_groups),
            "tags": dict(self.tags),
            "launchConfig": dict(self.launch_config),
        } | ({"autoscalingPolicy": dict(self.autoscaling_policy)} if self.autoscaling_policy is not None else {})


def instance_counts(instances: list[Instance]) -> dict[str, int]:
    counts = {"total": len(instances), "up": 0, "down": 0, "starting": 0, "outOfService": 0, "unknown": 0}
    key = {UP: "up", DOWN: "down", STARTING: "starting", OUT_OF_SERVICE: "outOfService"}
    for instance in instances:
        counts[key.get(instance.health_state, "unknown")] += 1
    return counts


@dataclass
class Image:
    id: str
    name: str
    region: str
    created_ms: int | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "imageId": self.id,
            "imageName": self.name,
            "region": self.region,
            "creationDate": self.created_ms,
            "tags": dict(self.tags),
        }


@dataclass
class CreateServerGroupRequest:
    """What a deploy asks for. ``name`` is chosen before the call (``Moniker.next_name``), so that a
    retried create asks for the same group and finds it."""

    name: str
    account: str
    region: str
    image_id: str
    capacity: Capacity
    instance_type: str = "t3.micro"
    zones: list[str] = field(default_factory=list)
    load_balancers: list[str] = field(default_factory=list)
    target_groups: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)
    subnet_type: str | None = None
    key_pair: str | None = None
    user_data: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    #: provider fields from the stage's cluster JSON that have no field above (kept, not interpreted here)
    extra: dict[str, Any] = field(default_factory=dict)


class ServerGroupCloud(Protocol):
    """One cloud (``aws``, ``gce``) across its configured accounts."""

    cloud_provider: str

    def accounts(self) -> list[str]: ...

    def regions(self, account: str) -> list[str]: ...

    def server_groups(self, account: str, region: str, cluster: str | None = None) -> list[ServerGroup]:
        """Every server group of the cluster (all, when None) in one account and region, oldest first."""
        ...

    def server_group(self, account: str, region: str, name: str) -> ServerGroup | None: ...

    def create_server_group(self, request: CreateServerGroupRequest) -> ServerGroup: ...

    def resize(self, account: str, region: str, name: str, capacity: Capacity) -> None: ...

    def disable(self, account: str, region: str, name: str) -> None:
        """Take the group out of service: out of its load balancers / target groups, scaling suspended."""
        ...

    def enable(self, account: str, region: str, name: str) -> None: ...

    def destroy(self, account: str, region: str, name: str) -> None: ...

    def find_images(
        self, account: str, region: str, *, package: str | None = None, tags: dict[str, str] | None = None
    ) -> list[Image]:
        """Images whose name starts with ``package`` and that carry ``tags``, newest first."""
        ...


@runtime_checkable
class PercentageDisableCloud(Protocol):
    """A cloud that can take part of a group out of service (Clouddriver's disable with ``desiredPercentage``,
    which rolling red/black sends at each step). AWS has it; a cloud without it disables whole groups only."""

    def disable_percentage(self, account: str, region: str, name: str, desired_percentage: int) -> list[str]:
        """Deregister the group's serving instances until ``desired_percentage`` of them are out of service;
        return the instances deregistered."""
        ...


@runtime_checkable
class PreviousImageCloud(Protocol):
    """A cloud that can tell the image a group ran before its current one (an AWS group's launch template
    versions), for the ``PREVIOUS_IMAGE`` rollback when the stage names no image."""

    def previous_image(self, account: str, region: str, name: str) -> str | None: ...

"""What a create sends: the instance template and the regional managed instance group, built as
Clouddriver's ``BasicGoogleDeployHandler`` builds them (pure functions, no calls).

- The template is named ``<server group>-<last 8 digits of the epoch milliseconds>`` and carries the
  labels ``spinnaker-server-group``/``spinnaker-region`` and the moniker labels
  (``GoogleLabeledResourceNamer``): the label is how a retried create finds the template an
  interrupted one left behind.
- User data (``key=value`` lines or comma-separated pairs) becomes metadata entries, with the raw text
  under ``customUserData`` (``GoogleUserDataProvider``); the regional load balancers the group serves
  are listed in the ``load-balancer-names`` metadata, which enable reads back.
- The group: ``baseInstanceName`` = its name, ``targetSize`` = the desired capacity, the target pools
  of its network load balancers (none with ``disableTraffic``), zones as a distribution policy.

Provider fields read from ``CreateServerGroupRequest.extra`` (Deck's GCE cluster JSON): ``network``,
``subnet``, ``associatePublicIpAddress``, ``disks`` (the first is the boot disk: ``type``,
``sizeGb``), ``instanceMetadata``, ``labels``, ``tags`` (network tags), ``disableTraffic``,
``autoHealingPolicy`` (``healthCheck``, ``initialDelaySec``).
"""

from __future__ import annotations

import re
from typing import Any

from google.cloud import compute_v1

from .base import CreateServerGroupRequest, InvalidRequestError
from .gce_view import REGION_LABEL, REGIONAL_LOAD_BALANCER_NAMES, SERVER_GROUP_LABEL
from .naming import Moniker

#: a GCE resource name (RFC 1035 label): what a server group name must be here
RESOURCE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL = re.compile(r"^[a-z][-_a-z0-9]{0,62}$")
_LABEL_VALUE = re.compile(r"^[-_a-z0-9]{0,63}$")
MAX_NAME = 63
#: ``BasicGoogleDeployHandler.TEMPLATE_UUID_SIZE``
TEMPLATE_SUFFIX_SIZE = 8
MONIKER_PREFIX = "spinnaker-moniker-"
DEFAULT_DISK = {"type": "pd-standard", "sizeGb": 10}


def check_name(name: str) -> None:
    if not RESOURCE_NAME.match(name):
        raise InvalidRequestError(
            f"serverGroupName: {name!r} is not a GCE resource name (lowercase letters, digits and '-', "
            "starting with a letter, at most 63 characters)"
        )


def template_name(group: str, epoch_ms: int) -> str:
    name = f"{group}-{str(epoch_ms)[-TEMPLATE_SUFFIX_SIZE:]}"
    if len(name) > MAX_NAME:
        raise InvalidRequestError(f"serverGroupName: instance template name {name} is longer than {MAX_NAME}")
    return name


def user_data_metadata(user_data: str | None) -> dict[str, str]:
    """``GoogleUserDataProvider``: the raw text as ``customUserData`` plus its ``key=value`` pairs."""
    if not user_data:
        return {}
    pairs: dict[str, str] = {"customUserData": user_data}
    for line in re.split(r"\n|,", user_data):
        if not line.strip():
            continue
        key, _, value = line.partition("=")
        pairs[key] = value
    return pairs


def labels_for(request: CreateServerGroupRequest) -> dict[str, str]:
    """The template's labels: the cluster's own, then Clouddriver's (which win)."""
    given = {**request.tags, **(request.extra.get("labels") or {})}
    bad = [k for k, v in given.items() if not _LABEL.match(str(k)) or not _LABEL_VALUE.match(str(v))]
    if bad:
        raise InvalidRequestError(
            f"labels: {sorted(bad)} are not GCE labels (lowercase letters, digits, '-' and '_', at most 63)"
        )
    moniker = Moniker.parse(request.name)
    labels = {str(k): str(v) for k, v in given.items()}
    for part, value in (
        ("application", moniker.app),
        ("cluster", moniker.cluster),
        ("stack", moniker.stack),
        ("detail", moniker.detail),
    ):
        if value:
            labels.setdefault(MONIKER_PREFIX + part, value.lower())
    if moniker.sequence is not None:
        labels[MONIKER_PREFIX + "sequence"] = str(moniker.sequence)
    labels[REGION_LABEL] = request.region
    labels[SERVER_GROUP_LABEL] = request.name
    return labels


def metadata_for(request: CreateServerGroupRequest) -> dict[str, str]:
    extra: dict[str, Any] = request.extra.get("instanceMetadata") or {}
    metadata = {str(k): str(v) for k, v in extra.items()}
    metadata |= user_data_metadata(request.user_data)
    if request.load_balancers:
        metadata[REGIONAL_LOAD_BALANCER_NAMES] = ",".join(request.load_balancers)
    return metadata


def instance_template(
    request: CreateServerGroupRequest, name: str, image_link: str, project: str
) -> compute_v1.InstanceTemplate:
    extra = request.extra
    disk = {**DEFAULT_DISK, **((extra.get("disks") or [{}])[0] or {})}
    network = str(extra.get("network") or "default")
    interface: dict[str, Any] = {"network": f"projects/{project}/global/networks/{network}"}
    if extra.get("subnet"):
        interface["subnetwork"] = f"projects/{project}/regions/{request.region}/subnetworks/{extra['subnet']}"
    if extra.get("associatePublicIpAddress", True):
        interface["access_configs"] = [{"name": "External NAT", "type_": "ONE_TO_ONE_NAT"}]
    properties: dict[str, Any] = {
        "machine_type": request.instance_type,
        "disks": [
            {
                "boot": True,
                "auto_delete": True,
                "type_": "PERSISTENT",
                "initialize_params": {
                    "source_image": image_link,
                    "disk_type": str(disk["type"]),
                    "disk_size_gb": int(disk["sizeGb"]),
                },
            }
        ],
        "network_interfaces": [interface],
        "metadata": {"items": [{"key": k, "value": v} for k, v in metadata_for(request).items()]},
        "labels": labels_for(request),
    }
    if extra.get("tags"):
        properties["tags"] = {"items": [str(t) for t in extra["tags"]]}
    return compute_v1.InstanceTemplate(
        name=name, description=f"Server group {request.name} (Gennaker)", properties=properties
    )


def instance_group_manager(
    request: CreateServerGroupRequest, template_link: str, target_pools: list[str], zones: list[str], project: str
) -> compute_v1.InstanceGroupManager:
    body: dict[str, Any] = {
        "name": request.name,
        "base_instance_name": request.name,
        "instance_template": template_link,
        "target_size": request.capacity.desired,
        "target_pools": [] if request.extra.get("disableTraffic") else target_pools,
    }
    if zones:
        body["distribution_policy"] = {"zones": [{"zone": f"projects/{project}/zones/{z}"} for z in zones]}
    healing = request.extra.get("autoHealingPolicy") or {}
    if healing.get("healthCheck"):
        body["auto_healing_policies"] = [
            {
                "health_check": f"projects/{project}/global/healthChecks/{healing['healthCheck']}",
                "initial_delay_sec": int(healing.get("initialDelaySec") or 300),
            }
        ]
    return compute_v1.InstanceGroupManager(body)

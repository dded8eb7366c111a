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
  of its network load balancers (none with ``disableTraffic``), zones as a distribution policy, and (when it
  joins backend services) the named ports of its load balancing policy.
- Backend services (HTTP(S) and internal load balancers, ``providers/gce_traffic.py``): the template records
  them as Clouddriver does, in the ``backend-service-names``, ``global-load-balancer-names``,
  ``region-backend-service-names`` and ``load-balancing-policy`` (Clouddriver's ``GoogleHttpLoadBalancingPolicy``
  as JSON) metadata, which enable reads back.

Provider fields read from ``CreateServerGroupRequest.extra`` (Deck's GCE cluster JSON): ``network``,
``subnet``, ``associatePublicIpAddress``, ``disks`` (the first is the boot disk: ``type``,
``sizeGb``), ``instanceMetadata``, ``labels``, ``tags`` (network tags), ``disableTraffic``,
``autoHealingPolicy`` (``healthCheck``, ``initialDelaySec``), ``backendServices`` (Deck's map of an HTTP(S)
balancer's name to the backend services the group joins), ``backendServiceMetadata`` (their names as a list),
``loadBalancingPolicy`` (``balancingMode, maxUtilization, maxRatePerInstance, maxConnectionsPerInstance,
capacityScaler, namedPorts``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from google.cloud import compute_v1

from .base import CreateServerGroupRequest, InvalidRequestError
from .gce_view import BACKEND_SERVICE_NAMES, REGION_LABEL, REGIONAL_LOAD_BALANCER_NAMES, SERVER_GROUP_LABEL
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
#: Clouddriver's policy when neither the description nor the metadata has one (``buildLoadBalancerPolicyFromInput``)
DEFAULT_POLICY: dict[str, Any] = {
    "balancingMode": "UTILIZATION",
    "maxUtilization": 0.8,
    "capacityScaler": 1.0,
    "namedPorts": [{"name": "http", "port": 80}],
}
BALANCING_MODES = ("UTILIZATION", "RATE", "CONNECTION")
_POLICY_NUMBERS = ("maxUtilization", "maxRatePerInstance", "maxConnectionsPerInstance", "capacityScaler")


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


def load_balancing_policy(raw: Any, where: str = "loadBalancingPolicy") -> dict[str, Any]:
    """Clouddriver's ``GoogleHttpLoadBalancingPolicy`` from a description (or the JSON of the metadata), checked,
    with its defaults: a missing policy (or one without ``balancingMode``) is :data:`DEFAULT_POLICY`; the
    deprecated ``listeningPort`` becomes the named port ``http``."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InvalidRequestError(f"{where}: not JSON") from None
    if raw is None or (isinstance(raw, dict) and not raw.get("balancingMode")):
        return json.loads(json.dumps(DEFAULT_POLICY))
    if not isinstance(raw, dict):
        raise InvalidRequestError(f"{where}: an object with balancingMode, maxUtilization, capacityScaler, namedPorts")
    mode = str(raw["balancingMode"]).upper()
    if mode not in BALANCING_MODES:
        raise InvalidRequestError(f"{where}.balancingMode: one of {', '.join(BALANCING_MODES)}")
    policy: dict[str, Any] = {"balancingMode": mode}
    for key in _POLICY_NUMBERS:
        if raw.get(key) in (None, ""):
            continue
        try:
            number = float(raw[key])
        except (TypeError, ValueError):
            raise InvalidRequestError(f"{where}.{key}: a number") from None
        if not math.isfinite(number) or number < 0 or (key in ("maxUtilization", "capacityScaler") and number > 1):
            raise InvalidRequestError(f"{where}.{key}: {'0.0 to 1.0' if key != 'maxRatePerInstance' else '>= 0'}")
        policy[key] = number
    if mode == "UTILIZATION":
        policy.setdefault("maxUtilization", 0.8)
    if mode == "RATE" and "maxRatePerInstance" not in policy:
        raise InvalidRequestError(f"{where}.maxRatePerInstance: required with balancingMode RATE")
    if mode == "CONNECTION" and "maxConnectionsPerInstance" not in policy:
        raise InvalidRequestError(f"{where}.maxConnectionsPerInstance: required with balancingMode CONNECTION")
    policy.setdefault("capacityScaler", 1.0)
    ports = raw.get("namedPorts")
    if ports in (None, []) and raw.get("listeningPort") not in (None, ""):
        ports = [{"name": "http", "port": raw["listeningPort"]}]
    if ports in (None, []):
        ports = DEFAULT_POLICY["namedPorts"]
    if not isinstance(ports, list):
        raise InvalidRequestError(f"{where}.namedPorts: a list of {{name, port}}")
    named = []
    for i, port in enumerate(ports):
        try:
            name, number = str(port["name"]), int(port["port"])
        except (KeyError, TypeError, ValueError):
            raise InvalidRequestError(f"{where}.namedPorts[{i}]: {{name, port}} with a whole port number") from None
        if not RESOURCE_NAME.match(name) or not 0 < number < 65536:
            raise InvalidRequestError(f"{where}.namedPorts[{i}]: a port name like 'http' and a port 1-65535")
        named.append({"name": name, "port": number})
    policy["namedPorts"] = named
    return policy


def backend_from_policy(policy: dict[str, Any], group: str) -> compute_v1.Backend:
    """``GCEUtil.backendFromLoadBalancingPolicy``: the limits that belong to the balancing mode, and the group."""
    mode = policy["balancingMode"]
    backend = compute_v1.Backend(group=group, balancing_mode=mode, capacity_scaler=float(policy["capacityScaler"]))
    if mode in ("RATE", "UTILIZATION") and policy.get("maxRatePerInstance") is not None:
        backend.max_rate_per_instance = float(policy["maxRatePerInstance"])
    if mode == "UTILIZATION":
        backend.max_utilization = float(policy["maxUtilization"])
    if mode == "CONNECTION":
        backend.max_connections_per_instance = int(policy["maxConnectionsPerInstance"])
    return backend


def backend_services_asked(extra: dict[str, Any]) -> list[str]:
    """The global backend services a deploy names: Deck's ``backendServices`` map, ``backendServiceMetadata`` and
    the ``backend-service-names`` instance metadata, in that order, each once."""
    names: list[str] = []
    by_balancer = extra.get("backendServices") or {}
    if not isinstance(by_balancer, dict):
        raise InvalidRequestError("backendServices: a map of load balancer name to backend service names")
    for balancer, services in by_balancer.items():
        if not isinstance(services, list):
            raise InvalidRequestError(f"backendServices.{balancer}: a list of backend service names")
        names += [str(s) for s in services]
    listed = extra.get("backendServiceMetadata") or []
    if not isinstance(listed, list):
        raise InvalidRequestError("backendServiceMetadata: a list of backend service names")
    names += [str(s) for s in listed]
    metadata = extra.get("instanceMetadata") or {}
    names += [n.strip() for n in str(metadata.get(BACKEND_SERVICE_NAMES) or "").split(",") if n.strip()]
    return list(dict.fromkeys(names))


def metadata_for(request: CreateServerGroupRequest, balancing: dict[str, str] | None = None) -> dict[str, str]:
    """The template's metadata: the instance metadata, the user data, then the load balancers: with ``balancing``
    (the entries :func:`providers.gce_traffic.plan_load_balancers` worked out) those, else every load balancer
    name in ``load-balancer-names``."""
    extra: dict[str, Any] = request.extra.get("instanceMetadata") or {}
    metadata = {str(k): str(v) for k, v in extra.items()}
    metadata |= user_data_metadata(request.user_data)
    if balancing is not None:
        metadata |= balancing
    elif request.load_balancers:
        metadata[REGIONAL_LOAD_BALANCER_NAMES] = ",".join(request.load_balancers)
    return metadata


def instance_template(
    request: CreateServerGroupRequest,
    name: str,
    image_link: str,
    project: str,
    balancing: dict[str, str] | None = None,
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
        "metadata": {"items": [{"key": k, "value": v} for k, v in metadata_for(request, balancing).items()]},
        "labels": labels_for(request),
    }
    if extra.get("tags"):
        properties["tags"] = {"items": [str(t) for t in extra["tags"]]}
    return compute_v1.InstanceTemplate(
        name=name, description=f"Server group {request.name} (Gennaker)", properties=properties
    )


def instance_group_manager(
    request: CreateServerGroupRequest,
    template_link: str,
    target_pools: list[str],
    zones: list[str],
    project: str,
    named_ports: list[dict[str, Any]] | None = None,
) -> compute_v1.InstanceGroupManager:
    body: dict[str, Any] = {
        "name": request.name,
        "base_instance_name": request.name,
        "instance_template": template_link,
        "target_size": request.capacity.desired,
        "target_pools": [] if request.extra.get("disableTraffic") else target_pools,
    }
    if named_ports:  # the ports backend services send traffic to (``setNamedPortsToInstanceGroup``)
        body["named_ports"] = [{"name": p["name"], "port": int(p["port"])} for p in named_ports]
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

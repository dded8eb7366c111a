"""Clouddriver's Kubernetes caching agents and cache views, for the cloud cache the API reads.

:func:`read_account` lists an account's workloads (ReplicaSets, StatefulSets, DaemonSets, Deployments, Pods,
Services, Ingresses) in the namespaces it covers; :func:`build` (pure, table-tested) turns them into Gate's
documents, as Clouddriver's ``KubernetesServerGroup``, ``KubernetesInstance``, ``KubernetesLoadBalancer`` and
``KubernetesServerGroupManager`` serialize:

* server groups are ReplicaSets, StatefulSets and DaemonSets, named ``"replicaSet web-v001"`` (the kind with a
  lowercase first letter, then the name), their region the namespace; their instances are the Pods they own
  (``ownerReferences``), with Clouddriver's health entries (the Pod's phase, each container's readiness);
* server group managers are Deployments (``"deployment web"``), and a ReplicaSet a Deployment owns names it in
  ``serverGroupManagers``;
* load balancers are Services (their server groups: those whose pod template carries every label of the
  selector) and Ingresses (the server groups of the Services they route to);
* the moniker comes from the ``moniker.spinnaker.io/*`` annotations, else from the name as Frigga reads it (as
  Clouddriver's ``KubernetesManifestAnnotater.getMoniker``), so the application and cluster of a Spinnaker-deployed
  object are those it was deployed with (``deployment web`` for a Deployment's ReplicaSets);
* an account with ``onlySpinnakerManaged: true`` keeps only objects labelled ``app.kubernetes.io/managed-by:
  spinnaker``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .base import InvalidRequestError
from .kubernetes_manifest import ARTIFACT, MANAGED_BY, MONIKER
from .naming import Moniker as FriggaName

if TYPE_CHECKING:
    from .kubernetes import KubernetesCloud

log = logging.getLogger(__name__)
JSON = dict[str, Any]
PROVIDER = "kubernetes"
SERVER_GROUP_KINDS = ("ReplicaSet", "StatefulSet", "DaemonSet")
MANAGER_KINDS = ("Deployment",)
#: every kind the cache reads, with the API version it is read in
READ_KINDS: dict[str, str] = {
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Deployment": "apps/v1",
    "Pod": "v1",
    "Service": "v1",
    "Ingress": "networking.k8s.io/v1",
}
#: the cache kinds this provider fills
CACHE_KINDS = ("serverGroups", "serverGroupManagers", "loadBalancers")
TRAFFIC_LOAD_BALANCERS = "traffic.spinnaker.io/load-balancers"
DEPLOYMENT_REVISION = "deployment.kubernetes.io/revision"
UP, DOWN, STARTING, UNKNOWN, SUCCEEDED, FAILED, OUT_OF_SERVICE = (
    "Up",
    "Down",
    "Starting",
    "Unknown",
    "Succeeded",
    "Failed",
    "OutOfService",
)


def lower_kind(kind: str) -> str:
    """Spinnaker's spelling of a kind: ``replicaSet``."""
    return kind[:1].lower() + kind[1:]


def full_name(kind: str, name: str) -> str:
    """Clouddriver's ``getFullResourceName``: ``"replicaSet web-v001"``."""
    return f"{lower_kind(kind)} {name}"


def epoch_ms(timestamp: Any) -> int | None:
    """A ``creationTimestamp`` (RFC 3339, as the API server writes it) in epoch milliseconds."""
    if isinstance(timestamp, datetime):
        return int(timestamp.timestamp() * 1000)
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:
        return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _meta(obj: JSON) -> JSON:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def moniker_of(obj: JSON) -> JSON:
    """The object's moniker: the ``moniker.spinnaker.io/*`` annotations, else the name as Frigga parses it; a
    ReplicaSet without a ``sequence`` annotation takes its Deployment revision, as Clouddriver does."""
    meta = _meta(obj)
    notes = _map(meta.get("annotations"))
    parsed = FriggaName.parse(str(meta.get("name") or ""))
    out: JSON = {
        "app": notes.get(MONIKER + "application") or parsed.app,
        "cluster": notes.get(MONIKER + "cluster") or parsed.cluster,
    }
    for key in ("stack", "detail"):
        if notes.get(MONIKER + key):
            out[key] = notes[MONIKER + key]
    sequence = _int(notes.get(MONIKER + "sequence"))
    if sequence is None and obj.get("kind") == "ReplicaSet":
        sequence = _int(notes.get(DEPLOYMENT_REVISION))
    if sequence is None:
        sequence = parsed.sequence
    if sequence is not None:
        out["sequence"] = sequence
    return out


def spinnaker_managed(obj: JSON) -> bool:
    """Labelled ``app.kubernetes.io/managed-by: spinnaker`` (Clouddriver's ``onlySpinnakerManaged`` test; a
    ``managedBySuffix`` makes it ``spinnaker-<suffix>``)."""
    value = _map(_meta(obj).get("labels")).get(MANAGED_BY, "")
    return value == "spinnaker" or value.startswith("spinnaker-")


def artifact_of(obj: JSON, account: str) -> JSON | None:
    """The ``artifact.spinnaker.io/*`` annotations as an artifact (Clouddriver's ``getArtifact``), or None."""
    notes = _map(_meta(obj).get("annotations"))
    if not notes.get(ARTIFACT + "type"):
        return None
    return {
        "type": notes[ARTIFACT + "type"],
        "name": notes.get(ARTIFACT + "name"),
        "location": notes.get(ARTIFACT + "location"),
        "version": notes.get(ARTIFACT + "version"),
        "metadata": {"account": account},
    }


# --- health -------------------------------------------------------------------------------------------------------


def pod_health(pod: JSON) -> list[JSON]:
    """Clouddriver's ``KubernetesHealth`` entries of a Pod: its phase (Pending → Down, Running → Up, else
    Unknown), then each container's readiness (ready → Up, else Down)."""
    status = pod.get("status")
    if not isinstance(status, dict):
        return []
    phase = str(status.get("phase") or "").lower()
    state = {"pending": DOWN, "running": UP}.get(phase, UNKNOWN)
    health: list[JSON] = [{"state": state, "source": "Pod", "type": "kubernetes/pod", "healthClass": "platform"}]
    for container in status.get("containerStatuses") or []:
        if not isinstance(container, dict):
            continue
        health.append(
            {
                "state": UP if container.get("ready") else DOWN,
                "source": f"Container {container.get('name')}",
                "type": "kubernetes/container",
                "healthClass": "platform",
            }
        )
    return health


def health_state(health: list[JSON]) -> str:
    """Clouddriver's ``KubernetesModelUtil.getHealthState``: Up when every known entry is Up, Succeeded when every
    known entry succeeded, else Starting, Down, Failed, OutOfService if any entry is, else Unknown."""
    known = [h.get("state") for h in health if h.get("state") != UNKNOWN]
    if known and all(s == UP for s in known):
        return UP
    if known and all(s == SUCCEEDED for s in known):
        return SUCCEEDED
    for state in (STARTING, DOWN, FAILED, OUT_OF_SERVICE):
        if state in known:
            return state
    return UNKNOWN


def instance_counts(instances: list[JSON]) -> JSON:
    counts = {"total": len(instances), "up": 0, "down": 0, "starting": 0, "outOfService": 0, "unknown": 0}
    key = {UP: "up", DOWN: "down", STARTING: "starting", OUT_OF_SERVICE: "outOfService"}
    for instance in instances:
        counts[key.get(instance.get("healthState", UNKNOWN), "unknown")] += 1
    return counts


# --- documents ----------------------------------------------------------------------------------------------------


def _base(obj: JSON, account: str) -> JSON:
    """The fields every Kubernetes document shares (Clouddriver's ``ManifestBasedModel``)."""
    meta = _meta(obj)
    kind = str(obj.get("kind") or "")
    name = str(meta.get("name") or "")
    namespace = str(meta.get("namespace") or "")
    moniker = moniker_of(obj)
    return {
        "name": full_name(kind, name),
        "displayName": name,
        "kind": lower_kind(kind),
        "apiVersion": obj.get("apiVersion"),
        "account": account,
        "namespace": namespace,
        "region": namespace,
        "uid": meta.get("uid"),
        "type": PROVIDER,
        "cloudProvider": PROVIDER,
        "providerType": PROVIDER,
        "labels": _map(meta.get("labels")),
        "moniker": moniker,
        "cluster": moniker["cluster"],
        "application": moniker["app"],
        "createdTime": epoch_ms(meta.get("creationTimestamp")),
    }


def instance_of(pod: JSON, account: str) -> JSON:
    """One Pod as Gate shows an instance: ``id`` is its uid (Clouddriver's globally unique instance name), ``name``
    and ``humanReadableName`` are ``"pod web-v001-x7z"``."""
    base = _base(pod, account)
    health = pod_health(pod)
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    return {
        **base,
        "id": base["uid"] or base["name"],
        "humanReadableName": base["name"],
        "zone": base["namespace"],
        "availabilityZone": base["namespace"],
        "health": health,
        "healthState": health_state(health),
        "launchTime": None,
        "privateIpAddress": (status or {}).get("podIP"),
    }


def _owner_keys(obj: JSON) -> list[tuple[str, ...]]:
    """The keys of the objects owning ``obj``: ``(kind, uid)``, or ``(kind, namespace, name)`` for a reference
    without a uid."""
    namespace = str(_meta(obj).get("namespace") or "")
    keys: list[tuple[str, ...]] = []
    for ref in _meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict):
            kind = str(ref.get("kind"))
            keys.append((kind, str(ref["uid"])) if ref.get("uid") else (kind, namespace, str(ref.get("name"))))
    return keys


def _self_keys(owner: JSON) -> list[tuple[str, ...]]:
    meta = _meta(owner)
    kind = str(owner.get("kind"))
    return [(kind, str(meta.get("uid"))), (kind, str(meta.get("namespace") or ""), str(meta.get("name")))]


def _by_owner(objects: Iterable[JSON]) -> dict[tuple[str, ...], list[JSON]]:
    """Objects indexed by their owners' keys (one pass, so matching owners to children is not quadratic)."""
    index: dict[tuple[str, ...], list[JSON]] = {}
    for obj in objects:
        for key in _owner_keys(obj):
            index.setdefault(key, []).append(obj)
    return index


def _owned(index: dict[tuple[str, ...], list[JSON]], owner: JSON) -> list[JSON]:
    found: list[JSON] = []
    for key in _self_keys(owner):
        found += [o for o in index.get(key, []) if not any(o is f for f in found)]
    return found


def _template_labels(workload: JSON) -> dict[str, str]:
    spec = workload.get("spec") if isinstance(workload.get("spec"), dict) else {}
    template = (spec or {}).get("template")
    return _map(_meta(template).get("labels")) if isinstance(template, dict) else {}


def service_selects(service: JSON, workload: JSON) -> bool:
    """Whether a Service's selector picks the workload's Pods: every selector label is on its pod template
    (Clouddriver's Service relationships). A Service without a selector selects nothing."""
    spec = service.get("spec") if isinstance(service.get("spec"), dict) else {}
    selector = _map((spec or {}).get("selector"))
    if not selector:
        return False
    labels = _template_labels(workload)
    return all(labels.get(k) == v for k, v in selector.items())


def _explicit_load_balancers(workload: JSON) -> list[str]:
    """The ``traffic.spinnaker.io/load-balancers`` annotation (``["service web"]``), names normalised."""
    raw = _map(_meta(workload).get("annotations")).get(TRAFFIC_LOAD_BALANCERS)
    if not raw:
        return []
    try:
        names = json.loads(raw)
    except ValueError:
        return []
    out = []
    for name in names if isinstance(names, list) else []:
        kind, _, rest = str(name).replace("/", " ").partition(" ")
        if rest:
            out.append(full_name(kind, rest.strip()))
    return out


def _images(workload: JSON) -> list[str]:
    spec = workload.get("spec") if isinstance(workload.get("spec"), dict) else {}
    template = (spec or {}).get("template") if isinstance((spec or {}).get("template"), dict) else {}
    pod_spec = (template or {}).get("spec") if isinstance((template or {}).get("spec"), dict) else {}
    images: list[str] = []
    for key in ("initContainers", "containers"):
        for container in (pod_spec or {}).get(key) or []:
            image = container.get("image") if isinstance(container, dict) else None
            if image and image not in images:
                images.append(str(image))
    return images


def _ingress_services(ingress: JSON) -> list[str]:
    """The Service names an Ingress routes to (its default backend and every rule's paths)."""
    spec = ingress.get("spec") if isinstance(ingress.get("spec"), dict) else {}
    backends = [(spec or {}).get("defaultBackend") or (spec or {}).get("backend")]
    for rule in (spec or {}).get("rules") or []:
        for path in ((rule or {}).get("http") or {}).get("paths") or []:
            backends.append((path or {}).get("backend"))
    names: list[str] = []
    for backend in backends:
        if not isinstance(backend, dict):
            continue
        service = backend.get("service")
        name = service.get("name") if isinstance(service, dict) else backend.get("serviceName")
        if name and name not in names:
            names.append(str(name))
    return names


def _namespaced(objects: Iterable[JSON]) -> dict[tuple[str, str], JSON]:
    return {(str(_meta(o).get("namespace") or ""), str(_meta(o).get("name") or "")): o for o in objects}


def build(account: str, objects: dict[str, list[JSON]]) -> dict[str, list[JSON]]:
    """Gate's documents of one account from its objects by kind (``{"ReplicaSet": [...], "Pod": [...]}``):
    ``{"serverGroups": [...], "serverGroupManagers": [...], "loadBalancers": [...]}``."""
    pods = objects.get("Pod") or []
    services = objects.get("Service") or []
    managers = [{**m, "kind": m.get("kind") or kind} for kind in MANAGER_KINDS for m in objects.get(kind) or []]
    manager_names = {key: str(_meta(m).get("name")) for m in managers for key in _self_keys(m)}
    pods_by_owner = _by_owner(pods)
    groups: list[JSON] = []
    workloads: list[tuple[JSON, JSON]] = []  # (server group document, its object)
    for kind in SERVER_GROUP_KINDS:
        for obj in objects.get(kind) or []:
            obj = {**obj, "kind": obj.get("kind") or kind}
            base = _base(obj, account)
            namespace = base["namespace"]
            instances = [instance_of(p, account) for p in _owned(pods_by_owner, obj)]
            selecting = [
                full_name("Service", str(_meta(s).get("name")))
                for s in services
                if _meta(s).get("namespace") == namespace and service_selects(s, obj)
            ]
            explicit = _explicit_load_balancers(obj)
            load_balancers = list(dict.fromkeys(selecting + explicit))
            disabled = not selecting and bool(explicit)
            spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
            desired = (spec or {}).get("replicas")
            if kind == "DaemonSet":
                status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
                desired = (status or {}).get("desiredNumberScheduled")
            group = {
                **base,
                "isDisabled": disabled,
                "disabled": disabled,
                "capacity": {"desired": int(desired) if isinstance(desired, int) else 0},
                "instances": instances,
                "instanceCounts": instance_counts(instances),
                "loadBalancers": load_balancers,
                "serverGroupManagers": [
                    {"account": account, "location": namespace, "name": manager_names[key]}
                    for key in _owner_keys(obj)
                    if key in manager_names
                ],
                "buildInfo": {"images": _images(obj)},
                "zones": [],
                "securityGroups": [],
                "launchConfig": {},
            }
            artifact = artifact_of(obj, account)
            if artifact is not None:
                group["artifact"] = artifact
            groups.append(group)
            workloads.append((group, obj))
    summaries = []
    documents = {id(obj): g for g, obj in workloads}
    workloads_by_owner = _by_owner(obj for _, obj in workloads)
    for manager in managers:
        base = _base(manager, account)
        owned = [documents[id(obj)] for obj in _owned(workloads_by_owner, manager)]
        summaries.append(
            {
                **base,
                "serverGroups": [
                    {"name": g["name"], "account": account, "namespace": g["namespace"], "moniker": g["moniker"]}
                    for g in owned
                ],
            }
        )
    return {
        "serverGroups": groups,
        "serverGroupManagers": summaries,
        "loadBalancers": _load_balancers(account, services, objects.get("Ingress") or [], workloads),
    }


def _lb_server_group(group: JSON) -> JSON:
    """Clouddriver's ``LoadBalancerServerGroup`` of a server group (its instances' health entries merged)."""
    instances = []
    for instance in group["instances"]:
        merged: JSON = {}
        for entry in instance.get("health") or []:
            merged.update(entry)
        instances.append(
            {"id": instance["id"], "zone": instance["zone"], "name": instance["humanReadableName"], "health": merged}
        )
    return {
        "account": group["account"],
        "name": group["name"],
        "region": group["region"],
        "isDisabled": group["isDisabled"],
        "cloudProvider": PROVIDER,
        "detachedInstances": [],
        "instances": instances,
    }


def _load_balancers(
    account: str, services: list[JSON], ingresses: list[JSON], workloads: list[tuple[JSON, JSON]]
) -> list[JSON]:
    out: list[JSON] = []
    behind: dict[tuple[str, str], list[JSON]] = {}
    for service in services:
        service = {**service, "kind": service.get("kind") or "Service"}
        base = _base(service, account)
        groups = [g for g, obj in workloads if g["namespace"] == base["namespace"] and service_selects(service, obj)]
        behind[(base["namespace"], base["displayName"])] = groups
        spec = service.get("spec") if isinstance(service.get("spec"), dict) else {}
        out.append(
            {
                **base,
                "loadBalancerType": (spec or {}).get("type") or "ClusterIP",
                "serverGroups": [_lb_server_group(g) for g in groups],
            }
        )
    for ingress in ingresses:
        ingress = {**ingress, "kind": ingress.get("kind") or "Ingress"}
        base = _base(ingress, account)
        names = _ingress_services(ingress)
        routed = {g["name"]: g for n in names for g in behind.get((base["namespace"], n), [])}
        out.append(
            {
                **base,
                "services": [full_name("Service", n) for n in names],
                "serverGroups": [_lb_server_group(g) for g in routed.values()],
            }
        )
    return out


# --- reading an account -------------------------------------------------------------------------------------------


def read_account(cloud: KubernetesCloud, account: str) -> dict[str, list[JSON]]:
    """Every cached kind of one account, read from its API server (the namespaces it lists, else every namespace
    but ``omitNamespaces``). A kind the server does not serve is left out; other errors propagate."""
    entry = cloud.account(account)
    return _read(cloud, account, list(entry.namespaces) or [None])


def read_namespace(cloud: KubernetesCloud, account: str, namespace: str) -> dict[str, list[JSON]] | None:
    """Every cached kind of one namespace of an account (what a manifest stage touched; Orca's force cache
    refresh), or None when the account does not cover that namespace. Every reference the documents make (a
    Deployment's ReplicaSets, a ReplicaSet's Pods, a Service's server groups) stays inside one namespace, so these
    documents are the same as :func:`read_account` gives for it."""
    if not cloud.account(account).allows(namespace):
        return None
    return _read(cloud, account, [namespace])


def _read(cloud: KubernetesCloud, account: str, namespaces: list[str | None]) -> dict[str, list[JSON]]:
    entry = cloud.account(account)
    only_managed = bool(getattr(entry, "only_spinnaker_managed", False))
    objects: dict[str, list[JSON]] = {}
    for kind, api_version in READ_KINDS.items():
        found: list[JSON] = []
        for namespace in namespaces:
            try:
                found += cloud.list(account, kind, namespace, api_version=api_version)
            except InvalidRequestError as err:  # the kind is not served by this API server
                log.info("cache of %s: %s", account, err)
                break
        objects[kind] = [
            {**o, "kind": o.get("kind") or kind}
            for o in found
            if entry.allows(str(_meta(o).get("namespace") or "")) and (not only_managed or spinnaker_managed(o))
        ]
    return build(account, objects)

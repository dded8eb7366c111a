"""Manifests as Clouddriver's Kubernetes V2 provider treats them, as pure functions (no API calls here).

* :func:`validate_manifest` / :func:`parse_coordinates`: names, kinds and namespaces checked before they reach
  the API server, errors naming the field;
* :func:`annotate`: Spinnaker's moniker and artifact labels and annotations;
* :func:`is_versioned`, :func:`choose_version`: ``-v000`` names for versioned kinds, the same content reusing its
  version (a content digest annotation says which);
* :func:`stability`: manifest + status → stable / not yet / failed, per kind (Clouddriver's status handlers).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from core.errors import ProviderError
from core.fields import parse_boolean

JSON = dict[str, Any]

#: DNS-1123 subdomain (most object names) and label (namespaces)
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
_API_VERSION = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$")
_VERSION_SUFFIX = re.compile(r"^(?P<base>.+)-v(?P<n>\d{3,})$")

MANAGED_BY = "app.kubernetes.io/managed-by"
APP_NAME = "app.kubernetes.io/name"
MONIKER = "moniker.spinnaker.io/"
ARTIFACT = "artifact.spinnaker.io/"
VERSIONED = "strategy.spinnaker.io/versioned"
#: Clouddriver's ``KubernetesManifestStrategy.maxVersionHistory``: how many versions of a cluster a deploy keeps
MAX_VERSION_HISTORY = "strategy.spinnaker.io/max-version-history"
DIGEST = "deploy.gennaker.io/digest"
#: kinds Clouddriver versions unless ``strategy.spinnaker.io/versioned: "false"``
VERSIONED_KINDS = frozenset({"replicaset", "configmap", "secret", "pod"})
#: kinds whose spec.template gets the moniker labels too
WORKLOADS = frozenset({"deployment", "replicaset", "statefulset", "daemonset", "job"})
#: kinds that live outside namespaces (the common ones; the API server's discovery decides in the end)
CLUSTER_SCOPED = frozenset(
    {"namespace", "node", "persistentvolume", "clusterrole", "clusterrolebinding", "storageclass",
     "customresourcedefinition", "priorityclass", "mutatingwebhookconfiguration", "validatingwebhookconfiguration",
     "apiservice", "podsecuritypolicy"}
)  # fmt: skip


class ManifestError(ProviderError, ValueError):
    """A manifest or a manifest coordinate that cannot go to the API server; the message names the field."""


def _name_ok(name: Any, field: str) -> str:
    if not isinstance(name, str) or not name:
        raise ManifestError(f"{field}: a name is required")
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        raise ManifestError(f"{field}: {name!r} is not a Kubernetes name (lowercase letters, digits, '-' and '.')")
    return name


def check_namespace(namespace: Any, field: str) -> str:
    if not isinstance(namespace, str) or not _LABEL.match(namespace):
        raise ManifestError(f"{field}: {namespace!r} is not a namespace name (lowercase letters, digits and '-')")
    return namespace


def check_kind(kind: Any, field: str) -> str:
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise ManifestError(f"{field}: {kind!r} is not a Kubernetes kind")
    return kind


def parse_coordinates(value: Any, field: str = "manifestName") -> tuple[str, str]:
    """``"deployment my-app"`` (Spinnaker's manifest name; ``kind/name`` is also taken) → (kind, name)."""
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{field}: give the manifest as 'kind name', e.g. 'deployment my-app'")
    parts = value.strip().replace("/", " ", 1).split()
    if len(parts) != 2:
        raise ManifestError(f"{field}: {value!r} is not 'kind name'")
    return check_kind(parts[0], field), _name_ok(parts[1], field)


def validate_manifest(manifest: Any, field: str, default_namespace: str | None) -> JSON:
    """A copy of ``manifest`` checked (apiVersion, kind, metadata.name, namespace) with the namespace filled in."""
    if not isinstance(manifest, dict):
        raise ManifestError(f"{field}: a manifest must be an object")
    if not isinstance(manifest.get("apiVersion"), str) or not _API_VERSION.match(manifest["apiVersion"]):
        raise ManifestError(f"{field}.apiVersion: {manifest.get('apiVersion')!r} is not an API version")
    check_kind(manifest.get("kind"), f"{field}.kind")
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict):
        raise ManifestError(f"{field}.metadata: required, with a name")
    out = copy.deepcopy(manifest)
    _name_ok(metadata.get("name"), f"{field}.metadata.name")
    if manifest["kind"].lower() in CLUSTER_SCOPED:
        out["metadata"].pop("namespace", None)
        return out
    namespace = metadata.get("namespace") or default_namespace or "default"
    out["metadata"]["namespace"] = check_namespace(namespace, f"{field}.metadata.namespace")
    for key in ("labels", "annotations"):
        if metadata.get(key) is not None and not isinstance(metadata[key], dict):
            raise ManifestError(f"{field}.metadata.{key}: must be a map")
    return out


def lower_first(kind: str) -> str:
    """Spinnaker's spelling of a kind: ``replicaSet``."""
    return kind[:1].lower() + kind[1:]


def coordinates(manifest: JSON) -> str:
    """Spinnaker's name of a manifest: ``"replicaSet web-v001"`` (the kind with a lowercase first letter)."""
    kind = str(manifest["kind"])
    return f"{kind[0].lower()}{kind[1:]} {manifest['metadata']['name']}"


def is_versioned(manifest: JSON) -> bool:
    flag = (manifest.get("metadata", {}).get("annotations") or {}).get(VERSIONED)
    if flag is not None:
        return parse_boolean(flag)
    return str(manifest.get("kind", "")).lower() in VERSIONED_KINDS


def digest(manifest: JSON) -> str:
    """The content of a manifest as deployed, before versioning: the same stage input gives the same digest."""
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def version_of(name: str, base: str) -> int | None:
    match = _VERSION_SUFFIX.match(name)
    return int(match.group("n")) if match and match.group("base") == base else None


def choose_version(base: str, content_digest: str, existing: list[JSON]) -> tuple[int, bool]:
    """(version, reused): the version of an existing object with this content, else one past the highest."""
    highest = -1
    for obj in existing:
        meta = obj.get("metadata") or {}
        number = version_of(str(meta.get("name", "")), base)
        if number is None:
            continue
        if (meta.get("annotations") or {}).get(DIGEST) == content_digest:
            return number, True
        highest = max(highest, number)
    return highest + 1, False


def max_version_history(manifest: JSON, field: str) -> int | None:
    """The ``strategy.spinnaker.io/max-version-history`` annotation of ``manifest`` (None when absent): how many
    versions of its cluster a deploy keeps, the deployed one included; a whole number of at least 1."""
    value = ((manifest.get("metadata") or {}).get("annotations") or {}).get(MAX_VERSION_HISTORY)
    if value is None:
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        where = f"{field}.metadata.annotations[{MAX_VERSION_HISTORY}]"
        raise ManifestError(f"{where}: {value!r} is not a whole number of at least 1")
    return int(text)


def versions_beyond_history(deployed: str, base: str, members: list[JSON], keep: int) -> list[str]:
    """The names of the ``members`` of cluster ``base`` (``<base>-vNNN`` objects Spinnaker deployed) that a
    ``max-version-history`` of ``keep`` deletes after ``deployed`` was deployed, oldest first.

    Clouddriver keeps the ``keep`` highest versions; here the deployed version is always one of the kept (a deploy
    that reused an older version for the same content does not delete what it just deployed), with the
    ``keep - 1`` highest of the others.
    """
    others = sorted(
        (n, name)
        for m in members
        if (name := str((m.get("metadata") or {}).get("name", ""))) != deployed
        and (n := version_of(name, base)) is not None
        and ((m.get("metadata") or {}).get("annotations") or {}).get(ARTIFACT + "name") == base
    )
    beyond = len(others) - (keep - 1)
    return [name for _n, name in others[: max(beyond, 0)]]


@dataclass(frozen=True)
class Moniker:
    app: str
    cluster: str
    stack: str | None = None
    detail: str | None = None
    sequence: int | None = None

    def to_json(self) -> JSON:
        out: JSON = {"app": self.app, "cluster": self.cluster}
        out.update({k: v for k, v in (("stack", self.stack), ("detail", self.detail)) if v})
        if self.sequence is not None:
            out["sequence"] = self.sequence
        return out


def annotate(manifest: JSON, moniker: Moniker, account: str, version: int | None, content_digest: str) -> JSON:
    """Spinnaker's labels and annotations on ``manifest`` (a copy), and the ``-vNNN`` name when versioned."""
    out = copy.deepcopy(manifest)
    meta = out["metadata"]
    base = meta["name"]
    if version is not None:
        meta["name"] = f"{base}-v{version:03d}"
    notes = _stamp_moniker(meta, moniker)
    for key, value in (("stack", moniker.stack), ("detail", moniker.detail)):
        if value:
            notes[MONIKER + key] = value
    if version is not None:
        notes[MONIKER + "sequence"] = str(version)
        notes[ARTIFACT + "version"] = f"v{version:03d}"
    kind = str(out["kind"])
    notes[ARTIFACT + "name"] = base
    notes[ARTIFACT + "type"] = f"kubernetes/{kind[0].lower()}{kind[1:]}"
    notes[ARTIFACT + "location"] = meta.get("namespace", "")
    notes[DIGEST] = content_digest
    template = out.get("spec", {}).get("template") if isinstance(out.get("spec"), dict) else None
    if kind.lower() in WORKLOADS and isinstance(template, dict):
        _stamp_moniker(_child(template, "metadata"), moniker)
    return out


def _child(parent: JSON, key: str) -> JSON:
    """``parent[key]``, made an empty map when missing or null."""
    value = parent.get(key) or {}
    parent[key] = value
    return value  # type: ignore[no-any-return]


def _stamp_moniker(meta: JSON, moniker: Moniker) -> JSON:
    """The app and managed-by labels and the moniker's application/cluster annotations on one ``metadata``
    (the object's, or its pod template's); returns the annotations."""
    labels = _child(meta, "labels")
    labels.setdefault(APP_NAME, moniker.app)
    labels[MANAGED_BY] = "spinnaker"
    notes = _child(meta, "annotations")
    notes[MONIKER + "application"] = moniker.app
    notes[MONIKER + "cluster"] = moniker.cluster
    return notes


def artifact_of(manifest: JSON, account: str) -> JSON:
    """The ``kubernetes/<kind>`` artifact Clouddriver reports for a deployed manifest."""
    meta = manifest["metadata"]
    notes = meta.get("annotations") or {}
    kind = str(manifest["kind"])
    return {
        "type": f"kubernetes/{kind[0].lower()}{kind[1:]}",
        "name": notes.get(ARTIFACT + "name", meta["name"]),
        "reference": meta["name"],
        "location": meta.get("namespace", ""),
        "version": notes.get(ARTIFACT + "version", ""),
        "metadata": {"account": account},
        "customKind": False,
    }


# --- stability ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stability:
    stable: bool
    failed: bool = False
    paused: bool = False
    message: str = ""

    def to_json(self) -> JSON:
        return {
            "stable": {"state": self.stable, "message": "" if self.stable else self.message},
            "failed": {"state": self.failed, "message": self.message if self.failed else ""},
            "paused": {"state": self.paused},
            "available": {"state": self.stable and not self.failed},
        }


def _generation_seen(manifest: JSON, status: JSON) -> bool:
    generation = (manifest.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    return generation is None or (observed is not None and int(observed) >= int(generation))


def _conditions(status: JSON) -> dict[str, JSON]:
    return {str(c.get("type")): c for c in status.get("conditions") or [] if isinstance(c, dict)}


def stability(manifest: JSON) -> Stability:
    """Clouddriver's rules per kind; kinds without rules are stable as soon as they exist."""
    kind = str(manifest.get("kind", "")).lower()
    spec = manifest.get("spec") or {}
    status = manifest.get("status") or {}
    waiting = "Waiting for status generation to match updated object generation"
    if kind == "deployment":
        if spec.get("paused"):
            return Stability(False, paused=True, message="Deployment is paused")
        progressing = _conditions(status).get("Progressing") or {}
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            return Stability(False, failed=True, message="Deployment exceeded its progress deadline")
        if not _generation_seen(manifest, status):
            return Stability(False, message=waiting)
        desired = int(spec.get("replicas", 1))
        if int(status.get("updatedReplicas") or 0) < desired:
            return Stability(False, message="Waiting for all replicas to be updated")
        if int(status.get("replicas") or 0) > int(status.get("updatedReplicas") or 0):
            return Stability(False, message="Waiting for old replicas to finish termination")
        if int(status.get("availableReplicas") or 0) < desired:
            return Stability(False, message="Waiting for all replicas to be available")
        if int(status.get("readyReplicas") or 0) < desired:
            return Stability(False, message="Waiting for all replicas to be ready")
        return Stability(True)
    if kind == "replicaset":
        if not _generation_seen(manifest, status):
            return Stability(False, message=waiting)
        desired = int(spec.get("replicas", 1))
        for key, what in (("fullyLabeledReplicas", "labeled"), ("availableReplicas", "available"),
                          ("readyReplicas", "ready")):  # fmt: skip
            if int(status.get(key) or 0) < desired:
                return Stability(False, message=f"Waiting for all replicas to be {what}")
        return Stability(True)
    if kind == "statefulset":
        if not _generation_seen(manifest, status):
            return Stability(False, message=waiting)
        if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
            return Stability(True)
        desired = int(spec.get("replicas", 1))
        if int(status.get("readyReplicas") or 0) < desired:
            return Stability(False, message="Waiting for all replicas to be ready")
        if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
            return Stability(False, message="Waiting for the updated revision to roll out")
        return Stability(True)
    if kind == "daemonset":
        if not _generation_seen(manifest, status):
            return Stability(False, message=waiting)
        wanted = int(status.get("desiredNumberScheduled") or 0)
        if int(status.get("updatedNumberScheduled") or 0) < wanted:
            return Stability(False, message="Waiting for all updated pods to be scheduled")
        if int(status.get("numberAvailable") or 0) < wanted:
            return Stability(False, message="Waiting for all pods to be available")
        return Stability(True)
    if kind == "pod":
        phase = status.get("phase")
        if phase == "Failed":
            return Stability(False, failed=True, message=f"Pod failed: {status.get('reason') or 'Failed'}")
        if phase == "Succeeded":
            return Stability(True)
        ready = (_conditions(status).get("Ready") or {}).get("status") == "True"
        return Stability(phase == "Running" and ready, message="Waiting for the pod to be running and ready")
    if kind == "job":
        conditions = _conditions(status)
        if (conditions.get("Failed") or {}).get("status") == "True":
            return Stability(False, failed=True, message="Job failed")
        completions = int(spec.get("completions", 1) or 1)
        if int(status.get("succeeded") or 0) >= completions:
            return Stability(True)
        return Stability(False, message="Waiting for the job to complete")
    lb_pending = not (status.get("loadBalancer") or {}).get("ingress")
    if kind == "service" and spec.get("type") == "LoadBalancer" and lb_pending:
        return Stability(False, message="Waiting for the load balancer to get an address")
    return Stability(True)

"""Clouddriver's Kubernetes manifest operations as activities (deployManifest and friends).

Exactly once: apply is idempotent; a versioned manifest's version is the one already holding the same content
(a digest annotation) or the next free one, so an activity whose result was lost re-applies to the same name;
the objects a delete/scale/patch/undo acts on are decided by their own task and kept in the stage context;
a delete that finds nothing (404) is done.

After a stage changed objects, the namespaces it touched are re-read into the cloud cache (Orca's force cache
refresh, :class:`~.manifest_tasks.CacheRefresh`): after the apply, after the wait for stable (when a
``strategy.spinnaker.io/max-version-history`` cleanup may have deleted older versions), after traffic changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from temporalio import activity

from core.tasks import TaskInput, TaskResult
from providers import kubernetes_manifest as km
from providers.kubernetes import KubernetesCloud

from . import manifest_sources as sources
from .manifest_ops import ManifestOperations
from .manifest_tasks import CacheRefresh, account_of, guarded, names_by_namespace

JSON = dict[str, Any]
#: Clouddriver keeps the services a ReplicaSet is attached to here
LOAD_BALANCERS = "traffic.spinnaker.io/load-balancers"
STABLE_BACKOFF_MS = 5_000  # Orca's WaitForManifestStableTask


class ManifestActivities:
    def __init__(self, cloud: KubernetesCloud, refresh: CacheRefresh | None = None) -> None:
        self.cloud = cloud
        self.refresh = refresh or CacheRefresh(cloud)

    # --- deployManifest ----------------------------------------------------------------------------------------

    @activity.defn(name="manifest_deploy")
    def deploy(self, inp: TaskInput) -> TaskResult:
        """Apply every manifest (versioned kinds get their ``-vNNN`` name), with Spinnaker's labels."""
        return guarded(self._deploy)(inp)

    def _deploy(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        account = account_of(ctx)
        raw, bound = sources.manifests_of(ctx, inp.trigger)
        moniker_ctx: JSON = ctx["moniker"] if isinstance(ctx.get("moniker"), dict) else {}
        app = str(moniker_ctx.get("app") or inp.application)
        default_ns = ctx.get("namespaceOverride") or None
        traffic: JSON = ctx["trafficManagement"] if isinstance(ctx.get("trafficManagement"), dict) else {}
        options = (traffic.get("options") or {}) if traffic.get("enabled") else {}
        services = [
            km.parse_coordinates(s, "trafficManagement.options.services") for s in options.get("services") or []
        ]
        kept: dict[str, int] = dict(ctx.get("manifest.versions") or {})
        for index, item in enumerate(raw):  # a bad annotation stops the stage before anything is applied
            if isinstance(item, dict):
                km.max_version_history(item, f"manifests[{index}]")
        deployed: list[JSON] = []
        for index, item in enumerate(raw):
            manifest = km.validate_manifest(item, f"manifests[{index}]", default_ns)
            namespace = manifest["metadata"].get("namespace")
            if services and manifest["kind"] == "ReplicaSet":
                manifest = self._attach(account, manifest, services, options.get("enableTraffic", True))
            content = km.digest(manifest)
            base = manifest["metadata"]["name"]
            version: int | None = None
            if km.is_versioned(manifest):
                key = f"{namespace}/{manifest['kind']}/{base}"
                if key in kept:
                    version = int(kept[key])
                else:
                    existing = self._cluster_members(account, manifest["kind"], namespace, base)
                    version, _reused = km.choose_version(base, content, existing)
                    kept[key] = version
            cluster = f"{manifest['kind'][0].lower()}{manifest['kind'][1:]} {base}"
            moniker = km.Moniker(app, cluster, moniker_ctx.get("stack"), moniker_ctx.get("detail"), version)
            annotated = km.annotate(manifest, moniker, account, version, content)
            applied = self.cloud.apply(account, annotated)
            applied.pop("status", None)
            applied.get("metadata", {}).pop("managedFields", None)
            deployed.append(applied)
        names = names_by_namespace(deployed)
        self.refresh(account, names)
        created = [km.artifact_of(m, account) for m in deployed]
        outputs = {
            "outputs.manifests": deployed,
            "outputs.manifestNamesByNamespace": names,
            "outputs.boundArtifacts": bound,
            "outputs.createdArtifacts": created,
            "artifacts": created,
            "deploy.account.name": account,
            "manifest.versions": kept,
        }
        context = {**outputs, "deploy.manifest.cluster": [m["metadata"]["annotations"].get(km.MONIKER + "cluster")
                                                           for m in deployed]}  # fmt: skip
        return TaskResult.succeeded(context, {k: v for k, v in outputs.items() if k != "manifest.versions"})

    def _cluster_members(self, account: str, kind: str, namespace: str | None, base: str) -> list[JSON]:
        """Every ``<base>-vNNN`` of the kind in the namespace, Spinnaker's or not: a version is never overwritten."""
        found = self.cloud.list(account, kind, namespace)
        return [m for m in found if km.version_of(str(m["metadata"].get("name", "")), base) is not None]

    def _attach(self, account: str, rs: JSON, services: list[tuple[str, str]], enable: Any) -> JSON:
        """Clouddriver's traffic management: the services' selector labels on the new ReplicaSet's pods."""
        namespace = rs["metadata"].get("namespace")
        notes = rs["metadata"].setdefault("annotations", {}) or {}
        rs["metadata"]["annotations"] = notes
        notes[LOAD_BALANCERS] = json.dumps([f"service {name}" for _, name in services])
        if enable in (False, "false"):
            return rs
        labels = rs.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
        labels = labels.setdefault("labels", {})
        for kind, name in services:
            if kind.lower() != "service":
                raise km.ManifestError(f"trafficManagement.options.services: {kind} {name} is not a service")
            service = self.cloud.get(account, "service", name, namespace)
            if service is None:
                raise km.ManifestError(f"trafficManagement.options.services: service {name} not found in {namespace}")
            selector = (service.get("spec") or {}).get("selector") or {}
            overlap = set(selector) & set((rs["spec"].get("selector") or {}).get("matchLabels") or {})
            if overlap:
                raise km.ManifestError(
                    f"trafficManagement: service {name}'s selector keys {sorted(overlap)} are in the ReplicaSet's "
                    "selector; Spinnaker needs them outside it to take traffic away"
                )
            labels.update(selector)
        return rs

    @activity.defn(name="manifest_traffic")
    def traffic(self, inp: TaskInput) -> TaskResult:
        """After the new ReplicaSet is stable: redblack disables older ones, highlander disables and deletes them."""
        return guarded(self._traffic)(inp)

    def _traffic(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        traffic = ctx.get("trafficManagement") or {}
        strategy = (traffic.get("options") or {}).get("strategy")
        if not traffic.get("enabled") or strategy not in ("redblack", "highlander"):
            return TaskResult.succeeded()
        account = account_of(ctx)
        done: list[str] = []
        for manifest in ctx.get("outputs.manifests") or []:
            if manifest.get("kind") != "ReplicaSet":
                continue
            meta = manifest["metadata"]
            base = (meta.get("annotations") or {}).get(km.ARTIFACT + "name", meta["name"])
            for old in self._cluster_members(account, "ReplicaSet", meta.get("namespace"), base):
                if old["metadata"]["name"] == meta["name"]:
                    continue
                self.disable(account, old)
                if strategy == "highlander":
                    self.cloud.delete(account, "replicaSet", old["metadata"]["name"], meta.get("namespace"))
                done.append(f"replicaSet {old['metadata']['name']}")
        key = "disabled" if strategy == "redblack" else "deleted"
        self.refresh(account, [m["metadata"].get("namespace", "") for m in ctx.get("outputs.manifests") or []])
        return TaskResult.succeeded({f"manifest.traffic.{key}": done})

    def disable(self, account: str, rs: JSON) -> None:
        """Take a ReplicaSet out of its services: their selector labels off its pod template (idempotent)."""
        meta = rs["metadata"]
        services = json.loads((meta.get("annotations") or {}).get(LOAD_BALANCERS) or "[]")
        labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
        remove: set[str] = set()
        for coordinate in services:
            _kind, name = km.parse_coordinates(coordinate, LOAD_BALANCERS)
            service = self.cloud.get(account, "service", name, meta.get("namespace"))
            remove |= set(((service or {}).get("spec") or {}).get("selector") or {}) & set(labels)
        if remove:
            ops = [{"op": "remove", "path": "/spec/template/metadata/labels/" + k.replace("~", "~0").replace("/", "~1")}
                   for k in sorted(remove)]  # fmt: skip
            self.cloud.patch(account, "replicaSet", meta["name"], meta.get("namespace"), ops, "json")

    # --- waitForManifestStable ---------------------------------------------------------------------------------

    @activity.defn(name="manifest_wait_stable")
    def wait_stable(self, inp: TaskInput) -> TaskResult:
        """RUNNING until every deployed (or acted-on) manifest is stable; TERMINAL when one failed."""
        return guarded(self._wait_stable)(inp)

    def _wait_stable(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        account = account_of(ctx)
        names = ctx.get("outputs.manifestNamesByNamespace") or {}
        waiting: list[str] = []
        stable: list[str] = []
        for namespace, coordinates in names.items():
            for coordinate in coordinates:
                kind, name = km.parse_coordinates(coordinate)
                found = self.cloud.get(account, kind, name, namespace or None)
                if found is None:
                    waiting.append(f"{coordinate} in {namespace} (not there yet)")
                    continue
                result = km.stability(found)
                if result.failed:
                    return TaskResult.terminal(f"{coordinate} in {namespace} failed: {result.message}")
                if result.stable:
                    stable.append(coordinate)
                else:
                    waiting.append(f"{coordinate} in {namespace}: {result.message}")
        if waiting:
            return TaskResult.running(STABLE_BACKOFF_MS, messages=waiting, stableManifests=stable)
        context: JSON = {"messages": [], "stableManifests": stable}
        if inp.stage_type == "deployManifest":
            cleaned = self._trim_history(account, ctx.get("outputs.manifests") or [])
            if cleaned:
                context["manifest.history.deleted"] = cleaned
        self.refresh(account, names)
        return TaskResult.succeeded(context)

    def _trim_history(self, account: str, deployed: list[JSON]) -> dict[str, list[str]]:
        """Clouddriver's ``maxVersionHistory`` cleanup, once the deploy is stable: of each deployed versioned
        manifest carrying ``strategy.spinnaker.io/max-version-history: N``, the cluster keeps the deployed version
        and the N-1 highest others; older versions Spinnaker deployed are deleted. Decided from what exists at each
        attempt and a delete of what is gone is done, so a retry deletes nothing more."""
        deleted: dict[str, list[str]] = {}
        for index, manifest in enumerate(deployed):
            keep = km.max_version_history(manifest, f"outputs.manifests[{index}]")
            meta = manifest.get("metadata") or {}
            base = (meta.get("annotations") or {}).get(km.ARTIFACT + "name")
            if keep is None or not base or km.version_of(str(meta.get("name", "")), base) is None:
                continue  # not a versioned manifest: nothing to trim
            namespace = meta.get("namespace")
            members = self._cluster_members(account, manifest["kind"], namespace, base)
            for name in km.versions_beyond_history(meta["name"], base, members, keep):
                self.cloud.delete(account, km.lower_first(manifest["kind"]), name, namespace)
                deleted.setdefault(namespace or "", []).append(f"{km.lower_first(manifest['kind'])} {name}")
        return deleted


def build_cloud(settings: Any) -> KubernetesCloud:
    from providers.kubernetes_accounts import kubernetes_accounts, register_accounts

    accounts = kubernetes_accounts(list(getattr(settings, "accounts", []) or []))
    register_accounts(accounts)
    return KubernetesCloud(accounts)


def build(settings: Any, cloud: KubernetesCloud | None = None, store: Any = None) -> list[Callable[..., Any]]:
    """The manifest activities; with ``store``, each refreshes the cloud cache of what it touched."""
    cloud = cloud or build_cloud(settings)
    refresh = CacheRefresh(cloud, store)
    acts, ops = ManifestActivities(cloud, refresh), ManifestOperations(cloud, refresh)
    return [acts.deploy, acts.traffic, acts.wait_stable, *ops.activities()]


def now_ms() -> int:
    return int(time.time() * 1000)

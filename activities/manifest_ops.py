"""deleteManifest, scaleManifest, patchManifest, undoRolloutManifest as activities.

Each stage first decides what it acts on (``manifest_resolve_target``: a name, a cluster's newest/oldest/...
version, or a label selector; for an undo, the revision to go back to) and keeps that in the context as
``manifest.targets``; the acting task reads the decision, so a retry acts on the same objects. The acting calls
are idempotent: delete treats 404 as done, scale sets an absolute count, patch and undo write the same body.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from temporalio import activity

from core.tasks import TaskInput, TaskResult
from providers import kubernetes_manifest as km
from providers.kubernetes import KubernetesCloud

from . import manifest_sources as sources
from .manifest_tasks import CacheRefresh, account_of, guarded, names_by_namespace

JSON = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
CRITERIA = ("newest", "second_newest", "oldest", "largest", "smallest")


def _location(ctx: JSON) -> str:
    location = ctx.get("location") or ctx.get("namespace")
    return km.check_namespace(location or "default", "location")


def _selector(ctx: JSON) -> str:
    """Deck's ``labelSelectors.selectors`` ({kind: EQUALS|NOT_EQUALS|CONTAINS|NOT_CONTAINS|EXISTS|NOT_EXISTS})."""
    parts: list[str] = []
    for index, sel in enumerate(((ctx.get("labelSelectors") or {}).get("selectors")) or []):
        key, kind, values = sel.get("key"), str(sel.get("kind", "EQUALS")).upper(), sel.get("values") or []
        if not isinstance(key, str) or not key or any(c in key for c in " ,=!()"):
            raise km.ManifestError(f"labelSelectors.selectors[{index}].key: not a label key")
        if any(not isinstance(v, str) or any(c in v for c in " ,=!()") for v in values):
            raise km.ManifestError(f"labelSelectors.selectors[{index}].values: not label values")
        rendered = {
            "EQUALS": f"{key}={values[0] if values else ''}",
            "NOT_EQUALS": f"{key}!={values[0] if values else ''}",
            "CONTAINS": f"{key} in ({','.join(values)})",
            "NOT_CONTAINS": f"{key} notin ({','.join(values)})",
            "EXISTS": key,
            "NOT_EXISTS": f"!{key}",
        }.get(kind)
        if rendered is None:
            raise km.ManifestError(f"labelSelectors.selectors[{index}].kind: {kind!r} is not a selector kind")
        parts.append(rendered)
    if not parts:
        raise km.ManifestError("labelSelectors: give at least one selector")
    return ",".join(parts)


class ManifestOperations:
    """The acting tasks; scale, patch and undo are followed by the wait for stable, which refreshes the cloud cache
    of their namespace (``manifest.py``); a delete refreshes it itself (no wait follows)."""

    def __init__(self, cloud: KubernetesCloud, refresh: CacheRefresh | None = None) -> None:
        self.cloud = cloud
        self.refresh = refresh or CacheRefresh(cloud)

    def activities(self) -> list[Callable[..., Any]]:
        return [self.resolve_target, self.delete, self.scale, self.patch, self.undo]

    # --- the decision ------------------------------------------------------------------------------------------

    @activity.defn(name="manifest_resolve_target")
    def resolve_target(self, inp: TaskInput) -> TaskResult:
        """Decide the objects the stage acts on, once: ``manifest.targets`` (kind name) in ``location``."""
        return guarded(self._resolve)(inp)

    def _resolve(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        if ctx.get("manifest.targets") is not None:
            return TaskResult.succeeded()
        account, namespace = account_of(ctx), _location(ctx)
        if ctx.get("mode") == "label" or (ctx.get("labelSelectors") and not ctx.get("manifestName")):
            selector = _selector(ctx)
            kinds = ctx.get("kinds") or []
            if not kinds:
                raise km.ManifestError("kinds: a label-selector delete needs the kinds to look in")
            targets = [
                km.coordinates(found)
                for kind in kinds
                for found in self.cloud.list(account, km.check_kind(kind, "kinds"), namespace, selector)
            ]
        elif ctx.get("cluster") and ctx.get("criteria"):
            targets = [self._by_criteria(account, namespace, ctx)]
        else:
            kind, name = km.parse_coordinates(ctx.get("manifestName"))
            targets = [f"{kind} {name}"]
        context: JSON = {"manifest.targets": targets, "outputs.manifestNamesByNamespace": {namespace: targets}}
        if inp.stage_type == "undoRolloutManifest":
            context["undo.revision"] = self._choose_revision(account, namespace, targets[0], ctx)
        return TaskResult.succeeded(context)

    def _by_criteria(self, account: str, namespace: str, ctx: JSON) -> str:
        """A cluster's member (``cluster: "replicaSet web"``) by Orca's criteria, ordered by version."""
        kind, base = km.parse_coordinates(ctx.get("cluster"), "cluster")
        criteria = ctx.get("criteria")
        if criteria not in CRITERIA:
            raise km.ManifestError(f"criteria: {criteria!r} is not one of {', '.join(CRITERIA)}")
        found = self.cloud.list(account, kind, namespace, f"{km.MANAGED_BY}=spinnaker")
        members = [m for m in found if km.version_of(str(m["metadata"].get("name", "")), base) is not None]
        if not members:
            raise km.ManifestError(f"cluster: no {kind} of cluster {base} in {namespace}")
        members.sort(key=lambda m: km.version_of(m["metadata"]["name"], base) or 0)
        if criteria in ("largest", "smallest"):
            members.sort(key=lambda m: int((m.get("spec") or {}).get("replicas", 0)))
        if criteria == "second_newest":
            if len(members) < 2:
                raise km.ManifestError(f"criteria: cluster {base} has no second newest {kind}")
            return km.coordinates(members[-2])
        chosen = members[0] if criteria in ("oldest", "smallest") else members[-1]
        return km.coordinates(chosen)

    def _choose_revision(self, account: str, namespace: str, target: str, ctx: JSON) -> JSON:
        kind, name = km.parse_coordinates(target)
        if kind.lower() != "deployment":
            raise km.ManifestError(f"manifestName: undo rollout works on deployments, not {kind}")
        deployment = self.cloud.get(account, "deployment", name, namespace)
        if deployment is None:
            raise km.ManifestError(f"manifestName: deployment {name} not found in {namespace}")
        uid = deployment["metadata"]["uid"]
        owned = [
            rs for rs in self.cloud.list(account, "replicaSet", namespace)
            if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or [])
            and (rs["metadata"].get("annotations") or {}).get(REVISION, "").isdigit()
        ]  # fmt: skip
        owned.sort(key=lambda rs: int(rs["metadata"]["annotations"][REVISION]), reverse=True)
        try:
            back = int(ctx.get("revisionsBack", 1))
        except (TypeError, ValueError):
            raise km.ManifestError("revisionsBack: must be a number") from None
        if back < 1 or back >= len(owned):
            raise km.ManifestError(f"revisionsBack: {back} but deployment {name} has {len(owned)} revisions")
        chosen = owned[back]
        template = copy.deepcopy(chosen["spec"]["template"])
        (template.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
        return {"revision": int(chosen["metadata"]["annotations"][REVISION]), "replicaSet": chosen["metadata"]["name"],
                "template": template}  # fmt: skip

    def _targets(self, ctx: JSON) -> list[tuple[str, str]]:
        return [km.parse_coordinates(t, "manifest.targets") for t in ctx.get("manifest.targets") or []]

    # --- the acts ----------------------------------------------------------------------------------------------

    @activity.defn(name="manifest_delete")
    def delete(self, inp: TaskInput) -> TaskResult:
        return guarded(self._delete)(inp)

    def _delete(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        account, namespace = account_of(ctx), _location(ctx)
        options = ctx.get("options") if isinstance(ctx.get("options"), dict) else {}
        deleted = []
        for kind, name in self._targets(ctx):
            self.cloud.delete(account, kind, name, namespace, options)
            deleted.append(f"{kind} {name}")
        self.refresh(account, [namespace])
        return TaskResult.succeeded(
            {"outputs.manifestNamesByNamespace": {namespace: deleted}},
            {"deleted": {namespace: deleted}},
        )

    @activity.defn(name="manifest_scale")
    def scale(self, inp: TaskInput) -> TaskResult:
        return guarded(self._scale)(inp)

    def _scale(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        account, namespace = account_of(ctx), _location(ctx)
        try:
            replicas = int(ctx["replicas"])
        except (KeyError, TypeError, ValueError):
            raise km.ManifestError("replicas: a number is required") from None
        if replicas < 0:
            raise km.ManifestError("replicas: must not be negative")
        for kind, name in self._targets(ctx):
            self.cloud.scale(account, kind, name, namespace, replicas)
        return TaskResult.succeeded()

    @activity.defn(name="manifest_patch")
    def patch(self, inp: TaskInput) -> TaskResult:
        return guarded(self._patch)(inp)

    def _patch(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        account, namespace = account_of(ctx), _location(ctx)
        body = sources.patch_body_of(ctx, inp.trigger)
        strategy = str((ctx.get("options") or {}).get("mergeStrategy", "strategic"))
        patched = [
            self.cloud.patch(account, kind, name, namespace, body, strategy) for kind, name in self._targets(ctx)
        ]
        for item in patched:
            item.pop("status", None)
            item.get("metadata", {}).pop("managedFields", None)
        return TaskResult.succeeded(
            {"outputs.manifests": patched, "outputs.manifestNamesByNamespace": names_by_namespace(patched)},
            {"outputs.manifests": patched},
        )

    @activity.defn(name="manifest_undo_rollout")
    def undo(self, inp: TaskInput) -> TaskResult:
        return guarded(self._undo)(inp)

    def _undo(self, inp: TaskInput) -> TaskResult:
        ctx = inp.context
        account, namespace = account_of(ctx), _location(ctx)
        chosen = ctx.get("undo.revision") or {}
        ((_kind, name),) = self._targets(ctx)
        body = [{"op": "replace", "path": "/spec/template", "value": chosen["template"]}]
        self.cloud.patch(account, "deployment", name, namespace, body, "json")
        return TaskResult.succeeded({"undo.done": True}, {"revision": chosen.get("revision")})

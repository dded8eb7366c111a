"""Typed builders for the Kubernetes manifest stages, writing the JSON Deck writes.

    DeployManifest("k8s", [replica_set, service], traffic=Traffic(["service web"], strategy="redblack"))
    ScaleManifest("k8s", "prod", "replicaSet web-v001", replicas=3)
    PatchManifest("k8s", "prod", "deployment api", {"spec": {"paused": False}})
    DeleteManifest("k8s", "prod", cluster="replicaSet web", criteria="oldest")
    UndoRolloutManifest("k8s", "prod", "deployment api", revisions_back=1)

See docs/providers/kubernetes.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .checks import JSON, _fail, _flag, _jsonable, _text
from .stage import Stage

STRATEGIES = ("redblack", "highlander", "none")
MERGE_STRATEGIES = ("strategic", "json", "merge")
CRITERIA = ("newest", "second_newest", "oldest", "largest", "smallest")


def _account(account: str, where: str) -> JSON:
    name = str(_text(account, where))
    return {"account": name, "credentials": name, "cloudProvider": "kubernetes"}


@dataclass(frozen=True)
class Traffic:
    """``trafficManagement``: attach new ReplicaSets to ``services``; redblack disables older ones, highlander
    deletes them too."""

    services: Sequence[str]
    strategy: str = "redblack"
    enable_traffic: bool = True

    def to_json(self, where: str) -> JSON:
        if self.strategy not in STRATEGIES:
            raise _fail(f"{where}.strategy", f"must be one of {STRATEGIES}")
        services = [_text(s, f"{where}.services[{i}]") for i, s in enumerate(self.services)]
        return {
            "enabled": True,
            "options": {"services": services, "strategy": self.strategy, "enableTraffic": self.enable_traffic},
        }


@dataclass(eq=False)
class DeployManifest(Stage):
    """``deployManifest``: apply ``manifests`` (or ``manifest_artifact``, embedded/base64) on ``account``."""

    TYPE: ClassVar[str] = "deployManifest"
    DEFAULT_NAME: ClassVar[str] = "Deploy (Manifest)"

    account: str
    manifests: Sequence[Mapping[str, Any]] | None = None
    manifest_artifact: Mapping[str, Any] | None = field(default=None, kw_only=True)
    namespace_override: str | None = field(default=None, kw_only=True)
    traffic: Traffic | None = field(default=None, kw_only=True)
    skip_expression_evaluation: bool = field(default=False, kw_only=True)

    def _fields(self) -> JSON:
        if (self.manifests is None) == (self.manifest_artifact is None):
            raise self._error("manifests", "give exactly one of manifests and manifest_artifact")
        out = _account(self.account, self._where("account"))
        if self.manifests is not None:
            out["source"] = "text"
            out["manifests"] = [
                _jsonable(dict(m), self._where(f"manifests[{i}]")) for i, m in enumerate(self.manifests)
            ]
        else:
            out["source"] = "artifact"
            out["manifestArtifact"] = _jsonable(dict(self.manifest_artifact or {}), self._where("manifest_artifact"))
        if self.namespace_override is not None:
            out["namespaceOverride"] = _text(self.namespace_override, self._where("namespace_override"))
        if self.traffic is not None:
            out["trafficManagement"] = self.traffic.to_json(self._where("traffic"))
        out["skipExpressionEvaluation"] = _flag(
            self.skip_expression_evaluation, self._where("skip_expression_evaluation")
        )
        return out


@dataclass(eq=False)
class _OnManifest(Stage):
    account: str
    location: str
    manifest_name: str | None = None

    def _target(self) -> JSON:
        out = _account(self.account, self._where("account"))
        out["location"] = _text(self.location, self._where("location"))
        if self.manifest_name is not None:
            out["manifestName"] = _text(self.manifest_name, self._where("manifest_name"))
        return out


@dataclass(eq=False)
class DeleteManifest(_OnManifest):
    """``deleteManifest``: by ``manifest_name`` ("kind name"), or a ``cluster``'s member by ``criteria``."""

    TYPE: ClassVar[str] = "deleteManifest"
    DEFAULT_NAME: ClassVar[str] = "Delete (Manifest)"

    cluster: str | None = field(default=None, kw_only=True)
    criteria: str | None = field(default=None, kw_only=True)
    cascading: bool = field(default=True, kw_only=True)
    grace_period_seconds: int | None = field(default=None, kw_only=True)

    def _fields(self) -> JSON:
        out = self._target()
        if (self.manifest_name is None) == (self.cluster is None):
            raise self._error("manifest_name", "give exactly one of manifest_name and cluster")
        if self.cluster is not None:
            if self.criteria not in CRITERIA:
                raise self._error("criteria", f"must be one of {CRITERIA}")
            out["cluster"] = _text(self.cluster, self._where("cluster"))
            out["criteria"] = self.criteria
        options: JSON = {"cascading": _flag(self.cascading, self._where("cascading"))}
        if self.grace_period_seconds is not None:
            options["gracePeriodSeconds"] = int(self.grace_period_seconds)
        out["options"] = options
        return out


@dataclass(eq=False)
class ScaleManifest(_OnManifest):
    TYPE: ClassVar[str] = "scaleManifest"
    DEFAULT_NAME: ClassVar[str] = "Scale (Manifest)"

    replicas: int = field(default=1, kw_only=True)

    def _fields(self) -> JSON:
        if isinstance(self.replicas, bool) or not isinstance(self.replicas, int) or self.replicas < 0:
            raise self._error("replicas", "must be a whole number >= 0")
        return {**self._target(), "replicas": self.replicas}


@dataclass(eq=False)
class PatchManifest(_OnManifest):
    TYPE: ClassVar[str] = "patchManifest"
    DEFAULT_NAME: ClassVar[str] = "Patch (Manifest)"

    patch_body: Any = None
    merge_strategy: str = field(default="strategic", kw_only=True)

    def _fields(self) -> JSON:
        if self.merge_strategy not in MERGE_STRATEGIES:
            raise self._error("merge_strategy", f"must be one of {MERGE_STRATEGIES}")
        if not self.patch_body:
            raise self._error("patch_body", "required")
        body = self.patch_body if isinstance(self.patch_body, list) else [self.patch_body]
        return {
            **self._target(),
            "source": "text",
            "patchBody": _jsonable(body, self._where("patch_body")),
            "options": {"mergeStrategy": self.merge_strategy, "record": True},
        }


@dataclass(eq=False)
class UndoRolloutManifest(_OnManifest):
    TYPE: ClassVar[str] = "undoRolloutManifest"
    DEFAULT_NAME: ClassVar[str] = "Undo Rollout (Manifest)"

    revisions_back: int = field(default=1, kw_only=True)

    def _fields(self) -> JSON:
        if isinstance(self.revisions_back, bool) or not isinstance(self.revisions_back, int) or self.revisions_back < 1:
            raise self._error("revisions_back", "must be a whole number >= 1")
        return {**self._target(), "revisionsBack": self.revisions_back}

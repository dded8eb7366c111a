"""Typed builder for ``runJobManifest``: run one Kubernetes Job and read its log's properties.

    RunJobManifest("k8s", manifest={"apiVersion": "batch/v1", "kind": "Job", ...}, property_file="main")

See docs/providers/kubernetes-runjob.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .checks import JSON, _flag, _jsonable, _text
from .stage import Stage

CONSUME_SOURCES = ("none", "propertyFile")


@dataclass(eq=False)
class RunJobManifest(Stage):
    """``runJobManifest``: create the Job in ``manifest`` on ``account``, wait for it; the ``SPINNAKER_PROPERTY_*``
    lines of container ``property_file``'s log become stage outputs. ``manifest_artifact`` (an embedded/base64
    artifact) replaces ``manifest``."""

    TYPE: ClassVar[str] = "runJobManifest"
    DEFAULT_NAME: ClassVar[str] = "Run Job (Manifest)"

    account: str
    manifest: Mapping[str, Any] | None = None
    manifest_artifact: Mapping[str, Any] | None = field(default=None, kw_only=True)
    application: str | None = field(default=None, kw_only=True)
    property_file: str | None = field(default=None, kw_only=True)
    consume_artifact_source: str = field(default="none", kw_only=True)
    skip_expression_evaluation: bool = field(default=False, kw_only=True)
    wait_for_completion: bool = field(default=True, kw_only=True)

    def _fields(self) -> JSON:
        if (self.manifest is None) == (self.manifest_artifact is None):
            raise self._error("manifest", "give exactly one of manifest and manifest_artifact")
        if self.consume_artifact_source not in CONSUME_SOURCES:
            raise self._error("consume_artifact_source", f"must be one of {CONSUME_SOURCES}")
        account = _text(self.account, self._where("account"))
        out: JSON = {"account": account, "credentials": account, "cloudProvider": "kubernetes"}
        if self.manifest is not None:
            out["source"] = "text"
            out["manifest"] = _jsonable(dict(self.manifest), self._where("manifest"))
        else:
            out["source"] = "artifact"
            out["manifestArtifact"] = _jsonable(dict(self.manifest_artifact or {}), self._where("manifest_artifact"))
        if self.application is not None:
            out["application"] = _text(self.application, self._where("application"))
        if self.property_file is not None:
            out["propertyFile"] = _text(self.property_file, self._where("property_file"))
        out["consumeArtifactSource"] = self.consume_artifact_source
        out["skipExpressionEvaluation"] = _flag(
            self.skip_expression_evaluation, self._where("skip_expression_evaluation")
        )
        out["waitForCompletion"] = _flag(self.wait_for_completion, self._where("wait_for_completion"))
        return out

"""Where a manifest stage's manifests come from: the stage's ``manifests`` (text), an embedded artifact, or a
trigger artifact bound by ``manifestArtifactId``; artifact manifests have their expressions evaluated here (the
engine evaluated the stage's own text already), unless ``skipExpressionEvaluation``."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import yaml

from core import safe_yaml
from providers.kubernetes_manifest import ManifestError

JSON = dict[str, Any]
EMBEDDED = "embedded/base64"


def _artifact_by_id(artifact_id: str, trigger: JSON, context: JSON) -> JSON | None:
    for expected in [*(trigger.get("resolvedExpectedArtifacts") or []), *(context.get("expectedArtifacts") or [])]:
        if isinstance(expected, dict) and expected.get("id") == artifact_id:
            bound = expected.get("boundArtifact") or expected.get("matchArtifact")
            if isinstance(bound, dict):
                return bound
    for artifact in trigger.get("artifacts") or []:
        if isinstance(artifact, dict) and artifact_id in (artifact.get("id"), artifact.get("uuid")):
            return artifact
    return None


def artifact_of(context: JSON, trigger: JSON, field: str, id_field: str) -> JSON:
    """The artifact the stage names inline (``field``) or by id (``id_field``)."""
    artifact = context.get(field)
    if not isinstance(artifact, dict) and context.get(id_field):
        artifact = _artifact_by_id(str(context[id_field]), trigger, context)
        if artifact is None:
            raise ManifestError(f"{id_field}: no artifact {context[id_field]!r} in the trigger or expectedArtifacts")
    if not isinstance(artifact, dict):
        raise ManifestError(f"{field}: give {field} or {id_field} when source is artifact")
    return artifact


def decode(artifact: JSON, field: str) -> str:
    kind = artifact.get("type")
    if kind != EMBEDDED:
        raise ManifestError(f"{field}.type: artifact type {kind!r} cannot be read here; only {EMBEDDED} is supported")
    try:
        return base64.b64decode(str(artifact.get("reference") or ""), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ManifestError(f"{field}.reference: not base64 text") from None


def documents(text: str, field: str) -> list[Any]:
    try:
        docs = [d for d in safe_yaml.load_all(text) if d is not None]
    except safe_yaml.YamlLimitError as err:
        raise ManifestError(f"{field}: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ManifestError(f"{field}: not YAML{where}") from None
    out: list[Any] = []
    for doc in docs:  # a List kind holds its manifests in items
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            out.extend(doc["items"])
        else:
            out.append(doc)
    return out


def evaluate(manifests: list[Any], context: JSON, trigger: JSON) -> list[Any]:
    """The engine's expression evaluator over manifests read from an artifact (stage context and trigger visible)."""
    if context.get("skipExpressionEvaluation") in (True, "true"):
        return manifests
    from workflows import expressions as expr

    root = {**context, "trigger": trigger, "parameters": trigger.get("parameters") or {}}
    result = expr.process(manifests, expr.EvaluationContext(root=root))
    entries = [entry for found in result.summary.values() for entry in found]
    errors = [str(e.get("description")) for e in entries if e.get("level") == "ERROR"]
    if errors:
        raise ManifestError(f"manifestArtifact: expressions failed: {'; '.join(errors[:3])}")
    return list(result.value)


def manifests_of(context: JSON, trigger: JSON) -> tuple[list[Any], list[JSON]]:
    """(manifests, artifacts bound to read them) per the stage's ``source`` (``text`` unless an artifact is named)."""
    source = context.get("source") or ("artifact" if context.get("manifestArtifact") or
                                       context.get("manifestArtifactId") else "text")  # fmt: skip
    if source == "text":
        manifests = context.get("manifests")
        if manifests is None and isinstance(context.get("manifest"), dict):
            manifests = [context["manifest"]]
        if not isinstance(manifests, list) or not manifests:
            raise ManifestError("manifests: give at least one manifest (or source: artifact)")
        return manifests, []
    if source != "artifact":
        raise ManifestError(f"source: {source!r} is not text or artifact")
    artifact = artifact_of(context, trigger, "manifestArtifact", "manifestArtifactId")
    docs = documents(decode(artifact, "manifestArtifact"), "manifestArtifact.reference")
    if not docs:
        raise ManifestError("manifestArtifact: the artifact holds no manifest")
    return evaluate(docs, context, trigger), [artifact]


def patch_body_of(context: JSON, trigger: JSON) -> Any:
    """``patchManifest``'s body: ``patchBody`` (text; Deck sends a list of one) or the patch artifact."""
    if context.get("source", "text") == "artifact":
        artifact = artifact_of(context, trigger, "patchArtifact", "patchArtifactId")
        docs = documents(decode(artifact, "patchArtifact"), "patchArtifact.reference")
        return evaluate(docs, context, trigger)[0] if docs else None
    body = context.get("patchBody")
    strategy = (context.get("options") or {}).get("mergeStrategy", "strategic")
    if isinstance(body, list) and strategy != "json" and len(body) == 1:
        body = body[0]
    if body in (None, {}, []):
        raise ManifestError("patchBody: required")
    return body

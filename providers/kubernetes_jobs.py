"""Kubernetes Jobs for the ``runJobManifest`` stage: the manifest, the Job's state, the properties in its log.

Pure rules first (each table-tested), then :class:`KubernetesJobs`, the few API calls the stage makes through a
``kubernetes.client.ApiClient`` (create, read, list the Job's pods, read a pod's log, delete).

* :func:`job_manifest` picks the one Job out of ``manifest`` / ``manifests`` / the documents read from an artifact,
  as Clouddriver's ``KubernetesRunJobOperation`` does (only kind ``Job`` is accepted).
* :func:`job_state` is Clouddriver's ``KubernetesJobStatus.getJobState`` (``Running``/``Succeeded``/``Failed``),
  extended with the ``Complete`` condition and the ``failed`` count past ``backoffLimit``.
* :func:`extract_properties_from_log` is Clouddriver's ``PropertyParser.extractPropertiesFromLog``.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import ProviderError
from core.status import ExecutionStatus

JSON = dict[str, Any]

RUNNING, SUCCEEDED, FAILED = "Running", "Succeeded", "Failed"
#: Kubernetes' default ``spec.backoffLimit``
DEFAULT_BACKOFF_LIMIT = 6
#: how Clouddriver cancels a job: the Job goes at once, the garbage collector takes its pods afterwards
DELETE_PROPAGATION = "Background"
#: on the Job we create, so a retried create can tell our Job from someone else's of the same name
STAGE_ANNOTATION = "gennaker.io/stage-id"
EXECUTION_ANNOTATION = "gennaker.io/execution-id"

_MAGIC = "SPINNAKER_PROPERTY_"
_MAGIC_JSON = re.compile(r"^\s*SPINNAKER_CONFIG_JSON=")
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
_NAME_MAX = 63  # a Job's name becomes its pods' `job-name` label value


class JobManifestError(ProviderError, ValueError):
    """The stage's manifest is not one usable Job; ``field`` names the stage field at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class PropertyParseError(ProviderError, ValueError):
    """A ``SPINNAKER_CONFIG_JSON=`` line that is not a JSON object."""


# --- the manifest -------------------------------------------------------------------------------------------------


def is_artifact_source(context: Mapping[str, Any]) -> bool:
    return str(context.get("source") or "text").lower() == "artifact"


def job_manifest(context: Mapping[str, Any], artifact_docs: list[Any] | None = None) -> JSON:
    """The Job manifest the stage runs, from ``manifest`` or ``manifests``, or (``source: artifact``) from the
    documents the activity read out of its artifact (``activities/manifest_sources.py``, shared with deployManifest)."""
    if is_artifact_source(context):
        if artifact_docs is None:
            raise JobManifestError("the artifact's manifests were not read", "manifestArtifact")
        docs, where = artifact_docs, "manifestArtifact"
    elif context.get("manifest") is not None:
        docs, where = [context["manifest"]], "manifest"
    elif context.get("manifests") is not None:
        docs, where = context["manifests"], "manifests"
        if not isinstance(docs, list):
            raise JobManifestError("must be a list of manifests", where)
    else:
        raise JobManifestError("the stage needs a Job manifest (manifest, manifests or source: artifact)", "manifest")
    if len(docs) != 1:
        raise JobManifestError(f"must hold exactly one Job manifest, got {len(docs)}", where)
    doc = docs[0]
    if not isinstance(doc, Mapping):
        raise JobManifestError("must be a manifest object", where)
    if doc.get("kind") != "Job":
        raise JobManifestError(f"only kind Job can be run, got {doc.get('kind')!r}", where)
    api_version = str(doc.get("apiVersion") or "")
    if api_version != "batch/v1":
        raise JobManifestError(f"apiVersion must be batch/v1, got {api_version!r}", where)
    metadata = doc.get("metadata")
    if not isinstance(metadata, Mapping) or not (metadata.get("name") or metadata.get("generateName")):
        raise JobManifestError("needs metadata.name or metadata.generateName", f"{where}.metadata")
    spec = doc.get("spec")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("template"), Mapping):
        raise JobManifestError("needs spec.template (the pod template)", f"{where}.spec")
    return json.loads(json.dumps(doc))  # a plain deep copy


def job_name(manifest: Mapping[str, Any], suffix: str | None = None) -> str:
    """The name to create: ``generateName`` (else ``name`` + ``-``) plus 5 random characters, as the API server's
    generateName does; decided once and kept, so a retried create uses the same name."""
    metadata = manifest.get("metadata") or {}
    prefix = str(metadata.get("generateName") or f"{metadata.get('name')}-")
    suffix = suffix or "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    return f"{prefix[: _NAME_MAX - len(suffix)]}{suffix}"


def namespace_of(manifest: Mapping[str, Any], context: Mapping[str, Any], default: str = "default") -> str:
    """The manifest's namespace, else the stage's ``namespaceOverride``/``namespace``, else ``default``."""
    override = context.get("namespaceOverride")
    if isinstance(override, str) and override.strip():
        return override.strip()
    found = (manifest.get("metadata") or {}).get("namespace") or context.get("namespace")
    return str(found) if found else default


# --- the Job's state ----------------------------------------------------------------------------------------------


def _condition(job: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if str(cond.get("type", "")).lower() == kind.lower() and str(cond.get("status", "")).lower() == "true":
            return dict(cond)
    return None


def job_state(job: Mapping[str, Any]) -> str:
    """``Running``, ``Succeeded`` or ``Failed`` for a Job (as the API returns it, camelCase JSON)."""
    status = job.get("status") or {}
    spec = job.get("spec") or {}
    completions = spec.get("completions")
    completions = 1 if completions is None else int(completions)
    if int(status.get("succeeded") or 0) >= completions or _condition(job, "Complete"):
        return SUCCEEDED
    limit = spec.get("backoffLimit")
    limit = DEFAULT_BACKOFF_LIMIT if limit is None else int(limit)
    if _condition(job, "Failed") or int(status.get("failed") or 0) > limit:
        return FAILED
    return RUNNING


def execution_status(state: str) -> ExecutionStatus:
    """Orca's ``WaitOnJobCompletion``: Succeeded → SUCCEEDED, Failed → TERMINAL, anything else keeps polling."""
    return {SUCCEEDED: ExecutionStatus.SUCCEEDED, FAILED: ExecutionStatus.TERMINAL}.get(state, ExecutionStatus.RUNNING)


def completion_details(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Clouddriver's ``completionDetails``: the exit code and signal of the last terminated container of the newest
    pod, and the message and reason of the Job's ``Failed`` condition (else the container's)."""
    details = {"exitCode": "", "signal": "", "message": "", "reason": ""}
    newest = sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp") or ""))
    for pod in reversed(newest):
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        terminated = [((s.get("state") or {}).get("terminated") or {}) for s in statuses]
        terminated = [t for t in terminated if t]
        if terminated:
            last = terminated[-1]
            details.update(
                exitCode=str(last.get("exitCode", "")) if last.get("exitCode") is not None else "",
                signal=str(last.get("signal", "")) if last.get("signal") is not None else "",
                message=str(last.get("message") or ""),
                reason=str(last.get("reason") or ""),
            )
            break
    failed = _condition(job, "Failed")
    if failed:
        details["message"] = str(failed.get("message") or details["message"])
        details["reason"] = str(failed.get("reason") or details["reason"])
    return details


def failure_message(name: str, details: Mapping[str, str]) -> str:
    parts = [f"Job {name} failed"]
    if details.get("reason"):
        parts.append(f"reason: {details['reason']}")
    if details.get("message"):
        parts.append(f"message: {details['message']}")
    if details.get("exitCode"):
        parts.append(f"exit code {details['exitCode']}")
    return "; ".join(parts)


# --- properties from a log ----------------------------------------------------------------------------------------


def extract_properties_from_log(log: str) -> JSON:
    """Clouddriver's rules: each non-empty trimmed line holding ``SPINNAKER_PROPERTY_`` and exactly one non-empty
    ``=``-separated pair gives ``key`` (the prefix dropped, lower-cased) → value; a line starting with
    ``SPINNAKER_CONFIG_JSON=`` merges its JSON object. Later lines win."""
    found: JSON = {}
    for raw in log.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if _MAGIC in line:
            parts = [p.strip() for p in line.split("=") if p.strip()]
            if len(parts) == 2:
                found[parts[0].replace(_MAGIC, "", 1).lower()] = parts[1]
        if _MAGIC_JSON.match(line):
            content = _MAGIC_JSON.sub("", line, count=1)
            try:
                value = json.loads(content)
            except ValueError as err:
                raise PropertyParseError(f"SPINNAKER_CONFIG_JSON is not valid JSON: {err}") from err
            if not isinstance(value, dict):
                raise PropertyParseError("SPINNAKER_CONFIG_JSON must be a JSON object")
            found.update(value)
    return found


# --- the API calls ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedJob:
    name: str
    namespace: str
    uid: str
    adopted: bool  # it already existed, created by an earlier attempt of this stage


class KubernetesJobs:
    """The API calls of ``runJobManifest`` on one account's ``ApiClient`` (the caller owns the client)."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self.api = api_client
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)

    def create(self, namespace: str, body: Any, owner_stage: str) -> CreatedJob:
        """Create the Job; a Job of that name already made by this stage (a retried call) is adopted."""
        from kubernetes.client.exceptions import ApiException

        name = body["metadata"]["name"]
        try:
            made = self.api.sanitize_for_serialization(
                self.batch.create_namespaced_job(namespace, body, field_manager="gennaker")
            )
            return CreatedJob(name, namespace, made["metadata"].get("uid", ""), adopted=False)
        except ApiException as err:
            if err.status != 409:
                raise
        existing = self.read(namespace, name)
        annotations = (existing or {}).get("metadata", {}).get("annotations") or {}
        if existing is None or annotations.get(STAGE_ANNOTATION) != owner_stage:
            raise JobManifestError(f"a Job named {name} already exists in {namespace}", "manifest.metadata.name")
        return CreatedJob(name, namespace, existing["metadata"].get("uid", ""), adopted=True)

    def read(self, namespace: str, name: str) -> JSON | None:
        from kubernetes.client.exceptions import ApiException

        try:
            job = self.batch.read_namespaced_job(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return dict(self.api.sanitize_for_serialization(job))

    def pods(self, namespace: str, job: Mapping[str, Any]) -> list[JSON]:
        """The Job's pods, by its selector (``controller-uid``), else by the ``job-name`` label."""
        labels = ((job.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if not labels:
            labels = {"job-name": job["metadata"]["name"]}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        found = self.core.list_namespaced_pod(namespace, label_selector=selector)
        return [dict(self.api.sanitize_for_serialization(p)) for p in found.items]

    def log(self, namespace: str, pod: str, container: str) -> str:
        """A container's log, through the API server (which proxies to the pod's kubelet)."""
        return str(self.core.read_namespaced_pod_log(pod, namespace, container=container))

    def delete(self, namespace: str, name: str) -> bool:
        """Delete the Job as Clouddriver cancels one (``propagationPolicy: Background``); False when it was gone."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        try:
            self.batch.delete_namespaced_job(
                name, namespace, body=client.V1DeleteOptions(propagation_policy=DELETE_PROPAGATION)
            )
        except ApiException as err:
            if err.status == 404:
                return False
            raise
        return True

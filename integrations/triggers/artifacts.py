"""Artifacts an event carries, and Echo's gate on a trigger's ``expectedArtifactIds``.

Only the gate is here (Echo's ``ArtifactMatcher.anyArtifactsMatchExpected``: a trigger that lists
expected artifact ids fires only when one received artifact matches one of those expected
artifacts). Binding expected artifacts to received, default or prior artifacts
(``resolvedExpectedArtifacts``) is Orca's job at execution start and is not done here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus

from .constraints import regex_full_match
from .errors import TriggerError

JSON = dict[str, Any]

EMBEDDED_BASE64 = "embedded/base64"
REMOTE_BASE64 = "remote/base64"

_MATCHED_FIELDS = ("name", "version", "location", "reference")


def payload_artifacts(payload: Mapping[str, Any]) -> list[JSON] | None:
    """The body's own ``artifacts`` list (None when absent or empty, as Echo's ``if (!artifacts)``)."""
    artifacts = payload.get("artifacts")
    if artifacts is None or artifacts == [] or artifacts == "":
        return None
    if not isinstance(artifacts, list) or not all(isinstance(a, dict) for a in artifacts):
        raise TriggerError("artifacts: must be a list of artifact objects")
    return [dict(a) for a in artifacts]


def _field_matches(pattern: Any, value: Any) -> bool:
    """kork ``ExpectedArtifact.matches`` for one field: empty pattern = any; else equal, or a full regex match."""
    if pattern is None or pattern == "":
        return True
    if not isinstance(value, str):
        return False
    pattern = str(pattern)
    return pattern == value or regex_full_match(pattern, value)


def expected_artifact_matches(expected: Mapping[str, Any], artifact: Mapping[str, Any]) -> bool:
    """Does the artifact fit the expected artifact's ``matchArtifact``? Fields it leaves empty are not compared."""
    match = expected.get("matchArtifact")
    if not isinstance(match, Mapping):
        match = {}
    ours, theirs = match.get("type"), artifact.get("type")
    # an embedded/base64 artifact also satisfies remote/base64, and the other way round
    if not _field_matches(ours, theirs) and {ours, theirs} != {EMBEDDED_BASE64, REMOTE_BASE64}:
        return False
    return all(_field_matches(match.get(f), artifact.get(f)) for f in _MATCHED_FIELDS)


def expected_artifacts_satisfied(
    config_trigger: Mapping[str, Any], pipeline: Mapping[str, Any], artifacts: Iterable[Mapping[str, Any]]
) -> bool:
    """Echo's gate: true when the trigger lists no ``expectedArtifactIds`` or an artifact matches one of them."""
    ids = config_trigger.get("expectedArtifactIds")
    if not isinstance(ids, list) or not ids:
        return True
    expected = [e for e in pipeline.get("expectedArtifacts") or [] if isinstance(e, Mapping) and e.get("id") in ids]
    return any(expected_artifact_matches(e, a) for a in artifacts for e in expected)


def matching_expected_ids(pipeline: Mapping[str, Any], artifacts: Iterable[Mapping[str, Any]]) -> list[str]:
    """Ids of the pipeline's expected artifacts that some artifact matches (Orca's dependent-pipeline rule)."""
    received = list(artifacts)
    ids: list[str] = []
    for expected in pipeline.get("expectedArtifacts") or []:
        if not isinstance(expected, Mapping) or not isinstance(expected.get("id"), str):
            continue
        ids.extend(expected["id"] for a in received if expected_artifact_matches(expected, a))
    return ids


def _changed_files(payload: Mapping[str, Any]) -> list[str]:
    """Files added or modified by the pushed commits, first-seen order, each once."""
    files: list[str] = []
    commits = payload.get("commits")
    for commit in commits if isinstance(commits, list) else []:
        if not isinstance(commit, Mapping):
            continue
        for key in ("added", "modified"):
            names = commit.get(key)
            for name in names if isinstance(names, list) else []:
                if isinstance(name, str) and name not in files:
                    files.append(name)
    return files


def _java_url_encode(text: str) -> str:
    """``java.net.URLEncoder.encode``: form encoding, with ``*`` kept and ``~`` escaped."""
    return quote_plus(text, safe="*").replace("~", "%7E")


def _artifact(kind: str, name: str, version: str | None, reference: str) -> JSON:
    artifact: JSON = {"type": kind, "name": name, "reference": reference}
    if version is not None:
        artifact["version"] = version
    return artifact


def file_artifacts(provider: str, payload: Mapping[str, Any]) -> list[JSON]:
    """``github/file`` or ``gitlab/file`` artifacts for the files a push touched (Echo's artifact extractors)."""
    files = _changed_files(payload)
    sha = payload.get("after") if isinstance(payload.get("after"), str) else None
    if not files:
        return []
    if provider == "github":
        repo = payload.get("repository")
        contents_url = repo.get("contents_url") if isinstance(repo, Mapping) else None
        if not isinstance(contents_url, str):
            return []
        return [_artifact("github/file", f, sha, contents_url.replace("{+path}", f)) for f in files]
    if provider == "gitlab":
        project = payload.get("project")
        if not isinstance(project, Mapping):
            return []
        homepage, path = project.get("homepage"), project.get("path_with_namespace")
        if not isinstance(homepage, str) or not isinstance(path, str):
            return []
        # GitLab sends no API URL; Echo takes the host from the project's homepage.
        api = f"{homepage.replace('/' + path, '')}/api/v4/projects/{_java_url_encode(path)}/repository/files"
        return [_artifact("gitlab/file", f, sha, f"{api}/{_java_url_encode(f)}/raw") for f in files]
    return []

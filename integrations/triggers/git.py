"""``git`` triggers: read a provider's webhook into project/slug/branch/hash/action, check signatures, match.

Each provider's mapping is Echo's (``echo-webhooks`` ``scm/*WebhookEventHandler``):

=========  ==============================  =====================  ===========================  =================
provider   project                         slug                   branch                       hash
=========  ==============================  =====================  ===========================  =================
github     push: repository.owner.name;    repository.name        push: ref without            push: after;
           PR/branch: repository.owner                            ``refs/heads/``; PR:         PR: pull_request
           .login                                                 pull_request.head.ref;       .head.sha;
                                                                  branch event: ref            branch event: ""
gitlab     project.namespace               project.name           ref without ``refs/heads/``  after
bitbucket  cloud: repository.owner         cloud: repository      cloud: push.changes[0].new   cloud: commits[0]
           .username, else .project.key;   .full_name; server:    .name; server: the PR's or   .hash; server:
           server: repository.project.key  repository.slug        change's ref id              toHash/latestCommit
stash      repository.project.key          repository.slug        refChanges[0].refId          refChanges[0].toHash
=========  ==============================  =====================  ===========================  =================

``action`` is ``push:push``, ``pull_request:<action>`` or ``branch:<X-GitHub-Event>`` for GitHub,
GitLab's ``object_kind``, Bitbucket's ``X-Event-Key`` and ``""`` for Stash. Tag pushes are not
special: their branch is ``refs/tags/<tag>`` (only ``refs/heads/`` is stripped), which a
``branch`` regex may or may not match.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import FieldError
from core.fields import text

from .artifacts import expected_artifacts_satisfied, file_artifacts, payload_artifacts
from .constraints import compile_pattern, java_str, regex_full_match
from .errors import SignatureError, TriggerError
from .model import GIT, JSON, Event, Match, MatchResult, Refusal, base_trigger, enabled_triggers, pipeline_id

PROVIDERS = ("github", "gitlab", "bitbucket", "stash")

#: Bitbucket Cloud event keys Echo understands; anything else with a server key is Bitbucket Server.
BITBUCKET_CLOUD_EVENTS = ("repo:push", "pullrequest:fulfilled")
BITBUCKET_SERVER_EVENTS = (
    "pr:opened",
    "repo:refs_changed",
    "pr:from_ref_updated",
    "pr:merged",
    "pr:declined",
    "pr:deleted",
)
_SERVER_FROM_REF_EVENTS = ("pr:opened", "pr:from_ref_updated", "pr:declined", "pr:deleted")

#: a ref whose new hash starts so is a deleted branch; Bitbucket and Stash events for it are dropped.
_DELETED_HASH_PREFIX = "000000000"

SIGNATURE_256 = "x-hub-signature-256"
SIGNATURE_1 = "x-hub-signature"


@dataclass(frozen=True)
class GitEvent:
    """What Echo reads from a provider's webhook. ``None`` fields were not in the payload and never match."""

    provider: str
    project: str | None
    slug: str | None
    branch: str | None
    hash: str | None
    action: str | None
    repository: str | None = None
    #: GitHub pull requests only: ``number``, ``draft``, ``state``, ``title`` (Echo's trigger ``properties``).
    properties: JSON = field(default_factory=dict)
    artifacts: list[JSON] = field(default_factory=list)


# ---- reading payloads ---------------------------------------------------------------------------


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _text(value: Any, name: str) -> str | None:
    """A string field as Jackson reads it (:func:`core.fields.text`); a wrong shape is this module's error."""
    try:
        return text(value, name)
    except FieldError as err:
        raise TriggerError(str(err)) from None


def _field(payload: Any, *keys: str) -> str:
    """A nested string, ``""`` when any step is missing (Echo's ``Optional...orElse("")``)."""
    return _text(_dig(payload, *keys), ".".join(keys)) or ""


def _strip_heads(ref: str) -> str:
    return ref.replace("refs/heads/", "")


def _github(payload: JSON, headers: Mapping[str, str]) -> GitEvent | None:
    if "hook_id" in payload:
        return None  # the ping GitHub sends when a webhook is created
    properties: JSON = {}
    if "pull_request" in payload:
        kind, owner = "pull_request", "login"
        hash_, branch = _field(payload, "pull_request", "head", "sha"), _field(payload, "pull_request", "head", "ref")
        action = _field(payload, "action")
        pull = payload["pull_request"]
        if isinstance(pull, Mapping):
            number = pull.get("number")
            properties["number"] = number if isinstance(number, int) and not isinstance(number, bool) else 0
            if isinstance(pull.get("draft"), bool):
                properties["draft"] = pull["draft"]
            for key in ("state", "title"):
                if pull.get(key) is not None:
                    properties[key] = _text(pull[key], f"pull_request.{key}")
    elif payload.get("ref_type") == "branch":
        kind, owner = "branch", "login"
        hash_, branch = "", _field(payload, "ref")
        action = headers.get("x-github-event", "")
    else:
        kind, owner = "push", "name"
        hash_, branch = _field(payload, "after"), _strip_heads(_field(payload, "ref"))
        action = "push"
    return GitEvent(
        provider="github",
        project=_field(payload, "repository", "owner", owner),
        slug=_field(payload, "repository", "name"),
        branch=branch,
        hash=hash_,
        action=f"{kind}:{action}",
        repository=_field(payload, "repository", "full_name"),
        properties=properties,
    )


def _gitlab(payload: JSON) -> GitEvent:
    ref = _text(payload.get("ref"), "ref")
    if ref is None:
        raise TriggerError("ref: missing; only GitLab push and tag push events can trigger pipelines")
    project = payload.get("project")
    if not isinstance(project, Mapping):
        raise TriggerError("project: missing from the GitLab event")
    return GitEvent(
        provider="gitlab",
        project=_text(project.get("namespace"), "project.namespace"),
        slug=_text(project.get("name"), "project.name"),
        branch=_strip_heads(ref),
        hash=_text(payload.get("after"), "after"),
        action=_text(payload.get("object_kind"), "object_kind"),
        repository=_text(project.get("path_with_namespace"), "project.path_with_namespace"),
    )


def _bitbucket_cloud(payload: JSON, event_type: str) -> GitEvent:
    slug = _field(payload, "repository", "full_name")
    project = _field(payload, "repository", "owner", "username") or _field(payload, "repository", "project", "key")
    hash_ = branch = ""
    pull, push = payload.get("pullrequest"), payload.get("push")
    if isinstance(pull, Mapping):
        hash_ = _field(pull, "merge_commit", "hash")
        branch = _field(pull, "destination", "branch", "name")
    elif isinstance(push, Mapping):
        changes = push.get("changes")
        change = changes[0] if isinstance(changes, list) and changes and isinstance(changes[0], Mapping) else {}
        branch = _field(change, "new", "name")
        commits = change.get("commits")
        if isinstance(commits, list) and commits:
            hash_ = _field(commits[0], "hash")
    return GitEvent("bitbucket", project, slug, branch, hash_, event_type, repository=slug)


def _bitbucket_server(payload: JSON, event_type: str) -> GitEvent:
    project = slug = hash_ = branch = None
    if event_type == "repo:refs_changed":
        repo = payload.get("repository")
        if isinstance(repo, Mapping):
            project, slug = _field(repo, "project", "key"), _field(repo, "slug")
        changes = payload.get("changes")
        if isinstance(changes, list) and changes and isinstance(changes[0], Mapping):
            hash_ = _field(changes[0], "toHash")
            branch = _strip_heads(_field(changes[0], "ref", "id"))
    else:
        side = "fromRef" if event_type in _SERVER_FROM_REF_EVENTS else "toRef"
        ref = _dig(payload, "pullRequest", side)
        if isinstance(ref, Mapping):
            branch = _strip_heads(_field(ref, "id"))
            if isinstance(ref.get("repository"), Mapping):
                project, slug = _field(ref, "repository", "project", "key"), _field(ref, "repository", "slug")
            if side == "fromRef":
                hash_ = _field(ref, "latestCommit")
        if side == "toRef" and isinstance(_dig(payload, "pullRequest", "properties", "mergeCommit"), Mapping):
            hash_ = _field(payload, "pullRequest", "properties", "mergeCommit", "id")
    return GitEvent("bitbucket", project, slug, branch, hash_, event_type, repository=slug)


def _bitbucket(payload: JSON, headers: Mapping[str, str]) -> GitEvent | None:
    if not payload:
        return None  # Bitbucket Server's "test connection" posts an empty body
    event_type = headers.get("x-event-key")
    if event_type in BITBUCKET_CLOUD_EVENTS:
        event = _bitbucket_cloud(payload, event_type)
    elif event_type in BITBUCKET_SERVER_EVENTS:
        event = _bitbucket_server(payload, event_type)
    else:
        # Echo logs an unknown (or missing) X-Event-Key and passes the event on with nothing to match.
        return GitEvent("bitbucket", None, None, None, None, event_type)
    if event.hash and event.hash.startswith(_DELETED_HASH_PREFIX):
        return None
    return event


def _stash(payload: JSON) -> GitEvent | None:
    changes = payload.get("refChanges", payload.get("changes"))
    if not isinstance(changes, list) or not changes or not isinstance(changes[0], Mapping):
        raise TriggerError("refChanges: the Stash event lists no changed refs")
    ref_id = _text(changes[0].get("refId"), "refChanges[0].refId")
    if ref_id is None:
        raise TriggerError("refChanges[0].refId: missing")
    repo = payload.get("repository")
    if not isinstance(_dig(repo, "project"), Mapping):
        raise TriggerError("repository.project: missing from the Stash event")
    hash_ = _text(changes[0].get("toHash"), "refChanges[0].toHash") or ""
    if hash_.startswith(_DELETED_HASH_PREFIX):
        return None
    slug = _field(repo, "slug")
    return GitEvent("stash", _field(repo, "project", "key"), slug, _strip_heads(ref_id), hash_, "", repository=slug)


def parse_git_event(provider: str, payload: JSON, headers: Mapping[str, str]) -> GitEvent | None:
    """Read a provider's webhook as Echo does; None for events Echo drops (GitHub ping, deleted Bitbucket/Stash branch).

    ``headers`` must have lower-cased names. Raises ``TriggerError`` for a provider Echo does not
    know or a payload it cannot read (e.g. a GitLab merge request event, which has no ``ref``).
    """
    if not isinstance(payload, Mapping):
        raise TriggerError("body: must be a JSON object")
    payload = dict(payload)
    if provider == "github":
        event = _github(payload, headers)
    elif provider == "gitlab":
        event = _gitlab(payload)
    elif provider == "bitbucket":
        event = _bitbucket(payload, headers)
    elif provider == "stash":
        event = _stash(payload)
    else:
        raise TriggerError(f"source: unknown git provider '{provider}' (known: {', '.join(PROVIDERS)})")
    if event is None:
        return None
    artifacts = payload_artifacts(payload)
    if artifacts is None:
        artifacts = file_artifacts(provider, payload)
    return replace(event, artifacts=artifacts)


def ignored_reason(provider: str, payload: Mapping[str, Any]) -> str:
    """Why ``parse_git_event`` dropped an event, for the log and the API answer."""
    if provider == "github":
        return "GitHub ping: the webhook was created or tested"
    if not payload:
        return "empty Bitbucket event: a connection test"
    return "the pushed ref was deleted (its new hash is all zeros)"


# ---- signatures ---------------------------------------------------------------------------------


def verify_github_signature(secret: str, raw_body: bytes, headers: Mapping[str, str]) -> None:
    """Check GitHub's HMAC of the raw body: ``X-Hub-Signature-256`` (``sha256=``) if sent, else ``X-Hub-Signature``.

    ``X-Hub-Signature`` may carry ``sha1=`` (GitHub), ``sha256=`` (Bitbucket Server) or a bare
    SHA-1 hex digest (Echo strips an optional ``sha1=``). Hex digits compare case-insensitively
    and in constant time. Raises ``SignatureError``; messages never include the body or secret.
    """
    if not secret:
        raise SignatureError("secret: empty; nothing to check the signature with")
    lower = {k.lower(): v for k, v in headers.items()}
    if SIGNATURE_256 in lower:
        name, value = "X-Hub-Signature-256", lower[SIGNATURE_256].strip()
        if not value.lower().startswith("sha256="):
            raise SignatureError(f"{name}: expected 'sha256=<hex digest>'")
        algorithm, digest = "sha256", value[len("sha256=") :]
    elif SIGNATURE_1 in lower:
        name, value = "X-Hub-Signature", lower[SIGNATURE_1].strip()
        algorithm, digest = "sha1", value
        for prefix in ("sha1", "sha256"):
            if value.lower().startswith(prefix + "="):
                algorithm, digest = prefix, value[len(prefix) + 1 :]
    else:
        raise SignatureError("X-Hub-Signature-256: missing; the trigger has a secret, so the request must be signed")
    expected = hmac.new(secret.encode("utf-8"), raw_body, getattr(hashlib, algorithm)).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), digest.strip().lower().encode("utf-8", "replace")):
        raise SignatureError(f"{name}: the {algorithm} signature does not match the trigger's secret")


def _signature_refusal(event: Event, config_trigger: Mapping[str, Any], shared_secret: str | None) -> str | None:
    """Echo's ``passesGithubAuthenticationCheck``: why this trigger may not fire, or None when it may."""
    secret = config_trigger.get("secret")
    secret = secret if isinstance(secret, str) and secret else (shared_secret or "")
    signed = SIGNATURE_256 in event.headers or SIGNATURE_1 in event.headers
    if not secret:
        return "the request is signed but the trigger has no secret" if signed else None
    try:
        verify_github_signature(secret, event.raw_body, event.headers)
    except SignatureError as err:
        return str(err)
    return None


# ---- matching -----------------------------------------------------------------------------------


def _same(config_value: Any, event_value: str | None) -> bool:
    return event_value is not None and java_str(config_value).lower() == event_value.lower()


def _branch_refusal(pattern: Any, branch: str | None) -> tuple[bool, str | None]:
    """(matches, refusal): an empty branch matches any; an invalid regex refuses the trigger."""
    if pattern is None or pattern == "":
        return True, None
    compiled = compile_pattern(java_str(pattern))
    if compiled is None:
        return False, f"branch: '{pattern}' is not a valid regular expression"
    return branch is not None and regex_full_match(java_str(pattern), branch), None


def _events_match(events: Any, action: str | None) -> bool:
    if not isinstance(events, list) or not events:
        return True
    return action in events


def build_git_trigger(event: Event, git: GitEvent, pipeline: JSON, config_trigger: JSON) -> JSON:
    """The trigger Echo sends Orca: the config trigger at the event's hash and branch, with its id and action."""
    trigger = base_trigger(pipeline, config_trigger, config_trigger.get("parameters"))
    for stale in ("buildNumber", "tag"):  # Echo's atHash/atBranch clear them
        trigger.pop(stale, None)
    for key, value in (("hash", git.hash), ("branch", git.branch), ("action", git.action)):
        if value is None:
            trigger.pop(key, None)
        else:
            trigger[key] = value
    trigger["eventId"] = event.event_id
    if git.properties:
        own = config_trigger.get("properties")
        trigger["properties"] = {**(copy.deepcopy(own) if isinstance(own, dict) else {}), **git.properties}
    trigger["artifacts"] = copy.deepcopy(git.artifacts)
    return trigger


def match_git(
    event: Event, git: GitEvent, pipelines: Iterable[Any], *, shared_secret: str | None = None
) -> MatchResult:
    """Pipelines whose enabled ``git`` triggers the event fires, and those refused (signature, regex, artifacts)."""
    matches: list[Match] = []
    refused: list[Refusal] = []
    for pipeline, config in enabled_triggers(pipelines, GIT):
        if any(config.get(k) is None for k in ("source", "project", "slug")):
            continue
        if not (
            _same(config["source"], event.source)
            and _same(config["project"], git.project)
            and _same(config["slug"], git.slug)
            and _events_match(config.get("events"), git.action)
        ):
            continue
        branch_ok, reason = _branch_refusal(config.get("branch"), git.branch)
        if reason is None and branch_ok:
            reason = _signature_refusal(event, config, shared_secret)
            if reason is None and not expected_artifacts_satisfied(config, pipeline, git.artifacts):
                reason = "no received artifact matches the trigger's expectedArtifactIds"
        if reason is not None:
            refused.append(Refusal(pipeline_id(pipeline), reason))
        elif branch_ok:
            match = Match(pipeline, build_git_trigger(event, git, pipeline, config), config)
            if match not in matches:
                matches.append(match)
    return MatchResult(matches, refused)

"""The ``terraform`` stage's context as Armory writes it, checked and normalised (pure: runs in the workflow too).

Every refusal names the field: ``action: unknown action 'frobnicate' (one of plan, apply, destroy, output, show)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.errors import InvalidInputError
from core.fields import boolean

ACTIONS = ("plan", "apply", "destroy", "output", "show")
#: actions that change infrastructure (a second attempt of one is never made silently)
MUTATING = ("apply", "destroy")
GIT_REPO = "git/repo"
EMBEDDED = "embedded/base64"
#: the artifact a plan stage produces: the plan file is kept in Gennaker's store, the artifact names it
PLAN_ARTIFACT = "gennaker/terraform-plan"
PLANFILE = "planfile"
_WORKSPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,89}$")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class InvalidTerraformStage(InvalidInputError, ValueError):
    """A context the stage cannot run; ``field`` is the key at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass
class TerraformJob:
    """What one run does: the checked context."""

    action: str
    repo: dict[str, Any]
    version: str | None = None
    dir: str = ""
    var_files: list[dict[str, Any]] = field(default_factory=list)
    backend: dict[str, Any] | None = None
    planfile: dict[str, Any] | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    workspace: str = "default"
    targets: list[str] = field(default_factory=list)
    lock: bool = True
    plan_for_destroy: bool = False
    profile: str | None = None
    expected_planfile: dict[str, Any] | None = None


def _flag(context: dict[str, Any], key: str, default: bool) -> bool:
    value = context.get(key)
    if value is None:
        return default
    read = boolean(value)
    if read is None:
        raise InvalidTerraformStage(key, f"must be true or false, not {value!r}")
    return read


def _text(context: dict[str, Any], key: str) -> str | None:
    value = context.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidTerraformStage(key, f"must be text, not {type(value).__name__}")
    return value.strip()


def is_planfile(artifact: dict[str, Any]) -> bool:
    return artifact.get("type") == PLAN_ARTIFACT or artifact.get("name") == PLANFILE


def _artifact(value: Any, where: str, resolve: Any) -> dict[str, Any]:
    if isinstance(value, dict) and "type" not in value and isinstance(value.get("id"), str) and resolve is not None:
        found = resolve(value["id"])  # the newer UI's reference to an expected artifact
        if found is None:
            raise InvalidTerraformStage(where, f"no upstream stage produced the expected artifact {value['id']!r}")
        value = found
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise InvalidTerraformStage(where, "must be an artifact with a type")
    if value["type"] == GIT_REPO:
        if not isinstance(value.get("reference"), str) or not value["reference"].strip():
            raise InvalidTerraformStage(f"{where}.reference", "a git/repo artifact needs the repository URL")
    elif value["type"] in (EMBEDDED, PLAN_ARTIFACT):
        if not isinstance(value.get("reference"), str) or not value["reference"]:
            raise InvalidTerraformStage(f"{where}.reference", f"a {value['type']} artifact needs its reference")
    else:
        raise InvalidTerraformStage(
            f"{where}.type", f"artifact type {value['type']!r} is not supported (git/repo, embedded/base64)"
        )
    return value


def _relative(path: str, key: str) -> str:
    cleaned = path.strip().strip("/") if path.strip() not in ("", ".", "./") else ""
    if path.strip().startswith("/") or any(part == ".." for part in cleaned.split("/")):
        raise InvalidTerraformStage(key, f"must be a path inside the repository, not {path!r}")
    return cleaned


def parse(context: dict[str, Any], resolve: Any = None) -> TerraformJob:
    """Check ``context``; ``resolve(id)`` finds an expected artifact an upstream stage bound (None: not known)."""
    action = _text(context, "action")
    if action is None:
        raise InvalidTerraformStage("action", f"is required (one of {', '.join(ACTIONS)})")
    if action not in ACTIONS:
        raise InvalidTerraformStage("action", f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    raw = context.get("artifacts") or []
    if not isinstance(raw, list):
        raise InvalidTerraformStage("artifacts", "must be a list of artifacts")
    artifacts = [_artifact(a, f"artifacts[{i}]", resolve) for i, a in enumerate(raw)]
    repos = [a for a in artifacts if a["type"] == GIT_REPO]
    if len(repos) != 1:
        raise InvalidTerraformStage("artifacts", f"exactly one git/repo artifact is required, {len(repos)} given")
    plans = [a for a in artifacts if a["type"] != GIT_REPO and is_planfile(a)]
    if len(plans) > 1:
        raise InvalidTerraformStage("artifacts", "at most one planfile artifact may be given")
    if plans and action not in ("apply", "show", "destroy"):
        raise InvalidTerraformStage("artifacts", f"a planfile is only used by apply and show, not by {action}")
    if action == "show" and not plans:
        raise InvalidTerraformStage("artifacts", "show needs the planfile artifact of a plan stage")
    backend = context.get("backendArtifact")
    backend_artifact = _artifact(backend, "backendArtifact", resolve) if backend else None
    if backend_artifact is not None and backend_artifact["type"] != EMBEDDED:
        raise InvalidTerraformStage("backendArtifact.type", "only embedded/base64 backend configs are supported")
    overrides = context.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise InvalidTerraformStage("overrides", "must be a map of variable names to values")
    checked: dict[str, str] = {}
    for name, value in overrides.items():
        if not isinstance(name, str) or not _VAR_NAME.match(name):
            raise InvalidTerraformStage(f"overrides.{name}", "is not a terraform variable name")
        if isinstance(value, (dict, list)):
            import json

            checked[name] = json.dumps(value)
        elif isinstance(value, bool):
            checked[name] = "true" if value else "false"
        elif value is None:
            raise InvalidTerraformStage(f"overrides.{name}", "has no value")
        else:
            checked[name] = str(value)
    targets = context.get("targets") or []
    if not isinstance(targets, list) or not all(isinstance(t, str) and t.strip() for t in targets):
        raise InvalidTerraformStage("targets", "must be a list of resource addresses")
    workspace = _text(context, "workspace") or "default"
    if not _WORKSPACE.match(workspace):
        raise InvalidTerraformStage("workspace", f"{workspace!r} is not a workspace name (letters, digits, _ . -)")
    expected = context.get("expectedArtifacts") or []
    if not isinstance(expected, list):
        raise InvalidTerraformStage("expectedArtifacts", "must be a list")
    wanted = [
        e
        for e in expected
        if isinstance(e, dict)
        and isinstance(e.get("matchArtifact"), dict)
        and e["matchArtifact"].get("name") == PLANFILE
    ]
    if wanted and action != "plan":
        raise InvalidTerraformStage("expectedArtifacts", "only a plan stage produces a planfile")
    return TerraformJob(
        action=action,
        repo=repos[0],
        version=_text(context, "terraformVersion"),
        dir=_relative(_text(context, "dir") or "", "dir"),
        var_files=[a for a in artifacts if a["type"] == EMBEDDED and not is_planfile(a)],
        backend=backend_artifact,
        planfile=plans[0] if plans else None,
        overrides=checked,
        workspace=workspace,
        targets=[t.strip() for t in targets],
        lock=_flag(context, "lock", True),
        plan_for_destroy=_flag(context, "planForDestroy", False),
        profile=_text(context, "profile"),
        expected_planfile=wanted[0] if wanted else None,
    )

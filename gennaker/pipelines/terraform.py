"""Typed builder for the ``terraform`` stage (Armory's Terraformer), with plan → judgment → apply in mind::

    plan = Terraform("plan", repo="https://git.example.com/infra.git", ref="refs/heads/main", name="Plan",
                     overrides={"env": expr("parameters.env")}, produce_planfile=True)
    review = ManualJudgment("Review", instructions=plan.summary_expression())
    apply = Terraform("apply", repo="https://git.example.com/infra.git", ref="refs/heads/main", planfile_from=plan)

See docs/stages/terraform.md.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .checks import JSON, _fail, _flag, _jsonable, _text
from .stage import Stage

ACTIONS = ("plan", "apply", "destroy", "output", "show")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "plan"


@dataclass(eq=False)
class Terraform(Stage):
    """``terraform``: run ``action`` on the configuration in git ``repo`` at ``ref`` (under ``dir``).

    ``var_files`` are file contents (text or bytes) passed as ``-var-file``; ``overrides`` become ``-var``
    (expressions allowed); ``produce_planfile`` makes a plan stage bind its plan file as an expected artifact,
    which ``planfile_from=<that stage>`` hands to a later apply, show or destroy."""

    TYPE: ClassVar[str] = "terraform"
    DEFAULT_NAME: ClassVar[str] = "Terraform"

    action: str
    repo: str = field(kw_only=True)
    ref: str = field(default="refs/heads/master", kw_only=True)
    version: str | None = field(default=None, kw_only=True)
    dir: str | None = field(default=None, kw_only=True)
    workspace: str | None = field(default=None, kw_only=True)
    overrides: Mapping[str, Any] = field(default_factory=dict, kw_only=True)
    var_files: Sequence[str | bytes] = field(default=(), kw_only=True)
    targets: Sequence[str] = field(default=(), kw_only=True)
    lock: bool = field(default=True, kw_only=True)
    plan_for_destroy: bool = field(default=False, kw_only=True)
    profile: str | None = field(default=None, kw_only=True)
    produce_planfile: bool = field(default=False, kw_only=True)
    planfile_from: Terraform | None = field(default=None, kw_only=True)

    def planfile_id(self) -> str:
        """The id of the expected artifact this plan stage binds its plan file to."""
        return f"planfile-{_slug(self.display_name)}"

    def summary_expression(self) -> str:
        """An expression giving this plan's one-line summary (for a judgment's instructions)."""
        return "${#stage('" + self.display_name + "')['outputs']['status']['planSummary']['text']}"

    def _fields(self) -> JSON:
        if self.action not in ACTIONS:
            raise self._error("action", f"must be one of {ACTIONS}, got {self.action!r}")
        if self.produce_planfile and self.action != "plan":
            raise self._error("produce_planfile", "only a plan stage produces a planfile")
        if self.planfile_from is not None:
            if self.action not in ("apply", "show", "destroy"):
                raise self._error("planfile_from", "only apply, show and destroy use a planfile")
            if not (isinstance(self.planfile_from, Terraform) and self.planfile_from.produce_planfile):
                raise self._error("planfile_from", "must be a Terraform plan stage with produce_planfile=True")
        if self.action == "show" and self.planfile_from is None:
            raise self._error("planfile_from", "show needs the plan stage whose planfile it shows")
        artifacts: list[JSON] = [
            {
                "type": "git/repo",
                "reference": _text(self.repo, self._where("repo")),
                "version": _text(self.ref, self._where("ref")),
            }
        ]
        for i, content in enumerate(self.var_files):
            if isinstance(content, str):
                content = content.encode()
            if not isinstance(content, bytes):
                raise _fail(f"{self._where('var_files')}[{i}]", "must be text or bytes")
            artifacts.append(
                {
                    "type": "embedded/base64",
                    "name": f"var-file-{i}.tfvars",
                    "reference": base64.b64encode(content).decode(),
                }
            )
        if self.planfile_from is not None:
            artifacts.append({"id": self.planfile_from.planfile_id(), "account": "embedded-artifact"})
        out: JSON = {"action": self.action, "artifacts": artifacts}
        if self.version is not None:
            out["terraformVersion"] = _text(self.version, self._where("version"))
        if self.dir is not None:
            out["dir"] = _text(self.dir, self._where("dir"))
        if self.workspace is not None:
            out["workspace"] = _text(self.workspace, self._where("workspace"))
        if self.overrides:
            out["overrides"] = _jsonable(dict(self.overrides), self._where("overrides"))
        if self.targets:
            out["targets"] = [_text(t, f"{self._where('targets')}[{i}]") for i, t in enumerate(self.targets)]
        if not _flag(self.lock, self._where("lock")):
            out["lock"] = False
        if _flag(self.plan_for_destroy, self._where("plan_for_destroy")):
            out["planForDestroy"] = True
        if self.profile is not None:
            out["profile"] = _text(self.profile, self._where("profile"))
        if self.produce_planfile:
            out["expectedArtifacts"] = [
                {
                    "id": self.planfile_id(),
                    "displayName": "planfile",
                    "matchArtifact": {"type": "embedded/base64", "name": "planfile"},
                    "useDefaultArtifact": False,
                }
            ]
        return out

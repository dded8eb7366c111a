"""Typed builders for the CI stages (Igor's): ``jenkins`` and the legacy ``script`` stage.

    Jenkins("ci", "build-app", parameters={"BRANCH": "main"}, property_file="build.properties")

See docs/stages/jenkins.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .pipelines import JSON, Stage, _flag, _jsonable, _text


@dataclass(eq=False)
class Jenkins(Stage):
    """``jenkins``: run ``job`` on ``master`` with ``parameters``; ``property_file`` becomes stage outputs."""

    TYPE: ClassVar[str] = "jenkins"
    DEFAULT_NAME: ClassVar[str] = "Jenkins"

    master: str
    job: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    property_file: str | None = field(default=None, kw_only=True)
    mark_unstable_as_successful: bool = field(default=False, kw_only=True)
    wait_for_completion: bool = field(default=True, kw_only=True)

    def _fields(self) -> JSON:
        out: JSON = {
            "master": _text(self.master, self._where("master")),
            "job": _text(self.job, self._where("job")),
            "parameters": _jsonable(dict(self.parameters), self._where("parameters")),
            "markUnstableAsSuccessful": _flag(
                self.mark_unstable_as_successful, self._where("mark_unstable_as_successful")
            ),
            "waitForCompletion": _flag(self.wait_for_completion, self._where("wait_for_completion")),
        }
        if self.property_file is not None:
            out["propertyFile"] = _text(self.property_file, self._where("property_file"))
        return out


@dataclass(eq=False)
class Script(Stage):
    """``script`` (legacy): the configured script job runs ``script_path`` with ``command``."""

    TYPE: ClassVar[str] = "script"
    DEFAULT_NAME: ClassVar[str] = "Script"

    script_path: str
    command: str = ""
    repo_url: str | None = field(default=None, kw_only=True)
    repo_branch: str | None = field(default=None, kw_only=True)
    property_file: str | None = field(default=None, kw_only=True)
    wait_for_completion: bool = field(default=True, kw_only=True)

    def _fields(self) -> JSON:
        out: JSON = {
            "scriptPath": _text(self.script_path, self._where("script_path")),
            "command": self.command,
            "waitForCompletion": _flag(self.wait_for_completion, self._where("wait_for_completion")),
        }
        for attr, key in (("repo_url", "repoUrl"), ("repo_branch", "repoBranch"), ("property_file", "propertyFile")):
            if getattr(self, attr) is not None:
                out[key] = _text(getattr(self, attr), self._where(attr))
        return out


__all__ = ["Jenkins", "Script"]

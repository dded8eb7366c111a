"""Typed builders for the CI stages (Igor's): ``jenkins``, the legacy ``script`` stage, ``travis`` and
``github-actions``, ``gitlab-ci``, and the ``travis``, ``github-actions`` and ``gitlab-ci`` triggers.

    Jenkins("ci", "build-app", parameters={"BRANCH": "main"}, property_file="build.properties")
    Travis("travis", "org/app/main", parameters={"TARGET": "release"}, property_file="travis")
    GitHubActions("gha", "org/app/deploy.yml", ref="v2.0", inputs={"version": "${version}"})
    TravisTrigger("travis", "org/app/main"); GitHubActionsTrigger("gha", "org/app/ci.yml")
    GitLabCi("gitlab", "group/app", ref="main", variables={"TARGET": "release"}); GitLabCiTrigger("gitlab", "group/app")

See docs/stages/jenkins.md and docs/stages/ci.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .checks import JSON, _flag, _jsonable, _strings, _text
from .stage import Stage
from .trigger import BuildTrigger


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


@dataclass(eq=False)
class Bake(Stage):
    """``bake`` (Rosco's): ``package`` on ``base_os``, one image per region (docs/stages/bake.md)."""

    TYPE: ClassVar[str] = "bake"
    DEFAULT_NAME: ClassVar[str] = "Bake"

    package: str
    base_os: str
    regions: Sequence[str] = ()
    base_label: str = field(default="release", kw_only=True)
    cloud_provider: str = field(default="aws", kw_only=True)
    vm_type: str = field(default="hvm", kw_only=True)
    store_type: str = field(default="ebs", kw_only=True)
    template_file_name: str | None = field(default=None, kw_only=True)
    var_file_name: str | None = field(default=None, kw_only=True)
    extended_attributes: Mapping[str, str] = field(default_factory=dict, kw_only=True)
    base_ami: str | None = field(default=None, kw_only=True)
    ami_name: str | None = field(default=None, kw_only=True)
    ami_suffix: str | None = field(default=None, kw_only=True)
    account: str | None = field(default=None, kw_only=True)
    rebake: bool = field(default=False, kw_only=True)

    def _fields(self) -> JSON:
        regions = _strings(self.regions, self._where("regions"))
        if not regions:
            raise self._error("regions", "needs at least one region")
        out: JSON = {
            "package": _text(self.package, self._where("package")),
            "baseOs": _text(self.base_os, self._where("base_os")),
            "regions": regions,
            "baseLabel": _text(self.base_label, self._where("base_label")),
            "cloudProviderType": _text(self.cloud_provider, self._where("cloud_provider")),
            "vmType": _text(self.vm_type, self._where("vm_type")),
            "storeType": _text(self.store_type, self._where("store_type")),
            "rebake": _flag(self.rebake, self._where("rebake")),
        }
        for attr, key in (
            ("template_file_name", "templateFileName"),
            ("var_file_name", "varFileName"),
            ("base_ami", "baseAmi"),
            ("ami_name", "amiName"),
            ("ami_suffix", "amiSuffix"),
            ("account", "account"),
        ):
            if getattr(self, attr) is not None:
                out[key] = _text(getattr(self, attr), self._where(attr))
        if self.extended_attributes:
            out["extendedAttributes"] = _jsonable(dict(self.extended_attributes), self._where("extended_attributes"))
        return out


def _ci_fields(
    stage: Stage, master: str, job: str, parameters: Mapping[str, Any], wait: bool, **texts: str | None
) -> JSON:
    """The fields every CI stage has (Orca's ``CIStageDefinition``); ``texts`` are optional text fields by
    attribute name (``property_file`` → ``propertyFile``)."""
    out: JSON = {
        "master": _text(master, stage._where("master")),
        "job": _text(job, stage._where("job")),
        "parameters": _jsonable(dict(parameters), stage._where("parameters")),
        "waitForCompletion": _flag(wait, stage._where("wait_for_completion")),
    }
    for attr, value in texts.items():
        if value is not None:
            head, *rest = attr.split("_")
            out[head + "".join(p.capitalize() for p in rest)] = _text(value, stage._where(attr))
    return out


@dataclass(eq=False)
class Travis(Stage):
    """``travis``: a build of ``job`` (``owner/repo/branch``) on the Travis ``master``; ``parameters`` become
    its environment; ``property_file`` (any name) reads its log's ``SPINNAKER_PROPERTY_`` lines into outputs."""

    TYPE: ClassVar[str] = "travis"
    DEFAULT_NAME: ClassVar[str] = "Travis"

    master: str
    job: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    property_file: str | None = field(default=None, kw_only=True)
    wait_for_completion: bool = field(default=True, kw_only=True)

    def _fields(self) -> JSON:
        return _ci_fields(
            self, self.master, self.job, self.parameters, self.wait_for_completion, property_file=self.property_file
        )


@dataclass(eq=False)
class GitHubActions(Stage):
    """``github-actions``: dispatch the workflow ``job`` (``owner/repo/<workflow file>``) on ``ref`` (a branch
    or tag; the default branch when None) with ``inputs``; ``property_file`` is read from the run's artifacts."""

    TYPE: ClassVar[str] = "github-actions"
    DEFAULT_NAME: ClassVar[str] = "GitHub Actions"

    master: str
    job: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    ref: str | None = field(default=None, kw_only=True)
    property_file: str | None = field(default=None, kw_only=True)
    wait_for_completion: bool = field(default=True, kw_only=True)

    def _fields(self) -> JSON:
        if len(self.inputs) > 25:
            raise self._error("inputs", "GitHub takes at most 25 workflow_dispatch inputs")
        return _ci_fields(
            self,
            self.master,
            self.job,
            self.inputs,
            self.wait_for_completion,
            ref=self.ref,
            property_file=self.property_file,
        )


@dataclass(eq=False)
class GitLabCi(Stage):
    """``gitlab-ci``: run a pipeline of the project ``job`` (``group/project``) on ``ref`` (the default branch
    when None) with ``variables``; ``property_file`` is read from its jobs' artifacts."""

    TYPE: ClassVar[str] = "gitlab-ci"
    DEFAULT_NAME: ClassVar[str] = "GitLab CI"

    master: str
    job: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    ref: str | None = field(default=None, kw_only=True)
    property_file: str | None = field(default=None, kw_only=True)
    wait_for_completion: bool = field(default=True, kw_only=True)

    def _fields(self) -> JSON:
        return _ci_fields(
            self,
            self.master,
            self.job,
            self.variables,
            self.wait_for_completion,
            ref=self.ref,
            property_file=self.property_file,
        )


@dataclass(eq=False)
class TravisTrigger(BuildTrigger):
    """``travis``: a successful build of ``job`` on the Travis ``master``: ``owner/repo`` (any branch) or
    ``owner/repo/<branch>``."""

    TYPE: ClassVar[str] = "travis"


@dataclass(eq=False)
class GitHubActionsTrigger(BuildTrigger):
    """``github-actions``: a workflow run of ``job`` (``owner/repo/<workflow file>``) that completed with success."""

    TYPE: ClassVar[str] = "github-actions"


@dataclass(eq=False)
class GitLabCiTrigger(BuildTrigger):
    """``gitlab-ci``: a pipeline of the project ``job`` (``group/project``, or the numeric project id Igor's
    events carry) on the GitLab ``master`` that ended with ``success``."""

    TYPE: ClassVar[str] = "gitlab-ci"


__all__ = [
    "Bake",
    "GitHubActions",
    "GitHubActionsTrigger",
    "GitLabCi",
    "GitLabCiTrigger",
    "Jenkins",
    "Script",
    "Travis",
    "TravisTrigger",
]

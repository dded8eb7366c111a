"""``terraform.*`` settings: where terraform runs, which binaries, what environment, named profiles, the state API.

In YAML under ``terraform:``; in the environment ``GENNAKER_TERRAFORM__<NAME>`` (maps and lists as JSON).
Secrets are ``SecretStr``: they never appear in reprs, errors, logs or execution history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: Field names under ``terraform`` whose values must never appear in errors or logs.
SECRET_FIELDS = frozenset({"env", "variables", "git_token", "state_token", "gitToken", "stateToken"})

#: what every terraform process gets, whatever the operator adds
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


class TerraformProfile(BaseModel):
    """Armory's Named Profile: credentials and variables an operator defines, chosen per stage by ``profile``."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: Annotated[str, Field(min_length=1)]
    #: applications whose pipelines may use the profile; empty means every application
    applications: list[str] = Field(default_factory=list)
    #: environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, static ones)
    env: dict[str, SecretStr] = Field(default_factory=dict)
    #: terraform variables, passed as ``TF_VAR_<name>`` in the environment (never on the command line)
    variables: dict[str, SecretStr] = Field(default_factory=dict)
    #: a token for https git clones (sent as an HTTP header through git's environment, never in the URL)
    git_token: SecretStr | None = None

    def allows(self, application: str) -> bool:
        wanted = application.strip().lower()
        return not self.applications or any(a.strip().lower() == wanted for a in self.applications)

    def secrets(self) -> list[str]:
        """Every secret value of the profile, for redacting terraform's and git's output."""
        values = [v.get_secret_value() for v in (*self.env.values(), *self.variables.values())]
        if self.git_token is not None:
            values.append(self.git_token.get_secret_value())
        return [v for v in values if len(v) >= 4]


class TerraformSettings(BaseModel):
    """How the worker runs terraform (docs/stages/terraform.md)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    #: working directories are made under this root (one fresh directory per run); None: ``state_dir/terraform``
    work_root: Path | None = None
    #: ``terraformVersion`` → path of that binary; a version not listed here is a stage error
    versions: dict[str, str] = Field(default_factory=dict)
    #: the binary used when a stage names no version
    default_binary: str = "terraform"
    #: the git used to check repositories out
    git_binary: str = "git"
    #: PATH given to terraform and git
    path: str = DEFAULT_PATH
    #: more environment variables every run gets (proxies, plugin caches); secrets belong in profiles
    env: dict[str, SecretStr] = Field(default_factory=dict)
    #: the named profiles stages may choose with ``profile``
    profiles: list[TerraformProfile] = Field(default_factory=list)
    #: Gennaker's API as terraform reaches it, for the ``http`` state backend; None: Gennaker keeps no state
    state_url: str | None = None
    #: an API token (``gnk_...``) terraform sends as its http backend password, when authentication is on
    state_token: SecretStr | None = None
    #: each log stream (stdout, stderr per phase) keeps at most this many bytes (its end)
    log_cap_bytes: Annotated[int, Field(gt=1024)] = 64 * 1024
    #: how long one run (init and the action) may take
    run_timeout_s: Annotated[float, Field(gt=0)] = 2 * 3600.0

    @field_validator("state_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("state_url must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("profiles")
    @classmethod
    def _unique(cls, value: list[TerraformProfile]) -> list[TerraformProfile]:
        names = [p.name for p in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"profile names must be unique: {', '.join(duplicates)}")
        return value

    def profile(self, name: str) -> TerraformProfile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def binary(self, version: str | None) -> str | None:
        """The binary for ``version`` (None: the default); None when the operator installed no such version."""
        if version is None or version == "":
            return self.default_binary
        return self.versions.get(version)

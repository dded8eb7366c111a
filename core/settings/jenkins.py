"""Jenkins masters in the settings (Igor's ``jenkins.masters[]``), and the legacy script job's location.

Attached to the settings object as ``settings.jenkins``; in the environment
``GENNAKER_JENKINS__MASTERS='[{"name": "ci", "address": "https://ci.example.com", "username": "spinnaker",
"apiToken": "..."}]'``. Keys are read in snake_case or camelCase; Igor's ``password`` is read as the API
token, ``apiTokenFile`` names a file that holds it. The token is a ``SecretStr``: it never appears in
reprs, errors or logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from core.errors import ConfigError as JenkinsConfigError

from .build_servers import BuildMonitorSettings, Seconds, http_url, one_of, path_name, read_secret

#: Field names under ``jenkins`` whose values must never appear in errors or logs.
SECRET_FIELDS = frozenset({"api_token", "apiToken", "password"})


class JenkinsMaster(BaseModel):
    """One Jenkins server a pipeline may name as ``master``."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, hide_input_in_errors=True
    )

    name: Annotated[str, Field(min_length=1)]
    #: the Jenkins root URL, ``https://ci.example.com/`` or ``https://example.com/jenkins``
    address: Annotated[str, Field(min_length=1)]
    username: str | None = None
    #: a Jenkins API token (a password also works where Jenkins allows it)
    api_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("api_token", "apiToken", "password")
    )
    #: or a file holding the token (a mounted secret), read when the master is first used
    api_token_file: Path | None = None
    #: CSRF crumbs: None asks Jenkins (``crumbIssuer``) and sends one when it issues one; True requires
    #: one (a master without a crumb issuer is a configuration error); False never asks.
    csrf: bool | None = None
    #: connect/read timeout of each HTTP call to this master
    timeout: Seconds = 30.0

    @field_validator("address")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = http_url(value)
        return value if value.endswith("/") else value + "/"

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        return path_name(value)

    @model_validator(mode="after")
    def _one_token(self) -> JenkinsMaster:
        one_of(self.api_token, self.api_token_file, "apiToken or apiTokenFile")
        return self

    def __repr__(self) -> str:
        return f"JenkinsMaster(name={self.name!r}, address={self.address!r}, username={self.username!r})"

    def token(self) -> str | None:
        """The API token, from the settings or from ``api_token_file``."""
        return read_secret(
            self.api_token, self.api_token_file, f"Jenkins master '{self.name}': cannot read apiTokenFile"
        )


def _reason(error: Any) -> str:
    """``field: why`` for one pydantic error, in camelCase as the entry is usually written."""
    field = ".".join(to_camel(p) if isinstance(p, str) else f"[{p}]" for p in error["loc"])
    why = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {why}" if field else why


def jenkins_masters(entries: Any) -> list[JenkinsMaster]:
    """Parse the ``masters`` list; a bad entry raises :class:`JenkinsConfigError` naming it and its field."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise JenkinsConfigError("masters: must be a list of masters")
    masters: list[JenkinsMaster] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, JenkinsMaster):
            masters.append(entry)
            continue
        label = f"masters[{index}]"
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            label += f" ({entry['name']})"
        if not isinstance(entry, dict):
            raise JenkinsConfigError(f"{label}: must be a mapping with name, address, username and apiToken")
        try:
            masters.append(JenkinsMaster.model_validate(entry))
        except ValidationError as err:
            # pydantic's own text repeats the input (the token): only fields and reasons are safe to show
            reasons = [_reason(e) for e in err.errors(include_url=False, include_input=False, include_context=False)]
            raise JenkinsConfigError(f"{label}: {'; '.join(reasons)}") from None
    names = [m.name for m in masters]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise JenkinsConfigError(f"masters: names must be unique, repeated: {', '.join(repeated)}")
    return masters


class ScriptJobSettings(BaseModel):
    """Where the legacy ``script`` stage runs: Orca's ``script.master`` and ``script.job``."""

    model_config = ConfigDict(extra="forbid")

    master: str = "master"
    job: str = "job"


class JenkinsPollingSettings(BuildMonitorSettings):
    """Igor's build monitor: how often each master is polled for finished builds (the ``jenkins`` triggers)."""


class JenkinsSettings(BaseModel):
    """Everything the Jenkins stages and the builds API read from the settings."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    masters: list[JenkinsMaster] = Field(default_factory=list)
    script: ScriptJobSettings = Field(default_factory=ScriptJobSettings)
    #: Orca's poll interval of ``waitForJenkinsJobStart`` and ``monitorJenkinsJob``
    poll_interval_s: Seconds = 10.0
    #: the build monitor behind ``jenkins`` triggers
    polling: JenkinsPollingSettings = Field(default_factory=JenkinsPollingSettings)

    @field_validator("masters", mode="before")
    @classmethod
    def _parse_masters(cls, value: Any) -> list[JenkinsMaster]:
        try:
            return jenkins_masters(value)
        except JenkinsConfigError as err:
            raise ValueError(str(err)) from None

"""Build services other than Jenkins (Igor's ``travis.masters[]``, ``gitlab-ci.masters[]`` and our GitHub
Actions), attached to the settings object as ``settings.ci``::

    ci:
      travis: [{name: travis, address: https://api.travis-ci.com, token: ..., permissions: {READ: [dev]}}]
      githubActions: [{name: gha, address: https://api.github.com, token: ..., repositories: [org/app]}]
      gitlabCi: [{name: gitlab, address: https://gitlab.com, privateToken: ..., projects: [group/app]}]

Names are unique across every build service, Jenkins masters included (they share Gate's ``/v3/builds``
and the poll cursors). Tokens are ``SecretStr`` (or ``tokenFile``, a mounted secret): never in reprs,
errors or logs. Keys are read in snake_case or camelCase.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

from .build_servers import BuildMonitorSettings, Seconds, http_url, one_of, path_name, read_secret

#: Field names under ``ci`` whose values must never appear in errors or logs.
SECRET_FIELDS = frozenset({"token", "private_token", "privateToken", "github_token", "githubToken"})


class BuildServiceSettings(BaseModel):
    """What every build service has: a name, an API address, a token and Fiat permissions."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, hide_input_in_errors=True
    )

    name: Annotated[str, Field(min_length=1)]
    #: the API root (``https://api.travis-ci.com``, ``https://api.github.com``, ``https://gitlab.com``)
    address: str
    token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("token", "private_token", "privateToken")
    )
    #: or a file holding the token, read when the service is first used
    token_file: Path | None = None
    #: Igor's ``permissions`` of the master: ``{READ: [roles], WRITE: [roles]}``
    permissions: dict[str, list[str]] = Field(default_factory=dict)
    #: connect/read timeout of each HTTP call
    timeout: Seconds = 30.0

    @field_validator("address")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value).rstrip("/")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        return path_name(value)

    @model_validator(mode="after")
    def _one_token(self) -> BuildServiceSettings:
        one_of(self.token, self.token_file, "token or tokenFile")
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, address={self.address!r})"

    def secret(self) -> str | None:
        """The token, from the settings or from ``token_file``."""
        return read_secret(self.token, self.token_file, f"build service '{self.name}': cannot read tokenFile")


class TravisServiceSettings(BuildServiceSettings):
    """Igor's ``travis.masters[]`` entry, on Travis' API v3 (``Authorization: token <API token>``)."""

    address: str = "https://api.travis-ci.com"
    #: where people read builds (links in ``buildInfo``): Igor's ``baseUrl``
    base_url: str = "https://app.travis-ci.com"
    #: Igor's ``numberOfRepositories``: how many repositories the build monitor reads per poll
    number_of_repositories: Annotated[int, Field(ge=1)] = 25
    #: Igor's ``buildResultLimit``: builds read per repository and poll
    build_result_limit: Annotated[int, Field(ge=1, le=100)] = 10
    #: only these repositories (``owner/repo``) are listed and polled; empty: every active one
    repositories: list[str] = Field(default_factory=list)


class GitHubActionsServiceSettings(BuildServiceSettings):
    """A GitHub (or GitHub Enterprise: ``https://ghe.example.com/api/v3``) whose Actions workflows are jobs."""

    address: str = "https://api.github.com"
    #: the repositories (``owner/repo``) whose workflows are jobs; GitHub has no "every repository" listing
    repositories: list[str] = Field(default_factory=list)
    #: workflow runs read per workflow and poll
    build_result_limit: Annotated[int, Field(ge=1, le=100)] = 10


class GitLabCiServiceSettings(BuildServiceSettings):
    """Igor's ``gitlab-ci.masters[]`` entry: a GitLab (``https://gitlab.com`` or self-managed; the REST API
    v4 under ``/api/v4``) whose projects' pipelines are builds, with a personal, group or project access
    token (``privateToken``; the ``api`` scope to start and cancel pipelines, ``read_api`` to read)."""

    address: str = "https://gitlab.com"
    #: only these projects (``group/project`` paths) are listed and polled; empty: every project the token
    #: sees with CI enabled, narrowed as Igor's ``limitByMembership`` / ``limitByOwnership`` narrow it
    projects: list[str] = Field(default_factory=list)
    limit_by_membership: bool = True
    limit_by_ownership: bool = False
    #: pipelines read per project and poll (Igor reads 5)
    build_result_limit: Annotated[int, Field(ge=1, le=100)] = 10


class CiPollingSettings(BuildMonitorSettings):
    """Igor's build monitors of these services (the ``travis``/``github-actions``/``gitlab-ci`` triggers)."""


class CiSettings(BaseModel):
    """Every non-Jenkins build service, the stages' poll interval and the build monitor."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", hide_input_in_errors=True
    )

    travis: list[TravisServiceSettings] = Field(default_factory=list)
    github_actions: list[GitHubActionsServiceSettings] = Field(default_factory=list)
    #: Igor's ``gitlab-ci.masters`` (read as ``gitlabCi``, ``gitlab_ci`` or ``gitlab-ci``)
    gitlab_ci: list[GitLabCiServiceSettings] = Field(
        default_factory=list, validation_alias=AliasChoices("gitlabCi", "gitlab_ci", "gitlab-ci")
    )
    #: Orca's poll interval while a CI stage waits for its build to start and to finish
    poll_interval_s: Seconds = 10.0
    polling: CiPollingSettings = Field(default_factory=CiPollingSettings)

    def services(self) -> list[BuildServiceSettings]:
        """Every configured build service of this section, in order."""
        found: list[BuildServiceSettings] = []
        for value in self.__dict__.values():
            if isinstance(value, list):
                found.extend(v for v in value if isinstance(v, BuildServiceSettings))
        return found

    @model_validator(mode="after")
    def _unique_names(self) -> CiSettings:
        names = [s.name for s in self.services()]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"build service names must be unique, repeated: {', '.join(repeated)}")
        return self


def ci_settings(settings: Any) -> CiSettings:
    """``settings.ci`` as :class:`CiSettings` (a plain mapping or None in tests is read the same way)."""
    ci = getattr(settings, "ci", None)
    return ci if isinstance(ci, CiSettings) else CiSettings.model_validate(ci or {})


def build_service_permissions(settings: Any) -> dict[str, dict[str, list[str]]]:
    """Every build service's Fiat permissions by name: a CI service's own ``permissions``, then
    ``auth.build_services`` (Jenkins masters' and any override) over them."""
    found: dict[str, dict[str, list[str]]] = {
        s.name: dict(s.permissions) for s in ci_settings(settings).services() if s.permissions
    }
    auth = getattr(settings, "auth", None)
    found.update(getattr(auth, "build_services", None) or {})
    return found

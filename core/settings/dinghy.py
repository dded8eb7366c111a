"""Dinghy sources as settings (``GENNAKER_DINGHY__*`` or the settings file's ``dinghy:``)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

Provider = Literal["github", "gitlab", "bitbucket", "stash"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class GitRepoSettings(BaseModel):
    """A repository: where git clones it from, and how its provider's webhooks name it."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1)
    #: the live branch: pushes to it are applied; pushes to any other branch are only validated
    branch: str = "main"
    provider: Provider = "github"
    #: the webhook's project (owner/organisation) and slug (repository name), as docs/triggers.md reads them
    project: str = ""
    slug: str = ""
    #: GitHub's webhook secret (X-Hub-Signature-256); a push without a valid signature starts nothing
    webhook_secret: SecretStr | None = None
    #: seconds between polls of the live branch (a Temporal Schedule); 0 turns polling off
    poll_interval_s: float = Field(default=0, ge=0)


class DinghySourceSettings(GitRepoSettings):
    """An application repository holding dinghyfiles."""

    name: str
    dinghyfile: str = "dinghyfile"
    format: Literal["json", "yaml"] = "json"
    #: lock the pipelines it writes against edits in the API and UI (Dinghy's autoLockPipelines)
    lock_pipelines: bool = True
    #: GitHub-compatible REST API for commit statuses (e.g. https://api.github.com); empty: no statuses
    status_api: str = ""
    status_token: SecretStr | None = None
    status_context: str = "dinghy"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("a source name is 1-63 letters, digits, '.', '_' or '-'")
        return value


class DinghySettings(BaseModel):
    """Dinghy sources and the shared module (template) repository."""

    model_config = ConfigDict(extra="forbid")

    sources: list[DinghySourceSettings] = Field(default_factory=list)
    templates: GitRepoSettings | None = None
    cache_dir: str = "~/.gennaker/dinghy"
    task_queue: str = ""

    @model_validator(mode="after")
    def _unique(self) -> DinghySettings:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"sources: duplicate names {dupes}")
        return self

    def source(self, name: str) -> DinghySourceSettings | None:
        return next((s for s in self.sources if s.name == name), None)

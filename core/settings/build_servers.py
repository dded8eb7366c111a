"""What the settings of every build server share, Jenkins masters (``jenkins.py``) and the other build services
(``ci.py``): the field rules of a server's name, address and token, and Igor's build monitor settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

from core.errors import ConfigError

Seconds = Annotated[float, Field(gt=0)]


def http_url(value: str) -> str:
    """A server's API address: an http(s) URL, stripped."""
    value = value.strip()
    if not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


def path_name(value: str) -> str:
    """A server's name, which appears in Gate's URL paths (``/v3/builds/{name}/...``)."""
    if "/" in value or value != value.strip():
        raise ValueError("must not contain '/' or surrounding spaces (it appears in URL paths)")
    return value


def one_of(token: SecretStr | None, token_file: Path | None, names: str) -> None:
    """A token is given inline or as a file, not both (``names``: how the two are spelt, for the message)."""
    if token is not None and token_file is not None:
        raise ValueError(f"set {names}, not both")


def read_secret(token: SecretStr | None, token_file: Path | None, what: str) -> str | None:
    """The token from the settings, else from its file (a mounted secret, read when the server is first used);
    a file that cannot be read is a :class:`ConfigError` naming ``what``, never its content."""
    if token is not None:
        return token.get_secret_value()
    if token_file is None:
        return None
    try:
        return token_file.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ConfigError(f"{what} ({type(err).__name__})") from None


class BuildMonitorSettings(BaseModel):
    """Igor's build monitor of a section's servers: how often each is polled for finished builds (the triggers)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    #: Igor's ``<section>.polling.enabled``: False creates no poll Schedules (the section's triggers never fire)
    enabled: bool = True
    #: Igor's ``spinnaker.build.pollInterval`` (60 s)
    interval_s: Annotated[float, Field(ge=5)] = 60.0
    #: Igor's ``spinnaker.build.handleFirstBuilds`` (true in Igor): a job seen for the first time fires its
    #: finished builds too. Ours is false: the first sight of a job only records where its builds stand.
    handle_first_builds: bool = False

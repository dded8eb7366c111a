"""The one settings object of Gennaker: ``GENNAKER_*`` environment variables over an optional YAML file.

Nested settings use ``__`` in the environment (``GENNAKER_TEMPORAL__ADDRESS``, ``GENNAKER_API__PORT``); lists
and dicts are JSON there (``GENNAKER_ACTIVITY_QUEUES='{"createBake": "gennaker-bake"}'``). The YAML file is
``$GENNAKER_CONFIG_FILE``, else ``./gennaker.yml`` when it exists; environment variables win over it.
Every setting is listed in ``docs/configuration.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from core.errors import ConfigError
from core.settings.auth import AuthSettings
from core.settings.bakery import BakerySettings
from core.settings.canary import SECRET_FIELDS as CANARY_SECRET_FIELDS
from core.settings.canary import CanarySettings
from core.settings.ci import SECRET_FIELDS as CI_SECRET_FIELDS
from core.settings.ci import CiSettings
from core.settings.deployment import DeploymentSettings
from core.settings.dinghy import DinghySettings
from core.settings.events import SECRET_FIELDS as EVENT_SECRET_FIELDS
from core.settings.events import EventSettings
from core.settings.jenkins import SECRET_FIELDS as JENKINS_SECRET_FIELDS
from core.settings.jenkins import JenkinsSettings
from core.settings.limits import RequestLimitSettings
from core.settings.notify import SECRET_FIELDS as NOTIFY_SECRET_FIELDS
from core.settings.notify import NotificationSettings
from core.settings.observability import ObservabilitySettings
from core.settings.outbound import OutboundSettings
from core.settings.payloads import PayloadSettings
from core.settings.reconciler import ReconcilerSettings
from core.settings.terraform import SECRET_FIELDS as TERRAFORM_SECRET_FIELDS
from core.settings.terraform import TerraformSettings
from core.settings.ui import UiSettings

ENV_PREFIX = "GENNAKER_"
NESTED_DELIMITER = "__"
CONFIG_FILE_ENV = "GENNAKER_CONFIG_FILE"
DEFAULT_CONFIG_FILE = Path("gennaker.yml")

# Field names whose values never appear in errors, logs or `gennaker config check`.
SECRET_FIELDS = (
    frozenset({"api_key", "database_url", "git_webhook_secret"})
    | NOTIFY_SECRET_FIELDS
    | JENKINS_SECRET_FIELDS
    | CANARY_SECRET_FIELDS
    | TERRAFORM_SECRET_FIELDS
    | CI_SECRET_FIELDS
    | EVENT_SECRET_FIELDS
)

Port = Annotated[int, Field(ge=1, le=65535)]


class ConfigFileError(ConfigError, ValueError):
    """The YAML settings file is missing (when named explicitly), unreadable or not a mapping."""


class TemporalSettings(BaseModel):
    """Where the Temporal frontend is and how to authenticate to it (a dev server, a cluster or Temporal Cloud)."""

    model_config = ConfigDict(extra="forbid")

    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    tls: bool = False
    tls_cert_path: Path | None = None
    tls_key_path: Path | None = None
    tls_ca_path: Path | None = None
    tls_server_name: str | None = None
    api_key: SecretStr | None = None


class DevServerSettings(BaseModel):
    """The local ``temporal server start-dev`` that ``gennaker up`` runs (SQLite file under ``state_dir``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    port: Port = 7233
    ui_port: Port = 8233
    db_file: Path | None = None
    log_level: Literal["debug", "info", "warn", "error", "never"] = "warn"
    extra_args: list[str] = Field(default_factory=list)


class ApiSettings(BaseModel):
    """Where the Gate-compatible REST API listens."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: Port = 8084
    # uvicorn worker processes sharing the port (`gennaker up`); nothing in the API is decided per process
    workers: int = Field(default_factory=lambda: min(os.cpu_count() or 1, 4), ge=1, le=64)


class Settings(BaseSettings):
    """Everything Gennaker's processes read at start-up; built by :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        extra="forbid",
        validate_default=True,
    )

    state_dir: Path = Path(".gennaker")
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    dev_server: DevServerSettings = Field(default_factory=DevServerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    task_queue: str = "gennaker"
    activity_queues: dict[str, str] = Field(default_factory=dict)
    expression_url_allow_list: list[str] = Field(default_factory=list)
    execution_window_timezone: str = "America/Los_Angeles"
    #: the store (applications, pipeline configs, executions); None → a SQLite file in ``state_dir``
    database_url: SecretStr | None = None
    #: accounts ``GET /credentials`` lists, by provider, until the cloud providers bring their own
    accounts: list[dict[str, Any]] = Field(default_factory=list)
    #: the zone cron triggers' Quartz expressions are read in (Echo's ``scheduler.cron.timezone``)
    cron_timezone: str = "America/Los_Angeles"
    #: how late a cron run may still start after Gennaker (or Temporal) was down; older misses are skipped
    cron_catchup_window_s: float = Field(default=600.0, ge=10)
    #: GitHub webhooks without a per-trigger ``secret`` are checked against this one, when set
    git_webhook_secret: SecretStr | None = None
    #: Echo's notification channels (Slack, email, webhooks) and the base URL their links use
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    #: Igor's Jenkins masters, the script stage's job, the Jenkins poll interval
    jenkins: JenkinsSettings = Field(default_factory=JenkinsSettings)
    #: Travis, GitHub Actions and GitLab CI build services (core/settings/ci.py)
    ci: CiSettings = Field(default_factory=CiSettings)
    #: Rosco's: the image config, packer, the bake cache (docs/stages/bake.md)
    bakery: BakerySettings = Field(default_factory=BakerySettings)
    #: Fiat's: authentication and permissions, off by default (docs/auth.md)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    #: request body size and nesting limits, expression time budget (docs/security-dos.md)
    request_limits: RequestLimitSettings = Field(default_factory=RequestLimitSettings)
    #: the claim-check of large payloads: threshold, blob store, cache (docs/payloads.md)
    payloads: PayloadSettings = Field(default_factory=PayloadSettings)
    #: what webhooks, notifications and URL expressions may reach (docs/security.md)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    #: worker versioning: the deployment's name, this build's id, promotion on start (docs/operations.md)
    deployment: DeploymentSettings = Field(default_factory=DeploymentSettings)
    #: the Schedule that finishes executions whose workflow closed without a final record (docs/store.md)
    reconciler: ReconcilerSettings = Field(default_factory=ReconcilerSettings)
    #: Kayenta's metrics accounts (docs/canary.md)
    canary: CanarySettings = Field(default_factory=CanarySettings)
    #: Armory's Terraformer: binaries, working directories, profiles, the state API (docs/stages/terraform.md)
    terraform: TerraformSettings = Field(default_factory=TerraformSettings)
    #: Dinghy: pipelines rendered from dinghyfiles in git (docs/pipelines-as-code.md)
    dinghy: DinghySettings = Field(default_factory=DinghySettings)
    #: metrics ports, OTLP tracing, the log format (docs/operations.md)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    #: Echo's event stream: REST listeners, delivery bounds (docs/operations.md, "Events")
    events: EventSettings = Field(default_factory=EventSettings)
    #: Deck: the browser UI's port and the base URL links to it use (docs/ui.md)
    ui: UiSettings = Field(default_factory=UiSettings)

    @model_validator(mode="after")
    def _links_point_at_the_ui(self) -> Settings:
        # Echo's links open Deck: without its own notifications.base_url, a message links the UI's pages
        if "base_url" not in self.notifications.model_fields_set:
            self.notifications.base_url = self.ui.link_base
        return self

    @model_validator(mode="after")
    def _build_service_names_are_unique(self) -> Settings:
        # CI services and Jenkins masters share Gate's build lists, Fiat's build-service permissions and the
        # poll cursors: one name, one service (refused here, so the API and the worker both fail at start)
        taken = sorted({m.name for m in self.jenkins.masters} & {s.name for s in self.ci.services()})
        if taken:
            raise ValueError(f"ci: build service names must differ from Jenkins masters' names: {', '.join(taken)}")
        return self

    @field_validator("execution_window_timezone", "cron_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @property
    def store_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<state_dir>/gennaker.db``."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{Path(self.state_dir).resolve() / 'gennaker.db'}"

    @property
    def dev_server_db_path(self) -> Path:
        """The dev server's SQLite file: ``dev_server.db_file``, else ``state_dir/temporal.db``."""
        return self.dev_server.db_file or self.state_dir / "temporal.db"

    def queue_for_activity(self, name: str) -> str:
        """The task queue an activity (or task) named ``name`` runs on."""
        return self.activity_queues.get(name, self.task_queue)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: explicit overrides, then the environment, then the YAML file.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file_path()
        if path is not None:
            _check_yaml(path)
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)


def config_file_path() -> Path | None:
    """The YAML file in use: ``$GENNAKER_CONFIG_FILE`` (which must exist), else ``./gennaker.yml`` if present."""
    named = os.environ.get(CONFIG_FILE_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigFileError(f"{CONFIG_FILE_ENV}: no such file: {path}")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _check_yaml(path: Path) -> None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigFileError(f"settings file {path}: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigFileError(f"settings file {path}: the top level must be a mapping, not {type(data).__name__}")


def load_settings(**overrides: Any) -> Settings:
    """Build the settings; ``overrides`` (field names) win over the environment, which wins over the YAML file.

    Raises pydantic's ``ValidationError`` for bad values (see :func:`describe_error`) and :class:`ConfigFileError`.
    """
    return Settings(**overrides)


def env_var_name(loc: tuple[int | str, ...]) -> str:
    """``("api", "port")`` → ``GENNAKER_API__PORT``; list indexes are dropped (the variable holds the whole list)."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            break
        parts.append(str(part).upper())
    return ENV_PREFIX + NESTED_DELIMITER.join(parts)


def describe_error(exc: Exception) -> str:
    """One line per problem, naming the setting by its environment variable, with secret values left out."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        line = f"setting {env_var_name(loc)}: {err['msg']}"
        secret = any(part in SECRET_FIELDS for part in loc)
        if not secret and err.get("type") != "extra_forbidden" and "input" in err:
            value = err["input"]
            if isinstance(value, str | int | float | bool):
                line += f" (got {value!r})"
        lines.append(line)
    return "\n".join(lines)


def masked_dict(settings: Settings) -> dict[str, Any]:
    """The settings as plain JSON-able data with every secret shown as ``**********``."""
    return settings.model_dump(mode="json")

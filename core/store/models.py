"""Table models of the store (Front50's documents plus the execution projection).

Each row keeps the whole JSON document as text in `body`, exactly as saved, so unknown keys round-trip; the other
columns are copies of the few fields we look up, sort or filter by. These classes stay inside `core/store`
(STYLE item 5): callers get plain dicts.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects import mysql
from sqlmodel import Field, SQLModel

# TEXT is 64 KiB on MySQL; executions with many stages are larger.
Body = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

KEY_LENGTH = 255
# Keys compare exactly everywhere: MySQL's default collation would fold case and trailing spaces.
Key = String(KEY_LENGTH).with_variant(mysql.VARCHAR(KEY_LENGTH, collation="utf8mb4_bin"), "mysql", "mariadb")


def _key(name: str, *, primary_key: bool = False, nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(name, Key, primary_key=primary_key, nullable=nullable)


class Application(SQLModel, table=True):
    """A Front50 application; `name` is the lower-cased key, `body` the flat attribute map."""

    __tablename__ = "applications"

    name: str = Field(sa_column=_key("name", primary_key=True))
    created_at: int = Field(sa_column=Column("created_at", BigInteger, nullable=False))
    updated_at: int = Field(sa_column=Column("updated_at", BigInteger, nullable=False))
    body: str = Field(sa_column=Column("body", Body, nullable=False))


class PipelineConfig(SQLModel, table=True):
    """A pipeline or strategy config (`kind`); `application`/`name` are lower-cased keys for the unique rule."""

    __tablename__ = "pipeline_configs"
    __table_args__ = (UniqueConstraint("kind", "application", "name", name="uq_pipeline_configs_app_name"),)

    kind: str = Field(sa_column=Column("kind", String(16), primary_key=True))
    id: str = Field(sa_column=_key("id", primary_key=True))
    #: the id lower-cased, unique per kind (migration 0011): ids are unique without regard to case
    id_key: str | None = Field(default=None, sa_column=_key("id_key", nullable=True))
    application: str = Field(sa_column=_key("application"))
    name: str = Field(sa_column=_key("name"))
    position: int | None = Field(default=None, sa_column=Column("position", Integer, nullable=True))
    created_at: int = Field(sa_column=Column("created_at", BigInteger, nullable=False))
    last_modified: int = Field(sa_column=Column("last_modified", BigInteger, nullable=False))
    body: str = Field(sa_column=Column("body", Body, nullable=False))


class PipelineConfigRevision(SQLModel, table=True):
    """One saved revision of a pipeline or strategy config (Front50's `pipelines_history`); newest has highest rev."""

    __tablename__ = "pipeline_config_history"
    __table_args__ = (Index("ix_pipeline_config_history_config", "kind", "pipeline_id", "rev"),)

    rev: int | None = Field(default=None, sa_column=Column("rev", AutoId, primary_key=True, autoincrement=True))
    kind: str = Field(sa_column=Column("kind", String(16), nullable=False))
    pipeline_id: str = Field(sa_column=_key("pipeline_id"))
    recorded_at: int = Field(sa_column=Column("recorded_at", BigInteger, nullable=False))
    body: str = Field(sa_column=Column("body", Body, nullable=False))


class Project(SQLModel, table=True):
    """A Front50 project; `name` is the lower-cased key (unique), `body` the whole document."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("name", name="uq_projects_name"),)

    id: str = Field(sa_column=_key("id", primary_key=True))
    name: str = Field(sa_column=_key("name"))
    created_at: int = Field(sa_column=Column("created_at", BigInteger, nullable=False))
    updated_at: int = Field(sa_column=Column("updated_at", BigInteger, nullable=False))
    body: str = Field(sa_column=Column("body", Body, nullable=False))


class Execution(SQLModel, table=True):
    """The engine's projection of an execution (Gate JSON in `body`), listable after Temporal forgets it."""

    __tablename__ = "executions"
    __table_args__ = (
        Index("ix_executions_application_build_time", "application", "build_time"),
        Index("ix_executions_pipeline_config_id_build_time", "pipeline_config_id", "build_time"),
        Index("ix_executions_application_pipeline_config_id", "application", "pipeline_config_id"),
        Index("ix_executions_status", "status"),
    )

    id: str = Field(sa_column=_key("id", primary_key=True))
    application: str = Field(sa_column=_key("application"))
    pipeline_config_id: str | None = Field(default=None, sa_column=_key("pipeline_config_id", nullable=True))
    type: str = Field(sa_column=Column("type", String(32), nullable=False))
    status: str = Field(sa_column=Column("status", String(32), nullable=False))
    name: str | None = Field(default=None, sa_column=_key("name", nullable=True))
    trigger_type: str | None = Field(default=None, sa_column=Column("trigger_type", String(64), nullable=True))
    build_time: int = Field(sa_column=Column("build_time", BigInteger, nullable=False))
    start_time: int | None = Field(default=None, sa_column=Column("start_time", BigInteger, nullable=True))
    end_time: int | None = Field(default=None, sa_column=Column("end_time", BigInteger, nullable=True))
    body: str = Field(sa_column=Column("body", Body, nullable=False))
    #: Gate's expand=false form of the whole execution (stages without context, outputs and tasks), kept for
    #: finished executions only (listings send it as is); NULL while running (listings assemble it from stages)
    summary: str | None = Field(default=None, sa_column=Column("summary", Body, nullable=True))
    #: the version (the writer's clock) that last wrote this header; a lower one is ignored
    version: int = Field(default=0, sa_column=Column("version", BigInteger, nullable=False, server_default="0"))
    #: engine-private data (pipeline config, trigger, settings a restart needs); never in Gate's JSON
    engine: str | None = Field(default=None, sa_column=Column("engine", Body, nullable=True))
    #: the header version that last moved it to a finished status (NULL while not finished)
    finished_version: int | None = Field(default=None, sa_column=Column("finished_version", BigInteger, nullable=True))
    #: the finished_version whose downstream triggers have run (exactly once per finish)
    handled_version: int | None = Field(default=None, sa_column=Column("handled_version", BigInteger, nullable=True))


class ExecutionStage(SQLModel, table=True):
    """One stage of an execution (Gate's stage JSON in `body`, its expand=false form in `summary`), written
    by the engine at every transition, conditionally on `version`. A removed stage keeps its row with a NULL
    body (a tombstone), so an older write cannot bring it back."""

    __tablename__ = "execution_stages"

    execution_id: str = Field(sa_column=_key("execution_id", primary_key=True))
    stage_id: str = Field(sa_column=_key("stage_id", primary_key=True))
    seq: int = Field(sa_column=Column("seq", BigInteger, nullable=False))
    version: int = Field(sa_column=Column("version", BigInteger, nullable=False))
    body: str | None = Field(default=None, sa_column=Column("body", Body, nullable=True))
    summary: str | None = Field(default=None, sa_column=Column("summary", Body, nullable=True))


class DeletedExecution(SQLModel, table=True):
    """A tombstone: the execution was deleted through the API. Temporal deletes its workflow histories
    asynchronously (seconds to minutes), so reads check here first and answer 404 at once."""

    __tablename__ = "deleted_executions"

    id: str = Field(sa_column=_key("id", primary_key=True))
    deleted_at: int = Field(sa_column=Column("deleted_at", BigInteger, nullable=False))


class TriggerEvent(SQLModel, table=True):
    """One incoming event (a webhook delivery, a cron tick, a finished upstream execution) claimed for one
    pipeline: the execution it started. A redelivered event finds its row and starts nothing new."""

    __tablename__ = "trigger_events"

    event_key: str = Field(sa_column=_key("event_key", primary_key=True))
    pipeline_config_id: str = Field(sa_column=_key("pipeline_config_id", primary_key=True))
    execution_id: str = Field(sa_column=_key("execution_id"))
    created_at: int = Field(sa_column=Column("created_at", BigInteger, nullable=False))


class NotificationConfig(SQLModel, table=True):
    """Front50's notification document of one application (``level`` "application") or the global one
    (``level`` "global", name ``__GLOBAL``): ``{"application": app, "slack": [...], "email": [...]}``."""

    __tablename__ = "notification_configs"

    level: str = Field(sa_column=Column("level", String(16), primary_key=True))
    name: str = Field(sa_column=_key("name", primary_key=True))
    updated_at: int = Field(sa_column=Column("updated_at", BigInteger, nullable=False))
    body: str = Field(sa_column=Column("body", Body, nullable=False))


class CloudCacheItem(SQLModel, table=True):
    """One cached cloud object (a server group, a load balancer, an image) as Gate shows it, refreshed
    whole per (provider, account, kind) by the cache's Schedule, and written through by deploys."""

    __tablename__ = "cloud_cache"
    __table_args__ = (
        Index("ix_cloud_cache_application", "kind", "application"),
        Index("ix_cloud_cache_account", "provider", "account", "kind"),
    )

    provider: str = Field(sa_column=Column("provider", String(32), primary_key=True))
    account: str = Field(sa_column=_key("account", primary_key=True))
    kind: str = Field(sa_column=Column("kind", String(32), primary_key=True))
    region: str = Field(sa_column=Column("region", String(64), primary_key=True))
    name: str = Field(sa_column=_key("name", primary_key=True))
    application: str | None = Field(default=None, sa_column=_key("application", nullable=True))
    cluster: str | None = Field(default=None, sa_column=_key("cluster", nullable=True))
    body: str = Field(sa_column=Column("body", Body, nullable=False))


class CloudCacheStatus(SQLModel, table=True):
    """When each account's cache was last refreshed, and the last refresh's error if it failed."""

    __tablename__ = "cloud_cache_status"

    provider: str = Field(sa_column=Column("provider", String(32), primary_key=True))
    account: str = Field(sa_column=_key("account", primary_key=True))
    refreshed_at: int = Field(sa_column=Column("refreshed_at", BigInteger, nullable=False))
    error: str | None = Field(default=None, sa_column=Column("error", Text, nullable=True))


class JenkinsBuildCursor(SQLModel, table=True):
    """Igor's per-job poll cursor of one Jenkins master: every build numbered ``last_build`` or lower has been
    seen; ``posted`` lists the newer builds whose events were already sent (they finished while an older one
    was still running)."""

    __tablename__ = "jenkins_build_cursors"

    master: str = Field(sa_column=_key("master", primary_key=True))
    job: str = Field(sa_column=_key("job", primary_key=True))
    last_build: int = Field(sa_column=Column("last_build", BigInteger, nullable=False))
    posted: str = Field(sa_column=Column("posted", Text, nullable=False))
    updated_at: int = Field(sa_column=Column("updated_at", BigInteger, nullable=False))


class Bake(SQLModel, table=True):
    """One bake (one packer run) of Rosco's bake store, shared by every bakery worker. The cache is the newest
    reusable successful bake of a ``bake_key``; ``request`` is what was asked for (package, base image, account),
    ``images`` the image id per region, ``log_ref`` where the packer log was written."""

    __tablename__ = "bakes"
    __table_args__ = (Index("ix_bakes_key_created", "bake_key", "created_at"),)

    id: str = Field(sa_column=_key("id", primary_key=True))
    bake_key: str = Field(sa_column=_key("bake_key"))
    workflow_id: str = Field(sa_column=_key("workflow_id"))
    region: str = Field(sa_column=Column("region", String(64), nullable=False))
    cloud_provider: str = Field(sa_column=Column("cloud_provider", String(32), nullable=False))
    state: str = Field(sa_column=Column("state", String(16), nullable=False))
    result: str | None = Field(default=None, sa_column=Column("result", String(16), nullable=True))
    reusable: bool = Field(sa_column=Column("reusable", Boolean, nullable=False))
    image_name: str | None = Field(default=None, sa_column=_key("image_name", nullable=True))
    image_id: str | None = Field(default=None, sa_column=_key("image_id", nullable=True))
    images: str = Field(sa_column=Column("images", Text, nullable=False))
    request: str = Field(sa_column=Column("request", Body, nullable=False))
    requested_by: str = Field(sa_column=Column("requested_by", Body, nullable=False))
    log_ref: str | None = Field(default=None, sa_column=Column("log_ref", Text, nullable=True))
    error: str | None = Field(default=None, sa_column=Column("error", Body, nullable=True))
    created_at: int = Field(sa_column=Column("created_at", BigInteger, nullable=False))
    updated_at: int = Field(sa_column=Column("updated_at", BigInteger, nullable=False))


TABLES = [
    model.__table__  # type: ignore[union-attr]
    for model in (
        Application,
        PipelineConfig,
        PipelineConfigRevision,
        Project,
        Execution,
        ExecutionStage,
        DeletedExecution,
        TriggerEvent,
        NotificationConfig,
        CloudCacheItem,
        CloudCacheStatus,
        JenkinsBuildCursor,
        Bake,
    )
]


class ApiToken(SQLModel, table=True):
    """An API token (``gnk_...``) issued by an admin: only its SHA-256 is kept, never the token."""

    __tablename__ = "api_tokens"

    id: str = Field(sa_column=Column("id", String(32), primary_key=True))
    token_hash: str = Field(sa_column=Column("token_hash", String(64), nullable=False, unique=True))
    owner: str = Field(sa_column=_key("owner"))
    roles: str = Field(sa_column=Column("roles", Text, nullable=False))
    description: str | None = Field(default=None, sa_column=Column("description", Text, nullable=True))
    created_at: int = Field(sa_column=Column("created_at", BigInteger, nullable=False))
    created_by: str | None = Field(default=None, sa_column=_key("created_by", nullable=True))
    expires_at: int | None = Field(default=None, sa_column=Column("expires_at", BigInteger, nullable=True))
    last_used_at: int | None = Field(default=None, sa_column=Column("last_used_at", BigInteger, nullable=True))
    revoked_at: int | None = Field(default=None, sa_column=Column("revoked_at", BigInteger, nullable=True))


class ServiceAccount(SQLModel, table=True):
    """Front50's service account ``{name, memberOf: [roles]}``; ``name`` is the lower-cased key."""

    __tablename__ = "service_accounts"

    name: str = Field(sa_column=_key("name", primary_key=True))
    updated_at: int = Field(sa_column=Column("updated_at", BigInteger, nullable=False))
    body: str = Field(sa_column=Column("body", Body, nullable=False))


class UserRoles(SQLModel, table=True):
    """Roles kept for a user in the store (Fiat's ``PUT /roles/{userId}``): ``{name, roles: [...]}``."""

    __tablename__ = "user_roles"

    name: str = Field(sa_column=_key("name", primary_key=True))
    updated_at: int = Field(sa_column=Column("updated_at", BigInteger, nullable=False))
    body: str = Field(sa_column=Column("body", Body, nullable=False))


class AuditEvent(SQLModel, table=True):
    """Who did what, from where, and how it ended (never a secret or a token)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_principal_at", "principal", "at"),
        Index("ix_audit_events_application_at", "application", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
    )

    id: int | None = Field(default=None, sa_column=Column("id", AutoId, primary_key=True, autoincrement=True))
    at: int = Field(sa_column=Column("at", BigInteger, nullable=False))
    principal: str = Field(sa_column=_key("principal"))
    via: str = Field(sa_column=Column("via", String(32), nullable=False))
    action: str = Field(sa_column=Column("action", String(64), nullable=False))
    resource_type: str | None = Field(default=None, sa_column=Column("resource_type", String(32), nullable=True))
    resource_name: str | None = Field(default=None, sa_column=_key("resource_name", nullable=True))
    application: str | None = Field(default=None, sa_column=_key("application", nullable=True))
    execution_id: str | None = Field(default=None, sa_column=_key("execution_id", nullable=True))
    outcome: str = Field(sa_column=Column("outcome", String(16), nullable=False))
    status: int | None = Field(default=None, sa_column=Column("status", Integer, nullable=True))
    remote_address: str | None = Field(default=None, sa_column=Column("remote_address", String(64), nullable=True))
    detail: str | None = Field(default=None, sa_column=Column("detail", Text, nullable=True))


TABLES.extend(model.__table__ for model in (ApiToken, ServiceAccount, UserRoles, AuditEvent))  # type: ignore[union-attr]

"""Settings of Echo's event stream (``events:`` in gennaker.yml, ``GENNAKER_EVENTS__*``): the REST listeners
(Echo's ``rest.endpoints[]`` keys, plus a filter per endpoint) and the bounds of their delivery."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SECRET_FIELDS = frozenset({"headers", "password"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class RestEndpoint(BaseModel):
    """One REST listener, as Echo's ``rest.endpoints[]`` entry (camelCase keys accepted) plus ``types`` and
    ``applications`` filters. Echo's ``insecure`` (TLS checks off) is refused: use a CA the system trusts."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    #: names the delivery workflow (``events-delivery:<name>``) and its log lines; defaults to ``eventName``
    name: str | None = None
    url: str
    wrap: bool = False
    template: str | None = None
    event_name: str | None = Field(default=None, alias="eventName")
    field_name: str | None = Field(default=None, alias="fieldName")
    flatten: bool = False
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    username: str | None = None
    password: SecretStr | None = None
    #: total attempts per event before the delivery backs off (Echo's default 1); delivery never drops for it
    retry_count: int = Field(default=1, ge=1, le=20, alias="retryCount")
    insecure: bool = False
    #: only these event types (``orca:stage:*`` style prefixes end in ``*``); empty: all
    types: list[str] = Field(default_factory=list)
    #: only events of these applications; empty: all
    applications: list[str] = Field(default_factory=list)

    @field_validator("insecure")
    @classmethod
    def _no_insecure(cls, value: bool) -> bool:
        if value:
            raise ValueError("insecure is not supported: Gennaker always verifies TLS (trust the endpoint's CA)")
        return value

    @model_validator(mode="after")
    def _named(self) -> RestEndpoint:
        name = self.name or self.event_name or _slug(self.url)
        if not _NAME.match(name):
            raise ValueError(f"endpoint name {name!r} must be 1-63 letters, digits, '.', '_' or '-'")
        self.name = name
        if self.template is not None and "{{event}}" not in self.template:
            raise ValueError("template must contain {{event}}")
        return self


def _slug(url: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", url.split("://", 1)[-1]).strip("-.")
    return slug[:63] or "endpoint"


class EventSettings(BaseModel):
    """Echo's REST listeners (``rest.enabled`` is ``enabled`` here) and how far behind delivery may fall."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    enabled: bool = True
    default_event_name: str = Field(default="spinnaker_events", alias="defaultEventName")
    default_field_name: str = Field(default="payload", alias="defaultFieldName")
    endpoints: list[RestEndpoint] = Field(default_factory=list)
    #: events older than this when their turn comes are dropped (counted and logged), seconds
    max_age_s: float = Field(default=86_400.0, ge=60)
    #: an endpoint more than this many events behind the newest skips ahead (counted and logged)
    max_behind: int = Field(default=100_000, ge=100)
    #: how long one delivery activity polls the outbox before the workflow takes a turn, seconds
    poll_window_s: float = Field(default=30.0, ge=1, le=300)
    #: how often an idle delivery looks at the outbox, seconds
    poll_interval_s: float = Field(default=0.5, ge=0.05, le=60)
    #: outbox events kept for GET /events after delivery, days (0: kept forever)
    retention_days: float = Field(default=7.0, ge=0)

    @model_validator(mode="after")
    def _unique_names(self) -> EventSettings:
        seen: set[str] = set()
        for endpoint in self.endpoints:
            if endpoint.name in seen:
                raise ValueError(f"two event endpoints are named {endpoint.name!r}: give each a distinct name")
            seen.add(str(endpoint.name))
        return self

    def endpoint(self, name: str) -> RestEndpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)

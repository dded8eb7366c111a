"""``canary.*`` settings: Kayenta's metrics accounts (``GENNAKER_CANARY__ACCOUNTS`` takes the JSON list)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

SECRET_FIELDS = frozenset({"bearer_token", "password"})


class CanaryAccount(BaseModel):
    """One Prometheus a canary config's metrics are fetched from (Kayenta's METRICS_STORE account)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: Annotated[str, Field(min_length=1)]
    type: Literal["prometheus"] = "prometheus"
    base_url: Annotated[str, Field(min_length=1)]
    bearer_token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    #: the label Kayenta's ``gce_instance`` filter matches the scope against
    scope_label: str = "instance"
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    max_response_bytes: Annotated[int, Field(gt=0)] = 32 * 1024 * 1024

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http:// or https:// URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_auth(self) -> CanaryAccount:
        if self.bearer_token is not None and (self.username or self.password is not None):
            raise ValueError("give either bearer_token or username/password, not both")
        return self

    def connection(self) -> dict[str, Any]:
        """What ``canary.prometheus`` needs to call this account, secrets revealed (never logged or answered)."""
        return {
            "name": self.name,
            "base_url": self.base_url,
            "bearer_token": self.bearer_token.get_secret_value() if self.bearer_token else None,
            "username": self.username,
            "password": self.password.get_secret_value() if self.password else None,
            "timeout_seconds": self.timeout_seconds,
            "max_response_bytes": self.max_response_bytes,
            "scope_label": self.scope_label,
        }

    def public(self) -> dict[str, Any]:
        """Kayenta's ``/credentials`` entry for this account."""
        return {
            "name": self.name,
            "type": self.type,
            "supportedTypes": ["METRICS_STORE"],
            "locations": [],
            "recommendedLocations": [],
        }


class CanarySettings(BaseModel):
    """Kayenta's configuration: the metrics accounts and the storage account name runs are recorded under."""

    model_config = ConfigDict(extra="forbid")

    accounts: list[CanaryAccount] = Field(default_factory=list)
    #: the name reported as ``storageAccountName`` (configs, results and pairs all live in Gennaker's store)
    storage_account_name: str = "gennaker-store"

    @field_validator("accounts")
    @classmethod
    def _unique(cls, value: list[CanaryAccount]) -> list[CanaryAccount]:
        names = [a.name for a in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"canary account names must be unique: {', '.join(duplicates)}")
        return value

    def account(self, name: str | None) -> CanaryAccount:
        """The named account, or the first when no name is given (as Kayenta's ``getRequiredOneBy``)."""
        if not self.accounts:
            raise LookupError("no canary metrics account is configured (canary.accounts)")
        if not name:
            return self.accounts[0]
        for account in self.accounts:
            if account.name == name:
                return account
        raise LookupError(f"Unable to resolve account {name}.")

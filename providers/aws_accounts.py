"""AWS accounts from the settings' ``accounts`` list, and the boto3 clients built for them.

An entry is an AWS account when its ``type`` (or ``cloudProvider``) is ``aws``. Keys are read in
snake_case or Clouddriver's camelCase (``accessKeyId``, ``assumeRole``, ``defaultKeyPair``...);
``regions`` may be names or Clouddriver's ``{name: ...}`` objects. Keys this module does not use
(``permissions``, ``environment``...) are left for the other readers of the same entry.

Credentials are :class:`~pydantic.SecretStr`: they never appear in reprs, errors or logs.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

from core.errors import ConfigError

from .accounts import parse_accounts
from .aws_errors import aws_call
from .base import NotFoundCloudError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

log = logging.getLogger(__name__)


@cache
def client_config() -> Config:
    """Modest retries inside botocore; longer waits are Temporal's activity retries. Built on first use, so a
    process without AWS accounts never imports boto3 (docs/architecture.md, "Footprint")."""
    from botocore.config import Config

    return Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="gennaker",
    )


#: assumed-role credentials are renewed this long before they expire
REFRESH_MARGIN = timedelta(minutes=5)
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


class AwsAccountError(ConfigError, ValueError):
    """An ``accounts`` entry that cannot be an AWS account; the message names the entry and the field."""


class AwsAccount(BaseModel):
    """One AWS account (Clouddriver's ``aws.accounts[]`` entry)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    name: str
    regions: list[str]
    account_id: str | None = None
    #: static keys; without them boto3's default chain (environment, profile, instance role) is used
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    #: assumed through STS before every call; ``role/x`` (Clouddriver's ``assumeRole``) needs ``accountId``
    role_arn: str | None = None
    external_id: SecretStr | None = None
    #: one endpoint for every service (moto, LocalStack, a VPC endpoint proxy)
    endpoint_url: str | None = None
    default_key_pair: str | None = None
    default_security_groups: list[str] = []
    #: the subnet purpose (``immutable_metadata`` tag) deploys use when the cluster gives no ``subnetType``
    default_subnet_type: str | None = None
    #: keeps subnet and security-group lookups to one VPC
    vpc_id: str | None = None
    #: whose images ``find_images`` sees: ``self`` and, e.g., a bakery account that shares its AMIs
    image_owners: list[str] = ["self"]

    @model_validator(mode="before")
    @classmethod
    def _clouddriver_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "assumeRole" in data and not ({"roleArn", "role_arn"} & data.keys()):
            data = {**data, "roleArn": data["assumeRole"]}
        if isinstance(data, dict) and isinstance(data.get("regions"), list):
            regions = [r.get("name") if isinstance(r, dict) else r for r in data["regions"]]
            data = {**data, "regions": regions}
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("needs at least one region")
        bad = [r for r in value if not _REGION.match(r)]
        if bad:
            raise ValueError(f"{bad} are not AWS region names (like us-east-1)")
        return list(dict.fromkeys(value))

    @field_validator("account_id")
    @classmethod
    def _account_id(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT_ID.match(value):
            raise ValueError("must be the 12-digit AWS account number")
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AwsAccount:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            missing = "secretAccessKey" if self.secret_access_key is None else "accessKeyId"
            raise ValueError(f"{missing}: accessKeyId and secretAccessKey go together")
        if self.role_arn and not self.role_arn.startswith("arn:") and not self.account_id:
            raise ValueError(f"accountId: needed to turn roleArn/assumeRole '{self.role_arn}' into an ARN")
        return self

    @property
    def role(self) -> str | None:
        """The full ARN of the role to assume (Clouddriver's ``assumeRole: role/x`` completed), if any."""
        if not self.role_arn or self.role_arn.startswith("arn:"):
            return self.role_arn
        return f"arn:aws:iam::{self.account_id}:{self.role_arn}"


def aws_accounts(entries: list[dict[str, Any]]) -> list[AwsAccount]:
    """The AWS accounts among the settings' ``accounts`` entries (others are skipped)."""
    return parse_accounts(entries, "aws", AwsAccount, AwsAccountError)


@dataclass
class _Session:
    session: boto3.Session
    expires: datetime | None


class AwsClients:
    """boto3 clients per (account, region, service), made on first use and kept; assumed-role
    credentials are renewed shortly before they expire. Thread-safe: activities run in threads."""

    def __init__(self, accounts: list[AwsAccount]) -> None:
        self.accounts = {a.name: a for a in accounts}
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._retired: list[Any] = []

    def __repr__(self) -> str:
        return f"AwsClients(accounts={sorted(self.accounts)})"

    def account(self, name: str) -> AwsAccount:
        account = self.accounts.get(name)
        if account is None:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise NotFoundCloudError(f"account: no AWS account named '{name}' (known: {known})")
        return account

    def client(self, account: str, region: str, service: str) -> Any:
        acct = self.account(account)
        if region not in acct.regions:
            raise NotFoundCloudError(f"region: {region} is not one of account {account}'s regions {acct.regions}")
        with self._lock:
            session = self._session(acct)
            key = (account, region, service)
            if key not in self._clients:
                self._clients[key] = session.client(
                    service, region_name=region, endpoint_url=acct.endpoint_url, config=client_config()
                )
            return self._clients[key]

    def _session(self, acct: AwsAccount) -> boto3.Session:
        import boto3

        cached = self._sessions.get(acct.name)
        if cached and (cached.expires is None or cached.expires - datetime.now(UTC) > REFRESH_MARGIN):
            return cached.session
        if cached:  # expiring: clients made from the old credentials are retired, closed at close()
            for key in [k for k in self._clients if k[0] == acct.name]:
                self._retired.append(self._clients.pop(key))
        base = boto3.Session(
            aws_access_key_id=acct.access_key_id.get_secret_value() if acct.access_key_id else None,
            aws_secret_access_key=acct.secret_access_key.get_secret_value() if acct.secret_access_key else None,
            region_name=acct.regions[0],
        )
        fresh = _Session(base, None) if not acct.role else self._assume(acct, base)
        self._sessions[acct.name] = fresh
        return fresh.session

    @staticmethod
    def _assume(acct: AwsAccount, base: boto3.Session) -> _Session:
        import boto3

        role = str(acct.role)
        kwargs: dict[str, Any] = {"RoleArn": role, "RoleSessionName": f"gennaker-{acct.name}"[:64]}
        if acct.external_id:
            kwargs["ExternalId"] = acct.external_id.get_secret_value()
        sts = base.client("sts", endpoint_url=acct.endpoint_url, config=client_config())
        try:
            with aws_call(f"assuming {role} for AWS account {acct.name}"):
                credentials = sts.assume_role(**kwargs)["Credentials"]
        finally:
            sts.close()
        log.info("assumed %s for AWS account %s until %s", role, acct.name, credentials["Expiration"])
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=acct.regions[0],
        )
        return _Session(session, credentials["Expiration"])

    def close(self) -> None:
        """Close every client's connection pool (the object stays usable: clients are made again)."""
        with self._lock:
            for client in [*self._clients.values(), *self._retired]:
                client.close()
            self._clients.clear()
            self._retired.clear()

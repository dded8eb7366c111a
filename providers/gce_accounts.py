"""GCE accounts from the settings' ``accounts`` list, and the google-cloud-compute clients built for them.

An entry is a GCE account when its ``type`` (or ``cloudProvider``) is ``gce``. Keys are read in
snake_case or Clouddriver's camelCase (``project``, ``jsonPath``, ``imageProjects``...); ``regions``
may be names or Clouddriver's ``{name: ...}`` objects. Keys this module does not use are left for the
other readers of the same entry.

Credentials (``credentialsJson``, or a key file at ``credentialsPath``/``jsonPath``) are kept as
:class:`~pydantic.SecretStr`: they never appear in reprs, errors or logs. Without them Google's
application default credentials are used. ``endpoint`` points the clients at another API root (a
private endpoint, an emulator, the tests' stand-in); ``anonymous`` sends no credentials at all, which
only an emulator accepts.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

from core.errors import ConfigError

from .accounts import parse_accounts
from .base import CloudError, NotFoundCloudError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

log = logging.getLogger(__name__)

COMPUTE_SCOPE = "https://www.googleapis.com/auth/compute"
#: a project id, optionally domain-scoped (``example.com:my-project``)
_PROJECT = re.compile(r"^([a-z][-a-z0-9.]*:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]+(-[a-z]+)+\d+$")
_ZONE = re.compile(r"^(?P<region>[a-z]+(-[a-z]+)+\d+)-[a-z]$")


class GceAccountError(ConfigError, ValueError):
    """An ``accounts`` entry that cannot be a GCE account; the message names the entry and the field."""


class GceAccount(BaseModel):
    """One GCE account (Clouddriver's ``google.accounts[]`` entry)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    name: str
    project: str
    regions: list[str]
    #: zones deploys may use (every zone of a region when empty), each in one of ``regions``
    zones: list[str] = []
    #: a service account key file (Clouddriver's ``jsonPath``), or the key itself
    credentials_path: SecretStr | None = None
    credentials_json: SecretStr | None = None
    #: send no credentials: only for an emulator or the tests' stand-in at ``endpoint``
    anonymous: bool = False
    #: the Compute API root, e.g. ``http://127.0.0.1:8085`` (Google's own when unset)
    endpoint: str | None = None
    #: more projects to look for images in, after ``project`` (Clouddriver's ``imageProjects``)
    image_projects: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _clouddriver_keys(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and "jsonPath" in data
            and not ({"credentialsPath", "credentials_path"} & data.keys())
        ):
            data = {**data, "credentialsPath": data["jsonPath"]}
        if isinstance(data, dict) and isinstance(data.get("regions"), list):
            data = {**data, "regions": [r.get("name") if isinstance(r, dict) else r for r in data["regions"]]}
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if not _PROJECT.match(value):
            raise ValueError("must be a GCP project id (6-30 lowercase letters, digits and '-')")
        return value

    @field_validator("image_projects")
    @classmethod
    def _image_projects(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if not _PROJECT.match(p)]
        if bad:
            raise ValueError(f"{bad} are not GCP project ids")
        return list(dict.fromkeys(value))

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("needs at least one region")
        bad = [r for r in value if not _REGION.match(r)]
        if bad:
            raise ValueError(f"{bad} are not GCE region names (like us-central1)")
        return list(dict.fromkeys(value))

    @field_validator("zones")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        bad = [z for z in value if not _ZONE.match(z)]
        if bad:
            raise ValueError(f"{bad} are not GCE zone names (like us-central1-a)")
        return list(dict.fromkeys(value))

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("credentials_json")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        try:
            parsed = json.loads(value.get_secret_value())
        except ValueError:
            raise ValueError("must be a service account key in JSON") from None
        if not isinstance(parsed, dict):
            raise ValueError("must be a service account key in JSON")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GceAccount:
        given = [
            k for k, v in (("credentialsPath", self.credentials_path), ("credentialsJson", self.credentials_json)) if v
        ]
        if len(given) > 1:
            raise ValueError("credentialsJson: give credentialsPath (jsonPath) or credentialsJson, not both")
        if given and self.anonymous:
            raise ValueError("anonymous: an anonymous account takes no credentials")
        stray = [z for z in self.zones if (m := _ZONE.match(z)) and m.group("region") not in self.regions]
        if stray:
            raise ValueError(f"zones: {stray} are not in the account's regions {self.regions}")
        return self

    def zones_in(self, region: str) -> list[str]:
        """The configured zones of ``region`` (empty: let GCE spread over the region's zones)."""
        return [z for z in self.zones if z.startswith(f"{region}-")]


def gce_accounts(entries: list[dict[str, Any]]) -> list[GceAccount]:
    """The GCE accounts among the settings' ``accounts`` entries (others are skipped)."""
    return parse_accounts(entries, "gce", GceAccount, GceAccountError)


def credentials_for(account: GceAccount) -> Credentials:
    """The account's credentials: anonymous, a service account key, or Google's application defaults."""
    import google.auth
    from google.auth import exceptions as auth_exceptions
    from google.auth.credentials import AnonymousCredentials
    from google.oauth2 import service_account

    try:
        if account.anonymous:
            return AnonymousCredentials()
        if account.credentials_json is not None:
            info = json.loads(account.credentials_json.get_secret_value())
            return service_account.Credentials.from_service_account_info(info, scopes=[COMPUTE_SCOPE])
        if account.credentials_path is not None:
            path = account.credentials_path.get_secret_value()
            return service_account.Credentials.from_service_account_file(path, scopes=[COMPUTE_SCOPE])
        credentials, _ = google.auth.default(scopes=[COMPUTE_SCOPE])
        return credentials
    except (ValueError, KeyError, OSError, auth_exceptions.GoogleAuthError) as err:
        # the library's words may quote the key or the file path: the type says enough
        raise CloudError(f"account {account.name}: no usable GCE credentials ({type(err).__name__})") from None


#: the compute_v1 client classes a GceCloud uses, by the short name it asks for them with (imported on first use,
#: so a process without GCE accounts never loads google-cloud-compute: docs/architecture.md, "Footprint")
CLIENT_TYPES: dict[str, str] = {
    "migs": "RegionInstanceGroupManagersClient",
    "templates": "InstanceTemplatesClient",
    "images": "ImagesClient",
    "region_operations": "RegionOperationsClient",
    "global_operations": "GlobalOperationsClient",
    "target_pools": "TargetPoolsClient",
    "forwarding_rules": "ForwardingRulesClient",
    # the infrastructure (providers/gce_infra.py)
    "networks": "NetworksClient",
    "subnetworks": "SubnetworksClient",
    "firewalls": "FirewallsClient",
    "region_autoscalers": "RegionAutoscalersClient",
    # HTTP(S) and internal load balancers, machine types (providers/gce_lb_http.py, gce_infra.py)
    "health_checks": "HealthChecksClient",
    "region_health_checks": "RegionHealthChecksClient",
    "backend_services": "BackendServicesClient",
    "region_backend_services": "RegionBackendServicesClient",
    "url_maps": "UrlMapsClient",
    "target_http_proxies": "TargetHttpProxiesClient",
    "target_https_proxies": "TargetHttpsProxiesClient",
    "global_forwarding_rules": "GlobalForwardingRulesClient",
    "machine_types": "MachineTypesClient",
    "regions": "RegionsClient",
}


class GceClients:
    """compute_v1 clients (REST transport) per (account, kind), made on first use and kept.
    Thread-safe: activities run in threads; google-auth refreshes tokens by itself."""

    def __init__(self, accounts: list[GceAccount]) -> None:
        self.accounts = {a.name: a for a in accounts}
        self._lock = threading.Lock()
        self._credentials: dict[str, Credentials] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def __repr__(self) -> str:
        return f"GceClients(accounts={sorted(self.accounts)})"

    def account(self, name: str) -> GceAccount:
        account = self.accounts.get(name)
        if account is None:
            known = ", ".join(sorted(self.accounts)) or "none"
            raise NotFoundCloudError(f"account: no GCE account named '{name}' (known: {known})")
        return account

    def check_region(self, account: str, region: str) -> GceAccount:
        acct = self.account(account)
        if region not in acct.regions:
            raise NotFoundCloudError(f"region: {region} is not one of account {account}'s regions {acct.regions}")
        return acct

    def client(self, account: str, kind: str) -> Any:
        acct = self.account(account)
        with self._lock:
            key = (account, kind)
            if key not in self._clients:
                if account not in self._credentials:
                    self._credentials[account] = credentials_for(acct)
                options = {"api_endpoint": acct.endpoint} if acct.endpoint else None
                from google.cloud import compute_v1

                self._clients[key] = getattr(compute_v1, CLIENT_TYPES[kind])(
                    credentials=self._credentials[account], transport="rest", client_options=options
                )
            return self._clients[key]

    def close(self) -> None:
        """Close every client's HTTP session (the object stays usable: clients are made again)."""
        with self._lock:
            for client in self._clients.values():
                client.transport.close()
            self._clients.clear()

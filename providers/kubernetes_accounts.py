"""Kubernetes accounts from the settings' ``accounts`` list, and the ``kubernetes`` clients built for them.

An entry is a Kubernetes account when its ``type`` (or ``cloudProvider``) is ``kubernetes``. Keys follow
Clouddriver's ``kubernetes.accounts[]``: ``name``, ``kubeconfigFile`` (a path) or ``kubeconfigContents`` (the
kubeconfig itself, kept as a secret), ``context`` (the kubeconfig's current context when unset), ``namespaces``
(an allow-list; every namespace when empty), ``omitNamespaces``, and ``permissions`` (``{READ: [...], WRITE: [...]}``,
kept exactly as given for Fiat's reader). ``GET /credentials`` never shows the kubeconfig or its path.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

from core.errors import ConfigError

from .accounts import parse_accounts

#: a namespace (a DNS-1123 label)
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class KubernetesAccountError(ConfigError, ValueError):
    """An ``accounts`` entry that cannot be a Kubernetes account; the message names the entry and the field."""


class KubernetesAccount(BaseModel):
    """One Kubernetes account (Clouddriver's ``kubernetes.accounts[]`` entry, provider version V2)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    name: str
    kubeconfig_file: SecretStr | None = None
    kubeconfig_contents: SecretStr | None = None
    context: str | None = None
    namespaces: list[str] = []
    omit_namespaces: list[str] = []
    #: Fiat's ``{READ: [roles], WRITE: [roles]}``, passed through as given
    permissions: dict[str, Any] = {}
    #: Clouddriver's ``onlySpinnakerManaged``: the cloud cache keeps only objects labelled
    #: ``app.kubernetes.io/managed-by: spinnaker``
    only_spinnaker_managed: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("namespaces", "omit_namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        bad = [n for n in value if not isinstance(n, str) or not NAMESPACE.match(n)]
        if bad:
            raise ValueError(f"{bad} are not namespace names (lowercase letters, digits and '-')")
        return list(dict.fromkeys(value))

    @field_validator("kubeconfig_contents")
    @classmethod
    def _contents(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        try:
            parsed = yaml.safe_load(value.get_secret_value())
        except yaml.YAMLError:
            raise ValueError("must be a kubeconfig in YAML or JSON") from None
        if not isinstance(parsed, dict) or not parsed.get("clusters"):
            raise ValueError("must be a kubeconfig with clusters")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> KubernetesAccount:
        if self.kubeconfig_file and self.kubeconfig_contents:
            raise ValueError("kubeconfigContents: give kubeconfigFile or kubeconfigContents, not both")
        return self

    def allows(self, namespace: str) -> bool:
        """Whether stages may act in ``namespace`` (the allow-list, minus ``omitNamespaces``)."""
        if namespace in self.omit_namespaces:
            return False
        return not self.namespaces or namespace in self.namespaces


def kubernetes_accounts(entries: list[dict[str, Any]]) -> list[KubernetesAccount]:
    """The Kubernetes accounts among the settings' ``accounts`` entries (others are skipped)."""
    return parse_accounts(entries, "kubernetes", KubernetesAccount, KubernetesAccountError)


_lock = threading.Lock()
_accounts: dict[str, KubernetesAccount] = {}
#: account name -> (the account the client was made for, its ApiClient)
_clients: dict[str, tuple[KubernetesAccount, Any]] = {}


def register_accounts(accounts: list[KubernetesAccount]) -> None:
    """Make ``accounts`` the ones :func:`api_client_for` finds by name (the composition root calls this)."""
    with _lock:
        for account in accounts:
            if _accounts.get(account.name) != account:
                _clients.pop(account.name, None)
            _accounts[account.name] = account


def account_named(name: str) -> KubernetesAccount:
    """The registered account, else the one in the loaded settings; LookupError when there is none."""
    with _lock:
        found = _accounts.get(name)
    if found is None:
        from core.settings import load_settings

        register_accounts(kubernetes_accounts(list(load_settings().accounts)))
        with _lock:
            found = _accounts.get(name)
    if found is None:
        raise LookupError(name)
    return found


def new_api_client(account: KubernetesAccount) -> Any:
    """A fresh ``kubernetes.client.ApiClient`` for the account's kubeconfig and context."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    try:
        if account.kubeconfig_contents is not None:
            loaded = yaml.safe_load(account.kubeconfig_contents.get_secret_value())
            return config.new_client_from_config_dict(loaded, context=account.context, persist_config=False)
        path = account.kubeconfig_file.get_secret_value() if account.kubeconfig_file else None
        return config.new_client_from_config(config_file=path, context=account.context, persist_config=False)
    except (ConfigException, OSError, yaml.YAMLError, TypeError, KeyError) as err:
        # the loader's words may quote the file path or the config: the type says enough
        raise KubernetesAccountError(
            f"account {account.name}: its kubeconfig cannot be loaded ({type(err).__name__})"
        ) from None


def api_client_for(account: KubernetesAccount | str) -> Any:
    """The (kept) ``kubernetes.client.ApiClient`` of an account, given as the account or its name.

    Raises LookupError for an unknown name, KubernetesAccountError when the kubeconfig cannot be loaded.
    """
    if isinstance(account, str):
        account = account_named(account)
    with _lock:
        known = _clients.get(account.name)
        if known is not None and known[0] == account:  # made for exactly this account's settings
            return known[1]
    client = new_api_client(account)
    with _lock:
        _accounts.setdefault(account.name, account)
        _clients[account.name] = (account, client)
    return client

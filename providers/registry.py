"""The clouds a worker talks to, built from the settings' ``accounts`` (the composition root calls this)."""

from __future__ import annotations

from typing import Any

from .accounts import provider_of
from .base import ServerGroupCloud


def build_clouds(accounts: list[dict[str, Any]]) -> dict[str, ServerGroupCloud]:
    """One cloud object per provider that has accounts (``aws``, ``gce``)."""
    clouds: dict[str, ServerGroupCloud] = {}
    entries = [e for e in accounts if isinstance(e, dict)]
    if any(provider_of(e) == "aws" for e in entries):
        from .aws import AwsCloud, aws_accounts

        clouds["aws"] = AwsCloud(aws_accounts(entries))
    if any(provider_of(e) == "gce" for e in entries):
        from .gce import GceCloud, gce_accounts

        clouds["gce"] = GceCloud(gce_accounts(entries))
    if any(provider_of(e) == "kubernetes" for e in entries):
        from .kubernetes_accounts import kubernetes_accounts, register_accounts

        register_accounts(kubernetes_accounts(entries))  # the manifest stages and runJobManifest find them by name
    return clouds

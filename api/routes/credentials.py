"""Gate's ``GET /credentials/{account}``: one account's details as Clouddriver's ``AccountDetails`` (type,
regions, permissions, whether the caller may write to it), and the same shape for ``GET /credentials?expand=true``
(the list itself is ``routes/misc.py``'s). Secret fields are never shown."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..auth.enforce import READ, WRITE, Guard, GuardDep
from ..deps import SettingsDep
from ..errors import ApiError
from ..models.infrastructure import AccountDetails

router = APIRouter(tags=["infrastructure"])
Json = dict[str, Any]
SECRET = ("secret", "password", "token", "key", "credential", "externalid", "jsonpath", "kubeconfig")


def _regions(entry: Json) -> list[Json]:
    out = []
    for region in entry.get("regions") or []:
        if isinstance(region, dict) and region.get("name"):
            out.append({k: v for k, v in region.items() if isinstance(k, str)})
        elif isinstance(region, str):
            out.append({"name": region})
    return out


def account_details(entry: Json, guard: Guard) -> Json:
    """Clouddriver's account details, without secrets; ``authorized`` says whether the caller may WRITE."""
    shown = {k: v for k, v in entry.items() if not any(s in k.lower() for s in SECRET)}
    provider = str(entry.get("type") or entry.get("cloudProvider") or "").lower()
    name = str(entry.get("name"))
    return {
        **shown,
        "name": name,
        "type": provider,
        "cloudProvider": provider,
        "accountType": entry.get("accountType") or name,
        "environment": entry.get("environment") or name,
        "regions": _regions(entry),
        "permissions": entry.get("permissions") or {},
        "requiredGroupMembership": entry.get("requiredGroupMembership") or [],
        "authorized": guard.account_allows(name, WRITE),
    }


@router.get("/credentials/{account}", response_model=AccountDetails, response_model_exclude_unset=True)
def credential(account: str, settings: SettingsDep, guard: GuardDep) -> Json:
    entry = next((a for a in settings.accounts if isinstance(a, dict) and a.get("name") == account), None)
    if entry is None:
        raise ApiError(404, f"Account '{account}' not found", field="account")
    guard.account(account, READ)
    return account_details(entry, guard)

"""Gate's ``GET /manifests/{account}/{location}/{name}``: one Kubernetes manifest as Clouddriver shows it.

``name`` is Spinnaker's ``kind name`` (``deployment my-app``; ``deployment/my-app`` also works). The answer is
read live from the API server (Clouddriver reads its own cache), with the stability rules the manifest stages use;
like the cached reads it says how fresh it is (``X-Gennaker-Cache-Refreshed-At`` = when it was read,
``X-Gennaker-Cache-Age-Seconds: 0``, ``X-Gennaker-Read: live``).
Names are checked before any call: a bad kind, name or namespace is a 400 naming it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Response

from providers import kubernetes_manifest as km
from providers.base import CloudError, InvalidRequestError, NotFoundCloudError

from ..auth.enforce import READ, GuardDep
from ..deps import SettingsDep
from ..errors import ApiError
from ..models.infrastructure import Manifest

if TYPE_CHECKING:  # the kubernetes client library loads on the first read, not with the API
    from providers.kubernetes import KubernetesCloud

router = APIRouter(tags=["manifests"])
Json = dict[str, Any]


@functools.lru_cache(maxsize=8)
def _cloud(accounts_json: str) -> KubernetesCloud:
    from providers.kubernetes import KubernetesCloud
    from providers.kubernetes_accounts import kubernetes_accounts

    return KubernetesCloud(kubernetes_accounts(json.loads(accounts_json)))


def manifest_view(account: str, found: Json) -> Json:
    meta = found.get("metadata") or {}
    notes = meta.get("annotations") or {}
    status = km.stability(found)
    moniker = {"app": notes.get(km.MONIKER + "application") or (meta.get("labels") or {}).get(km.APP_NAME),
               "cluster": notes.get(km.MONIKER + "cluster")}  # fmt: skip
    if notes.get(km.MONIKER + "sequence", "").isdigit():
        moniker["sequence"] = int(notes[km.MONIKER + "sequence"])
    clean = {**found, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return {
        "account": account,
        "location": meta.get("namespace", ""),
        "name": km.coordinates(found),
        "moniker": moniker,
        "manifest": clean,
        "status": status.to_json(),
        "artifacts": [km.artifact_of(found, account)],
        "events": [],
        "metrics": [],
        "warnings": [],
    }


@router.get("/manifests/{account}/{location}/{name}", response_model=Manifest, response_model_exclude_unset=True)
async def get_manifest(
    account: str, location: str, name: str, settings: SettingsDep, guard: GuardDep, response: Response
) -> Json:
    try:
        kind, object_name = km.parse_coordinates(name, "name")
        namespace = km.check_namespace(location, "location")
    except km.ManifestError as err:
        raise ApiError(400, str(err)) from None
    guard.account(account, READ)
    entries = [e for e in settings.accounts if isinstance(e, dict)]
    cloud = _cloud(json.dumps(entries, sort_keys=True, default=str))
    if account not in cloud.accounts:
        raise ApiError(404, f"no Kubernetes account named {account!r}")
    try:
        found = await asyncio.to_thread(cloud.get, account, kind, object_name, namespace)
    except InvalidRequestError as err:
        raise ApiError(400, str(err)) from None
    except NotFoundCloudError as err:
        raise ApiError(404, str(err)) from None
    except CloudError as err:
        raise ApiError(502, str(err)) from None
    if found is None:
        raise ApiError(404, f"{kind} {object_name} not found in {account}/{namespace}")
    response.headers["X-Gennaker-Read"] = "live"
    response.headers["X-Gennaker-Cache-Refreshed-At"] = str(int(time.time() * 1000))
    response.headers["X-Gennaker-Cache-Age-Seconds"] = "0.0"
    return manifest_view(account, found)

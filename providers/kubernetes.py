"""The Kubernetes cloud: any kind through the ``kubernetes`` dynamic client, per account, errors translated.

Every call names its account; the dynamic client (discovery once per account) resolves a kind given as
``Deployment``, ``deployment`` or ``replicaSet``. Errors become the provider tree of ``providers.base``:
429 → :class:`ThrottledError`, 5xx / timeouts / connection failures → :class:`TransientCloudError` (retried),
404 → :class:`NotFoundCloudError`, other 4xx → :class:`InvalidRequestError` (the API server's own message).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from .base import CloudError, InvalidRequestError, NotFoundCloudError, ThrottledError, TransientCloudError
from .kubernetes_accounts import KubernetesAccount, account_named, api_client_for, kubernetes_accounts

JSON = dict[str, Any]
T = TypeVar("T")
FIELD_MANAGER = "spinnaker"  # Clouddriver's field manager for server-side apply
PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
}

__all__ = ["KubernetesCloud", "kubernetes_accounts", "translate"]


def translate(err: Exception, what: str) -> CloudError:
    """One API or transport error as the provider's error tree; never the request body or credentials."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(err, ApiException):
        status = int(err.status or 0)
        message = _server_message(err)
        text = f"{what}: {status} {message}".strip()
        if status == 429:
            return ThrottledError(text)
        if status == 404:
            return NotFoundCloudError(text)
        if status == 500 and "failed to create typed patch object" in message:
            return InvalidRequestError(text)  # server-side apply refusing the manifest's shape: not transient
        if status >= 500 or status in (0, 408):
            return TransientCloudError(text)
        return InvalidRequestError(text)
    return TransientCloudError(f"{what}: {type(err).__name__} talking to the API server")


def _server_message(err: Any) -> str:
    try:
        body = json.loads(err.body) if err.body else {}
    except (TypeError, ValueError):
        return str(err.reason or "")
    return str(body.get("message") or err.reason or "") if isinstance(body, dict) else str(err.reason or "")


class KubernetesCloud:
    """Manifests in Kubernetes accounts (Clouddriver's KubernetesV2 credentials and handlers)."""

    cloud_provider = "kubernetes"

    def __init__(self, accounts: list[KubernetesAccount], factory: Callable[[Any], Any] | None = None) -> None:
        self.accounts = {a.name: a for a in accounts}
        self._factory = factory or api_client_for
        self._lock = threading.Lock()
        self._dynamic: dict[str, Any] = {}

    def account(self, name: str) -> KubernetesAccount:
        found = self.accounts.get(name)
        if found is None:
            try:
                found = account_named(name)
            except LookupError:
                raise NotFoundCloudError(f"no Kubernetes account named {name!r}") from None
        return found

    def check_namespace(self, account: str, namespace: str) -> None:
        if not self.account(account).allows(namespace):
            raise InvalidRequestError(f"namespace {namespace!r} is not one of account {account}'s namespaces")

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            yield
        except (ApiException, HTTPError, OSError) as err:
            raise translate(err, what) from None

    def dynamic(self, account: str) -> Any:
        with self._lock:
            known = self._dynamic.get(account)
        if known is not None:
            return known
        from kubernetes.dynamic import DynamicClient

        with self._calling(f"discovery in {account}"):
            client = DynamicClient(self._factory(self.account(account)))
        with self._lock:
            self._dynamic[account] = client
        return client

    def resource(self, account: str, kind: str, api_version: str | None = None) -> Any:
        """The API resource of ``kind`` (any case of its first letter), the preferred version unless given."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        dyn = self.dynamic(account)
        try:
            if api_version:
                return dyn.resources.get(api_version=api_version, kind=kind[0].upper() + kind[1:])
            found = [r for r in dyn.resources.search(kind=kind[0].upper() + kind[1:]) if "/" not in r.name]
            if not found:
                found = [r for r in dyn.resources.search(singular_name=kind.lower()) if "/" not in r.name]
        except ResourceNotFoundError:
            found = []
        if not isinstance(found, list):
            return found
        preferred = [r for r in found if getattr(r, "preferred", False)]
        if not (preferred or found):
            raise InvalidRequestError(f"kind {kind!r} is not served by account {account}'s API server")
        return (preferred or found)[0]

    def _ns(self, resource: Any, namespace: str | None) -> str | None:
        return namespace if resource.namespaced else None

    # --- reads -------------------------------------------------------------------------------------------------

    def get(self, account: str, kind: str, name: str, namespace: str | None) -> JSON | None:
        res = self.resource(account, kind)
        try:
            with self._calling(f"get {kind} {name} in {account}"):
                return dict(res.get(name=name, namespace=self._ns(res, namespace)).to_dict())
        except NotFoundCloudError:
            return None

    def list(
        self,
        account: str,
        kind: str,
        namespace: str | None,
        label_selector: str | None = None,
        api_version: str | None = None,
    ) -> list[JSON]:
        """Objects of ``kind`` in ``namespace`` (every namespace when None), in ``api_version`` when given."""
        res = self.resource(account, kind, api_version)
        with self._calling(f"list {kind} in {account}"):
            found = res.get(namespace=self._ns(res, namespace), label_selector=label_selector)
        return [dict(item) for item in found.to_dict().get("items") or []]

    # --- writes ------------------------------------------------------------------------------------------------

    def apply(self, account: str, manifest: JSON) -> JSON:
        """Server-side apply as Clouddriver does it: its field manager, conflicts forced. Idempotent."""
        res = self.resource(account, manifest["kind"], manifest["apiVersion"])
        meta = manifest["metadata"]
        namespace = self._ns(res, meta.get("namespace"))
        if namespace:
            self.check_namespace(account, namespace)
        with self._calling(f"apply {manifest['kind']} {meta['name']} in {account}"):
            applied = res.server_side_apply(
                body=manifest, name=meta["name"], namespace=namespace, field_manager=FIELD_MANAGER, force_conflicts=True
            )
        return dict(applied.to_dict())

    def delete(self, account: str, kind: str, name: str, namespace: str | None, options: JSON | None = None) -> bool:
        """Delete by name; True when it was there, False when already gone (404 is done, under retry too)."""
        res = self.resource(account, kind)
        ns = self._ns(res, namespace)
        if ns:
            self.check_namespace(account, ns)
        options = options or {}
        body: JSON = {"kind": "DeleteOptions", "apiVersion": "v1"}
        cascading = options.get("cascading", True)
        if isinstance(cascading, str) and cascading in ("foreground", "background", "orphan"):
            body["propagationPolicy"] = cascading.capitalize()
        else:
            body["propagationPolicy"] = "Background" if cascading not in (False, "false") else "Orphan"
        if options.get("gracePeriodSeconds") is not None:
            body["gracePeriodSeconds"] = int(options["gracePeriodSeconds"])
        try:
            with self._calling(f"delete {kind} {name} in {account}"):
                res.delete(name=name, namespace=ns, body=body)
        except NotFoundCloudError:
            return False
        return True

    def patch(self, account: str, kind: str, name: str, namespace: str | None, body: Any, strategy: str) -> JSON:
        content_type = PATCH_TYPES.get(strategy)
        if content_type is None:
            raise InvalidRequestError(f"options.mergeStrategy: {strategy!r} is not one of {sorted(PATCH_TYPES)}")
        res = self.resource(account, kind)
        ns = self._ns(res, namespace)
        if ns:
            self.check_namespace(account, ns)
        with self._calling(f"patch {kind} {name} in {account}"):
            patched = res.patch(body=body, name=name, namespace=ns, content_type=content_type)
        return dict(patched.to_dict())

    def scale(self, account: str, kind: str, name: str, namespace: str | None, replicas: int) -> JSON:
        """Set ``replicas`` through the ``/scale`` subresource (absolute, so a retry changes nothing)."""
        res = self.resource(account, kind)
        ns = self._ns(res, namespace)
        if ns:
            self.check_namespace(account, ns)
        scale = res.subresources.get("scale")
        if scale is None:
            raise InvalidRequestError(f"{kind} has no /scale subresource")
        with self._calling(f"scale {kind} {name} in {account}"):
            done = scale.patch(
                body={"spec": {"replicas": int(replicas)}},
                name=name,
                namespace=ns,
                content_type=PATCH_TYPES["merge"],
            )
        return dict(done.to_dict())

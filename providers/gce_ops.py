"""The calls the GCE cloud is made of: clients per account, bounded reads, and mutations waited for with
the operations clients (``RegionOperationsClient``/``GlobalOperationsClient`` ``wait``, in slices, up to
``operation_timeout``), as Clouddriver's ``GoogleOperationPoller`` waits for them.

google-cloud-compute's own ``ExtendedOperation.result()`` is not used: the operations client it builds
ignores ``api_endpoint``, so it would ask Google's endpoint about an emulator's operations.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as retries
from google.cloud import compute_v1

from .base import NotFoundCloudError, TransientCloudError
from .gce_accounts import GceAccount, GceClients
from .gce_errors import gce_call, operation_error
from .gce_view import SERVER_GROUP_LABEL, local_name

#: how long one call may wait for Compute's ``wait`` on an operation before asking again
WAIT_SLICE_S = 60.0
#: one HTTP call's timeout (the library's default is 600 s)
CALL_TIMEOUT_S = 60.0
#: how long the client itself retries a read that got a 503 or 504 (its default is 600 s)
READ_RETRY_DEADLINE = timedelta(seconds=30)


def re2_literal(text: str) -> str:
    """``text`` quoted for the RE2 pattern of a Compute ``name eq`` filter."""
    return re.sub(r"([^a-zA-Z0-9_-])", r"\\\1", text)


def resource_path(link: str) -> str:
    """A resource link from ``projects/`` on, so that links written with different API roots compare equal."""
    start = link.find("projects/")
    return link[start:] if start >= 0 else link


class GceOps:
    """Compute calls for the configured accounts, each failure raised as a CloudError naming the action."""

    def __init__(
        self,
        accounts: list[GceAccount],
        *,
        operation_timeout: timedelta = timedelta(minutes=5),
        read_retry_deadline: timedelta = READ_RETRY_DEADLINE,
    ) -> None:
        self.clients = GceClients(accounts)
        self.operation_timeout = operation_timeout
        retry = retries.Retry(
            predicate=retries.if_exception_type(api_exceptions.ServiceUnavailable, api_exceptions.DeadlineExceeded),
            initial=0.2,
            maximum=5.0,
            multiplier=2.0,
            timeout=read_retry_deadline.total_seconds(),
        )
        #: keyword arguments for every read; mutations get ``timeout`` only (the library never retries them)
        self.read: dict[str, Any] = {"retry": retry, "timeout": CALL_TIMEOUT_S}

    def client(self, account: str, kind: str) -> Any:
        return self.clients.client(account, kind)

    def project(self, account: str, region: str | None = None) -> str:
        """The account's project, checking that ``region`` is one of the account's."""
        if region is not None:
            return self.clients.check_region(account, region).project
        return self.clients.account(account).project

    # mutations

    def act(self, account: str, region: str | None, action: str, call: Callable[[], compute_v1.Operation]) -> None:
        """Make one change (``call`` returns its operation) and wait until it is done."""
        with gce_call(action):
            operation = call()
        self.wait(account, region, operation, action)

    def wait(self, account: str, region: str | None, operation: compute_v1.Operation, action: str) -> None:
        """Wait until ``operation`` is DONE (at most ``operation_timeout``); raise the error it ended with."""
        where = {"project": self.project(account)} | ({"region": region} if region else {})
        client = self.client(account, "region_operations" if region else "global_operations")
        limit = self.operation_timeout.total_seconds()
        deadline = time.monotonic() + limit
        while operation.status != compute_v1.Operation.Status.DONE:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientCloudError(f"{action}: operation {operation.name} not done after {limit:.0f}s")
            with gce_call(f"{action}: waiting for {operation.name}"):
                operation = client.wait(**where, operation=operation.name, timeout=min(remaining, WAIT_SLICE_S))
        error = operation_error(operation, action)
        if error is not None:
            raise error

    # reads

    def mig(self, account: str, region: str, name: str) -> compute_v1.InstanceGroupManager | None:
        project = self.project(account, region)
        try:
            with gce_call(f"reading server group {name} in {account}/{region}"):
                return self.client(account, "migs").get(
                    project=project, region=region, instance_group_manager=name, **self.read
                )
        except NotFoundCloudError:
            return None

    def template(self, account: str, link: str) -> compute_v1.InstanceTemplate | None:
        if not link:
            return None
        try:
            with gce_call(f"reading instance template {local_name(link)} in {account}"):
                return self.client(account, "templates").get(
                    project=self.project(account), instance_template=local_name(link), **self.read
                )
        except NotFoundCloudError:
            return None

    def managed_instances(self, account: str, region: str, name: str) -> list[compute_v1.ManagedInstance]:
        project = self.project(account, region)
        try:
            with gce_call(f"listing instances of {name} in {account}/{region}"):
                pager = self.client(account, "migs").list_managed_instances(
                    project=project, region=region, instance_group_manager=name, **self.read
                )
                return list(pager)
        except NotFoundCloudError:  # deleted between the list and now
            return []

    def leftover_templates(self, account: str, group: str) -> list[compute_v1.InstanceTemplate]:
        """Templates an earlier create of ``group`` made (named after it and labelled with it)."""
        request = {"project": self.project(account), "filter": f'name eq "{re2_literal(group)}-[0-9]+"'}
        with gce_call(f"listing instance templates of {group} in {account}"):
            found = list(self.client(account, "templates").list(request=request, **self.read))
        return [t for t in found if t.properties.labels.get(SERVER_GROUP_LABEL) == group]

    def autoscalers(self, account: str, region: str) -> dict[str, compute_v1.Autoscaler]:
        """The region's autoscalers by the local name of the group each targets (Clouddriver reads a group's
        ``autoscalingPolicy`` from the autoscaler whose ``target`` is the group)."""
        project = self.project(account, region)
        with gce_call(f"listing autoscalers in {account}/{region}"):
            found = list(self.client(account, "region_autoscalers").list(project=project, region=region, **self.read))
        return {local_name(a.target): a for a in found if "/instanceGroupManagers/" in a.target}

    def target_pools(self, account: str, region: str, load_balancers: list[str]) -> list[str]:
        """The target pools behind the named network load balancers (regional forwarding rules of that
        name, as Clouddriver names them); a missing one is a NotFoundCloudError."""
        project = self.project(account, region)
        pools = []
        for name in load_balancers:
            try:
                with gce_call(f"looking up load balancer {name} in {account}/{region}"):
                    rule = self.client(account, "forwarding_rules").get(
                        project=project, region=region, forwarding_rule=name, **self.read
                    )
            except NotFoundCloudError:
                raise NotFoundCloudError(f"loadBalancers: {name} not found in {account}/{region}") from None
            if "/targetPools/" in rule.target:  # internal load balancers have backend services instead
                pools.append(resource_path(rule.target))
        return list(dict.fromkeys(pools))

"""Collecting blobs nothing needs any more: ``python -m gennaker.payloads gc`` (docs/payloads.md).

A blob is garbage when it has not been referred to for the retention (``payloads.retention_days``, never less
than the Temporal namespace's retention) and no workflow that referred to it still exists in Temporal, running
or closed: its history, where the reference is, is gone. A workflow id also stands for its children
(``<execution id>.stage-...``), whose results sit in the parent's history. References made without a workflow
(none in Gennaker today) are protected by the age rule alone.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from .blobs import WORKFLOW_ID_CHARS, BlobStore, now_ms

if TYPE_CHECKING:
    from temporalio.client import Client

log = logging.getLogger("gennaker.payloads.gc")
BATCH = 500


@dataclass
class GcResult:
    """What one collection did."""

    examined: int = 0
    deleted: int = 0
    kept: int = 0
    bytes_freed: int = 0
    retention_days: float = 0.0


async def namespace_retention(client: Client) -> timedelta:
    """How long Temporal keeps closed workflows in the client's namespace (0 when it cannot say)."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

    try:
        answer = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=client.namespace))
    except Exception as err:  # noqa: BLE001 - the setting alone then decides
        log.warning("cannot read the namespace's retention: %s", err)
        return timedelta(0)
    return answer.config.workflow_execution_retention_ttl.ToTimedelta()


class _Existence:
    """Whether workflows still exist in Temporal, asked once per id per collection."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.known: dict[str, bool] = {}

    async def exists(self, workflow_id: str) -> bool:
        from temporalio.service import RPCError, RPCStatusCode

        if workflow_id not in self.known:
            try:
                await self.client.get_workflow_handle(workflow_id).describe()
                self.known[workflow_id] = True
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
                self.known[workflow_id] = False
        return self.known[workflow_id]

    async def any_alive(self, workflow_ids: list[str]) -> bool:
        for workflow_id in workflow_ids:
            if not workflow_id:
                continue
            parts = workflow_id.split(".")
            for i in range(len(parts), 0, -1):  # the id, then its parents: "a.stage-1" -> "a"
                if await self.exists(".".join(parts[:i])):
                    return True
            if len(workflow_id) >= WORKFLOW_ID_CHARS:
                return True  # cut when recorded: the full id is unknown, keep it
        return False


async def collect(store: BlobStore, client: Client, retention_days: float, *, dry_run: bool = False) -> GcResult:
    """Delete the blobs that are garbage by the rule above; ``dry_run`` only counts them."""
    retention = max(timedelta(days=retention_days), await namespace_retention(client))
    cutoff = now_ms() - int(retention.total_seconds() * 1000)
    result = GcResult(retention_days=retention.total_seconds() / 86400)
    existence = _Existence(client)
    after = ""
    while True:
        batch = await asyncio.to_thread(store.candidates, cutoff, after, BATCH)
        for key, workflow_ids in batch.items():
            result.examined += 1
            if await existence.any_alive(workflow_ids):
                result.kept += 1
                continue
            freed = 0 if dry_run else await asyncio.to_thread(store.delete, key, cutoff)
            if dry_run or freed:  # else referred to again meanwhile: kept by the store
                result.deleted += 1
                result.bytes_freed += freed
        if len(batch) < BATCH:
            return result
        after = max(batch)

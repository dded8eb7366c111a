"""The workflow a cloud account's cache Schedule starts every ``CACHE_INTERVAL``: one activity that reads
the account's server groups, load balancers and images and replaces the cached copies the API serves."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from core.messages.cloud_cache import RefreshCloudCacheInput


@workflow.defn(name="RefreshCloudCache")
class RefreshCloudCacheWorkflow:
    @workflow.run
    async def run(self, inp: RefreshCloudCacheInput) -> dict[str, int]:
        return await workflow.execute_activity(  # type: ignore[no-any-return]
            "refresh_cloud_cache",
            inp,
            result_type=dict,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=2),
            summary=f"cache {inp.provider}/{inp.account}",
        )

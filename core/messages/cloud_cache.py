"""What a cloud account's cache refresh (``workflows/cloud_cache.py``) works on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

#: how often an account's cache Schedule refreshes it
CACHE_INTERVAL = timedelta(seconds=30)


@dataclass
class RefreshCloudCacheInput:
    provider: str
    account: str

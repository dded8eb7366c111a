"""Large values never enter Temporal's history whole: the claim-check data converter of every Gennaker process.

It lives in ``gennaker/`` because the worker (``worker.py``), the API (``api/``) and the CLI all import this
package already (for the settings and ``gennaker.temporal_client``) while none of them imports the others; the
codec runs outside the workflow sandbox, so nothing here is imported by workflow code. See docs/payloads.md.

    client = await Client.connect(address, data_converter=data_converter(settings))
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from temporalio.converter import DataConverter

    from core.settings import Settings

    from .blobs import BlobStore
    from .codec import ClaimCheck

_shared: dict[tuple[str, int, int, int, int], ClaimCheck] = {}
_lock = threading.Lock()
PART_FLOOR = 16 * 1024


def blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings name: ``payloads.blob_dir``, else the blob database (the store's by default)."""
    from .blobs import DirectoryBlobStore, SqlBlobStore

    payloads = settings.payloads
    if payloads.blob_dir is not None:
        return DirectoryBlobStore(payloads.blob_dir)
    if payloads.database_url is not None:
        return SqlBlobStore(payloads.database_url.get_secret_value(), own_schema=True)
    return SqlBlobStore(settings.store_url)


def _store_identity(settings: Settings) -> str:
    payloads = settings.payloads
    if payloads.blob_dir is not None:
        return f"dir:{payloads.blob_dir.expanduser().resolve()}"
    url = payloads.database_url.get_secret_value() if payloads.database_url is not None else settings.store_url
    return f"db:{url}"


def claim_check(settings: Settings) -> ClaimCheck:
    """The process's claim-check state for these settings (one blob store connection and cache per store)."""
    from .codec import BytesLru, ClaimCheck

    payloads = settings.payloads
    part_min = max(PART_FLOOR, payloads.threshold_bytes // 2) if payloads.json_parts else 0
    embedded_min = payloads.embedded_part_bytes if payloads.json_parts else 0
    ident = (_store_identity(settings), payloads.threshold_bytes, payloads.cache_bytes, part_min, embedded_min)
    with _lock:
        found = _shared.get(ident)
        if found is None:
            found = _shared[ident] = ClaimCheck(
                blob_store(settings), payloads.threshold_bytes, BytesLru(payloads.cache_bytes), part_min, embedded_min
            )
        return found


def data_converter(settings: Settings) -> DataConverter:
    """Temporal's default converter with the claim-check codec; every client of every process uses this one."""
    from temporalio.converter import DataConverter

    from .codec import ClaimCheckCodec

    return DataConverter(payload_codec=ClaimCheckCodec(claim_check(settings)))

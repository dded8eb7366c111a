"""The claim-check codec: payloads above the threshold go to a blob store; history keeps a small reference.

A reference is a payload of its own encoding (``binary/gennaker-claim-check``) whose data is
``{"key": <sha256 of the stored bytes>, "size": <bytes>, "encoding": <the original encoding>}``. The key is
the sha256 of the whole original payload (metadata and data) serialized deterministically, so equal values share
a key and are stored once however many workflows carry them; large JSON sub-values inside are stored once more
finely, as parts (parts.py). Smaller payloads pass through untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext
from temporalio.exceptions import ApplicationError

from core.errors import GennakerError

from .blobs import BlobStore
from .parts import join, split

ENCODING = b"binary/gennaker-claim-check"
PARTS = "gennaker-parts"  # metadata of a stored payload whose data holds part markers
JSON = (b"json/plain",)
RECORDED_REFS = 100_000  # (key, workflow id) pairs this process already wrote, to skip rewriting them


class MissingBlobError(ApplicationError, GennakerError):
    """A reference names a blob the store does not have (collected, or another blob store configured)."""

    def __init__(self, key: str, size: int | None, where: str) -> None:
        what = f"payload blob {key} ({size} bytes)" if size is not None else f"payload part {key}"
        super().__init__(
            f"{what} is missing from the {where}: it was removed, or this process uses "
            "another blob store than the one that wrote it (GENNAKER_PAYLOADS__BLOB_DIR / __DATABASE_URL)",
            type="PayloadBlobMissing",
            non_retryable=True,
        )
        self.key = key


class BadReferenceError(ApplicationError, GennakerError):
    """A claim-check reference payload that cannot be read, or whose blob does not hash to its key."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="PayloadBlobInvalid", non_retryable=True)


class BytesLru:
    """Recently used blobs, bounded by their total size; thread-safe."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.capacity:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size -= len(old) if old is not None else 0
            self._items[key] = data
            self._size += len(data)
            while self._size > self.capacity:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


@dataclass
class ClaimCheck:
    """What every copy of the codec shares: the store, the threshold, the caches."""

    store: BlobStore
    threshold: int
    cache: BytesLru
    #: JSON sub-values at least this big are stored as parts of their own (parts.py); 0: payloads go whole
    part_min: int = 0
    #: a JSON payload at or under the threshold that embeds a sub-value at least this big (a trigger, a webhook
    #: body) travels as a reference too, the sub-value stored once as a part; 0: such payloads pass untouched
    embedded_min: int = 0
    recorded: OrderedDict[tuple[str, str], None] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def save(
        self, payload: Payload, workflow_id: str, cut: tuple[bytes, dict[str, bytes]] | None = None
    ) -> tuple[str, int]:
        """Store ``payload`` (blocking: run in a thread); its key and size. Large JSON sub-values go as parts
        (``cut``: the parts already found by :meth:`embedded_cut`)."""
        data = payload.SerializeToString(deterministic=True)
        key = hashlib.sha256(data).hexdigest()
        if not self._recorded(key, workflow_id):
            stored = data
            if cut is None and self.part_min and payload.metadata.get("encoding") in JSON:
                cut = split(payload.data, self.part_min)
            if cut is not None:
                doc, parts = cut
                for part_key, part in parts.items():
                    if not self._recorded(part_key, workflow_id):
                        self.store.put(part_key, part, workflow_id)
                        self._remember(part_key, workflow_id)
                    self.cache.put(part_key, part)
                stored = Payload(metadata={**payload.metadata, PARTS: b"1"}, data=doc).SerializeToString(
                    deterministic=True
                )
            self.store.put(key, stored, workflow_id)
            self._remember(key, workflow_id)
        self.cache.put(key, data)
        return key, len(data)

    def embedded_cut(self, payload: Payload) -> tuple[bytes, dict[str, bytes]] | None:
        """The parts of a payload at or under the threshold that embeds a large JSON sub-value, or None (it
        passes untouched). One stage input under the threshold carries the trigger; a thousand of them would
        carry it a thousand times in the pipeline's history and in one fan-out's workflow task completion."""
        if not self.embedded_min or payload.ByteSize() < self.embedded_min:
            return None
        if payload.metadata.get("encoding") not in JSON:
            return None
        return split(payload.data, self.embedded_min)

    def _recorded(self, key: str, workflow_id: str) -> bool:
        with self.lock:
            return (key, workflow_id) in self.recorded

    def _remember(self, key: str, workflow_id: str) -> None:
        with self.lock:
            self.recorded[(key, workflow_id)] = None
            if len(self.recorded) > RECORDED_REFS:
                self.recorded.popitem(last=False)

    def _fetch(self, key: str, size: int | None) -> bytes:
        data = self.cache.get(key)
        if data is None:
            data = self.store.get(key)
            if data is None:
                raise MissingBlobError(key, size, self.store.description)
        return data

    def load(self, key: str, size: int) -> Payload:
        """The payload stored under ``key``, its parts put back (blocking: run in a thread)."""
        data = self.cache.get(key)
        if data is None:
            payload = Payload.FromString(self._fetch(key, size))
            if PARTS in payload.metadata:
                payload.data = join(payload.data, self._part)
                del payload.metadata[PARTS]
            data = payload.SerializeToString(deterministic=True)
            if hashlib.sha256(data).hexdigest() != key:
                raise BadReferenceError(f"payload blob {key} in the {self.store.description} does not match its key")
            self.cache.put(key, data)
        return Payload.FromString(data)

    def _part(self, key: str) -> bytes:
        part = self._fetch(key, None)
        if hashlib.sha256(part).hexdigest() != key:
            raise BadReferenceError(f"payload part {key} in the {self.store.description} does not match its key")
        self.cache.put(key, part)
        return part


def reference(key: str, size: int, original: Payload) -> Payload:
    body = {"key": key, "size": size, "encoding": original.metadata.get("encoding", b"").decode("utf-8", "replace")}
    return Payload(metadata={"encoding": ENCODING}, data=json.dumps(body, separators=(",", ":")).encode())


def read_reference(payload: Payload) -> tuple[str, int]:
    try:
        body: Any = json.loads(payload.data)
        key, size = body["key"], int(body["size"])
    except (ValueError, KeyError, TypeError):
        raise BadReferenceError(f"unreadable claim-check reference payload: {payload.data[:200]!r}") from None
    if not isinstance(key, str) or len(key) != 64:
        raise BadReferenceError(f"claim-check reference with a bad key: {key!r}")
    return key, size


def is_reference(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


class ClaimCheckCodec(PayloadCodec, WithSerializationContext):
    """Temporal's ``PayloadCodec`` hook; with a serialization context it records which workflow refers to a blob."""

    def __init__(self, shared: ClaimCheck, workflow_id: str = "") -> None:
        self.shared = shared
        self.workflow_id = workflow_id

    def with_context(self, context: SerializationContext) -> ClaimCheckCodec:
        return ClaimCheckCodec(self.shared, getattr(context, "workflow_id", None) or "")

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out: list[Payload] = []
        for payload in payloads:
            if is_reference(payload):
                out.append(payload)
                continue
            if payload.ByteSize() <= self.shared.threshold:
                cut = self.shared.embedded_cut(payload)
                if cut is None:
                    out.append(payload)
                    continue
                key, size = await asyncio.to_thread(self.shared.save, payload, self.workflow_id, cut)
            else:
                key, size = await asyncio.to_thread(self.shared.save, payload, self.workflow_id)
            out.append(reference(key, size, payload))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out: list[Payload] = []
        for payload in payloads:
            if not is_reference(payload):
                out.append(payload)
                continue
            key, size = read_reference(payload)
            out.append(await asyncio.to_thread(self.shared.load, key, size))
        return out

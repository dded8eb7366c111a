"""The claim-check codec on real blob stores: what is stored, what history keeps, what a missing blob says."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, update
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, WorkflowSerializationContext

from gennaker.payloads.blobs import CHUNK_BYTES, DirectoryBlobStore, SqlBlobStore, blobs, chunks, key_of, now_ms, refs
from gennaker.payloads.codec import (
    ENCODING,
    BadReferenceError,
    BytesLru,
    ClaimCheck,
    ClaimCheckCodec,
    MissingBlobError,
)
from tests.payloads.conftest import blob_url

THRESHOLD = 128 * 1024


def codec(store: Any, threshold: int = THRESHOLD, cache: int = 64 << 20) -> ClaimCheckCodec:
    return ClaimCheckCodec(ClaimCheck(store, threshold, BytesLru(cache)))


def converter(store: Any, **kw: Any) -> DataConverter:
    return DataConverter(payload_codec=codec(store, **kw))


def big(n: int, seed: str = "x") -> dict[str, str]:
    """A JSON value whose payload is about ``n`` bytes."""
    return {"body": (seed * n)[:n]}


def count(store: SqlBlobStore, table: Any) -> int:
    engine = create_engine(store._engine.url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


async def test_small_payloads_pass_through_byte_identical(sql_blobs: SqlBlobStore) -> None:
    dc = converter(sql_blobs)
    values = [None, 7, "text", {"a": [1, 2, 3]}, big(THRESHOLD - 100)]
    plain = DataConverter.default.payload_converter.to_payloads(values)
    encoded = await dc.encode(values)
    assert [p.SerializeToString() for p in encoded] == [p.SerializeToString() for p in plain]
    assert await dc.decode(encoded) == values
    assert count(sql_blobs, blobs) == 0


async def test_the_threshold_is_on_the_encoded_size(sql_blobs: SqlBlobStore) -> None:
    at = Payload(metadata={"encoding": b"binary/plain"}, data=b"a" * (THRESHOLD - 40))
    at.data = b"a" * (len(at.data) + THRESHOLD - at.ByteSize())
    over = Payload(metadata=at.metadata, data=at.data + b"a")
    assert (at.ByteSize(), over.ByteSize()) == (THRESHOLD, THRESHOLD + 1)
    kept, checked = await codec(sql_blobs).encode([at, over])
    assert kept is at
    assert checked.metadata["encoding"] == ENCODING


async def test_large_payloads_round_trip_and_leave_a_small_reference(sql_blobs: SqlBlobStore) -> None:
    value = big(3 * 1024 * 1024)
    dc = converter(sql_blobs)
    [reference] = await dc.encode([value])
    original = DataConverter.default.payload_converter.to_payloads([value])[0]
    assert reference.metadata["encoding"] == ENCODING
    assert reference.ByteSize() < 200
    assert b'"encoding":"json/plain"' in reference.data
    raw = original.SerializeToString(deterministic=True)
    assert sql_blobs.get(key_of(raw)) == raw  # the whole payload, metadata and data, under its sha256
    # a process with a cold cache reads it back from the database, byte for byte
    [back] = await codec(sql_blobs).decode([reference])
    assert back.SerializeToString() == original.SerializeToString()
    assert await converter(sql_blobs).decode([reference]) == [value]
    assert count(sql_blobs, chunks) == math.ceil(len(original.SerializeToString()) / CHUNK_BYTES)


async def test_the_same_value_is_stored_once_and_each_workflow_is_recorded(sql_blobs: SqlBlobStore) -> None:
    trigger = big(600_000, "trigger")
    references = []
    for i in range(5):  # the same trigger handed to five stage workflows, by two processes
        dc = converter(sql_blobs).with_context(WorkflowSerializationContext("default", f"exec.stage-{i}"))
        references.extend(await dc.encode([trigger]))
    assert len({r.data for r in references}) == 1
    assert count(sql_blobs, blobs) == 1
    assert count(sql_blobs, chunks) == math.ceil(600_000 / CHUNK_BYTES)
    assert count(sql_blobs, refs) == 5


async def test_a_missing_blob_is_a_clear_error_naming_the_key(sql_blobs: SqlBlobStore) -> None:
    [reference] = await converter(sql_blobs).encode([big(200_000)])
    key = key_of(
        DataConverter.default.payload_converter.to_payloads([big(200_000)])[0].SerializeToString(deterministic=True)
    )
    assert sql_blobs.delete(key, cutoff_ms=2**62) > 0
    with pytest.raises(MissingBlobError) as err:
        await converter(sql_blobs).decode([reference])
    assert key in str(err.value) and "is missing from the database" in str(err.value)
    assert err.value.non_retryable


async def test_a_bad_reference_is_a_clear_error(sql_blobs: SqlBlobStore) -> None:
    bad = Payload(metadata={"encoding": ENCODING}, data=b"{not json")
    with pytest.raises(BadReferenceError, match="unreadable claim-check reference"):
        await codec(sql_blobs).decode([bad])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
async def test_five_megabytes_fit_every_database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> None:
    """Chunks keep every row far below MariaDB's max_allowed_packet; LONGBLOB there, bytea, BLOB elsewhere."""
    store = SqlBlobStore(blob_url(request, backend, tmp_path))
    try:
        value = {"body": bytes(range(256)).hex() * 10_240}  # 5 MiB of JSON
        [reference] = await converter(store).encode([value])
        assert await converter(store).decode([reference]) == [value]
    finally:
        store.close()


async def test_a_directory_store_round_trips_and_reports_missing_blobs(tmp_path: Path) -> None:
    store = DirectoryBlobStore(tmp_path / "blobs")
    value = big(1024 * 1024)
    [reference] = await converter(store).encode([value])
    again = await converter(store).encode([value])
    assert again == [reference]
    [stored] = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file() and not p.suffix]
    assert await converter(store).decode([reference]) == [value]
    stored.unlink()
    with pytest.raises(MissingBlobError, match=stored.name):
        await converter(store).decode([reference])


async def test_a_separate_blob_database_gets_its_tables(tmp_path: Path) -> None:
    store = SqlBlobStore(f"sqlite:///{tmp_path / 'own' / 'blobs.db'}", own_schema=True)
    try:
        [reference] = await converter(store).encode([big(300_000)])
        assert await converter(store).decode([reference]) == [big(300_000)]
    finally:
        store.close()


def test_the_cache_is_bounded_by_bytes() -> None:
    lru = BytesLru(10)
    lru.put("a", b"12345")
    lru.put("b", b"12345")
    lru.get("a")
    lru.put("c", b"123")
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == (b"12345", None, b"123")
    lru.put("huge", b"x" * 11)
    assert lru.get("huge") is None


def test_writers_racing_on_one_value_leave_one_whole_copy(sql_blobs: SqlBlobStore) -> None:
    """Eight threads store the same bytes at once (as eight workers would): one blob, every chunk once."""
    data = bytes(range(256)) * 8192  # 2 MiB
    key = key_of(data)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: sql_blobs.put(key, data, f"racer-{i}"), range(8)))
    assert sql_blobs.get(key) == data
    assert (count(sql_blobs, blobs), count(sql_blobs, chunks), count(sql_blobs, refs)) == (1, 4, 8)


def test_a_blob_referred_to_again_is_not_deleted(sql_blobs: SqlBlobStore) -> None:
    """The collector's delete is conditional on the last use it saw: a use in between wins."""
    data = b"d" * 300_000
    key = key_of(data)
    sql_blobs.put(key, data, "first")
    cutoff = now_ms() + 1  # everything so far is older than this
    sql_blobs.put(key, data, "second")  # ... until this use, after the cutoff was taken
    engine = create_engine(sql_blobs._engine.url)
    with engine.begin() as conn:
        conn.execute(update(blobs).values(last_used_at=cutoff))
    engine.dispose()
    assert sql_blobs.delete(key, cutoff) == 0
    assert sql_blobs.get(key) == data
    assert sql_blobs.delete(key, cutoff + 1) == len(data)
    assert sql_blobs.get(key) is None
    sql_blobs.put(key, data, "third")  # stored again after the delete: whole again
    assert sql_blobs.get(key) == data


async def test_settings_choose_the_store_and_processes_share_it(tmp_path: Path) -> None:
    from core.settings import Settings
    from gennaker.payloads import blob_store, claim_check, data_converter

    on_disk = Settings(state_dir=tmp_path, payloads={"blob_dir": str(tmp_path / "blobs")})
    assert isinstance(blob_store(on_disk), DirectoryBlobStore)
    assert claim_check(on_disk) is claim_check(
        Settings(state_dir=tmp_path, payloads={"blob_dir": str(tmp_path / "blobs")})
    )
    [reference] = await data_converter(on_disk).encode([big(200_000)])
    assert any((tmp_path / "blobs").rglob("*.refs"))
    own_db = Settings(state_dir=tmp_path, payloads={"database_url": f"sqlite:///{tmp_path / 'own.db'}"})
    assert isinstance(blob_store(own_db), SqlBlobStore)
    with pytest.raises(MissingBlobError):  # another store: the reference means nothing there
        await data_converter(own_db).decode([reference])
    assert await data_converter(on_disk).decode([reference]) == [big(200_000)]


async def test_a_payload_under_the_threshold_embedding_a_large_value_travels_as_a_reference(
    sql_blobs: SqlBlobStore,
) -> None:
    """A 40 KiB trigger inside each stage's input (each input under the threshold, each different): history
    keeps a small reference per input, and the trigger is stored once, as a part."""
    shared = ClaimCheck(sql_blobs, THRESHOLD, BytesLru(64 << 20), THRESHOLD // 2, embedded_min=16 * 1024)
    trigger = {"type": "webhook", "payload": big(40 * 1024, "t")}
    inputs = [{"stage": {"refId": str(i), "type": "wait", "waitTime": i}, "trigger": trigger} for i in range(20)]
    dc = DataConverter(payload_codec=ClaimCheckCodec(shared))
    encoded = await dc.encode(inputs)
    assert all(p.metadata["encoding"] == ENCODING and p.ByteSize() < 200 for p in encoded)
    assert count(sql_blobs, blobs) == 21  # twenty small documents with a marker, one trigger part
    # a process with a cold cache puts each input back byte for byte
    cold = DataConverter(payload_codec=codec(sql_blobs))
    assert await cold.decode(encoded) == inputs


async def test_payloads_under_the_threshold_without_a_large_value_pass_untouched(sql_blobs: SqlBlobStore) -> None:
    shared = ClaimCheck(sql_blobs, THRESHOLD, BytesLru(64 << 20), THRESHOLD // 2, embedded_min=16 * 1024)
    many_small = {f"k{i}": "v" * 100 for i in range(400)}  # 40 KiB, no member of 16 KiB
    text = Payload(metadata={"encoding": b"binary/plain"}, data=b"p" * 40_000)  # not JSON
    off = ClaimCheck(sql_blobs, THRESHOLD, BytesLru(64 << 20), THRESHOLD // 2, embedded_min=0)
    embedded = {"trigger": big(40 * 1024)}
    [kept] = await DataConverter(payload_codec=ClaimCheckCodec(shared)).encode([many_small])
    [kept_text] = await ClaimCheckCodec(shared).encode([text])
    [kept_off] = await DataConverter(payload_codec=ClaimCheckCodec(off)).encode([embedded])
    assert kept.metadata["encoding"] == b"json/plain"
    assert kept_text is text
    assert kept_off.metadata["encoding"] == b"json/plain"
    assert count(sql_blobs, blobs) == 0

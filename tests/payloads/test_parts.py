"""Large JSON sub-values shared by different payloads are stored once, and come back byte for byte."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from temporalio.converter import DataConverter, WorkflowSerializationContext

from gennaker.payloads.blobs import SqlBlobStore, blobs, chunks
from gennaker.payloads.codec import BytesLru, ClaimCheck, ClaimCheckCodec, MissingBlobError
from gennaker.payloads.parts import MARK, join, split

PART_MIN = 64 * 1024


def canonical(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def trigger(n: int = 20_000) -> dict[str, Any]:
    """A webhook body of about 1 MB: many small objects, unicode, numbers."""
    rnd = random.Random(7)
    return {
        "commits": [{"id": f"{rnd.getrandbits(64):x}", "msg": "fix é ✓", "n": rnd.random()} for _ in range(n)],
        "repository": {"name": "app", "size": 10**20},
    }


def converter(store: Any, workflow_id: str = "wf", cache: int = 64 << 20) -> DataConverter:
    codec = ClaimCheckCodec(ClaimCheck(store, 128 * 1024, BytesLru(cache), PART_MIN))
    return DataConverter(payload_codec=codec).with_context(WorkflowSerializationContext("default", workflow_id))


def stored_bytes(store: SqlBlobStore) -> tuple[int, int]:
    engine = create_engine(store._engine.url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(blobs)).scalar_one()
        size = conn.execute(select(func.sum(func.length(chunks.c.data)))).scalar_one()
    engine.dispose()
    return int(count), int(size or 0)


def test_splitting_gives_the_original_bytes_back() -> None:
    value = {"a": {"deep": {"big": "x" * 100_000, "also": ["y" * 70_000, 1.5, None]}}, "é": "\U0001f600", "n": 1e300}
    data = canonical(value)
    cut = split(data, PART_MIN)
    assert cut is not None
    doc, parts = cut
    assert len(doc) < 1000 and len(parts) == 2  # "big" and "also"'s first member; "deep" small once cut
    assert join(doc, parts.__getitem__) == data
    assert split(canonical({"small": 1}), PART_MIN) is None
    spaced = json.dumps(value, indent=2).encode()  # cuts are spans of the text: any JSON comes back exactly
    cut = split(spaced, PART_MIN)
    assert cut is not None and join(cut[0], cut[1].__getitem__) == spaced
    assert set(cut[1]) == set(parts)  # the big string's bytes are the same, the object's differ
    assert split(b"not json", PART_MIN) is None
    tricky = canonical({"text": MARK + "0" * 64, "big": "z" * 70_000})  # a marker-like string in user data
    assert split(tricky, PART_MIN) is None


async def test_a_trigger_inside_different_payloads_is_stored_once(sql_blobs: SqlBlobStore) -> None:
    body = trigger()
    size = len(canonical(body))
    payloads = [
        {"execution": {"id": "e1", "stages": [{"refId": str(i), "status": "RUNNING"} for i in range(30)]}, "t": body},
        {"stage": {"refId": "3", "context": {"x": 1}}, "execution": {"id": "e1", "trigger": body}},
        {"execution": {"id": "e1", "stages": [], "trigger": body}, "outputs": {"ok": True}},
    ]
    references = [(await converter(sql_blobs, f"e1.stage-{i}").encode([p]))[0] for i, p in enumerate(payloads)]
    count, total = stored_bytes(sql_blobs)
    assert count == 4  # three small remainders, one part
    assert total < size + 10_000, (total, size)
    for reference, value in zip(references, payloads, strict=True):
        original = DataConverter.default.payload_converter.to_payloads([value])[0]
        [back] = await ClaimCheckCodec(ClaimCheck(sql_blobs, 128 * 1024, BytesLru(0), PART_MIN)).decode([reference])
        assert back.SerializeToString() == original.SerializeToString()
    assert await converter(sql_blobs, cache=0).decode(references) == payloads


async def test_a_missing_part_is_named(sql_blobs: SqlBlobStore) -> None:
    value = {"meta": 1, "body": trigger()}
    [reference] = await converter(sql_blobs).encode([value])
    doc, parts = split(DataConverter.default.payload_converter.to_payloads([value])[0].data, PART_MIN) or (b"", {})
    [part_key] = parts
    assert sql_blobs.delete(part_key, cutoff_ms=2**62) > 0
    with pytest.raises(MissingBlobError, match=f"payload part {part_key} is missing"):
        await converter(sql_blobs, cache=0).decode([reference])


async def test_user_data_that_looks_like_a_marker_is_stored_whole(sql_blobs: SqlBlobStore) -> None:
    value = {"text": MARK + "0" * 64, "big": "z" * 200_000}
    references = await converter(sql_blobs).encode([value])
    assert stored_bytes(sql_blobs)[0] == 1
    assert await converter(sql_blobs, cache=0).decode(references) == [value]


def test_wide_containers_are_cut_whole_without_leftovers() -> None:
    members = [{"big": "q" * 70_000}] + [{"n": i} for i in range(1500)]  # cut first, then found too wide
    data = canonical({"wide": members, "k": 1})
    cut = split(data, PART_MIN)
    assert cut is not None
    doc, parts = cut
    assert list(parts.values()) == [canonical(members)]  # no orphan part for the big member inside
    assert split(canonical([{"n": i} for i in range(1500)] + ["q" * 70_000]), PART_MIN) is None  # a wide root

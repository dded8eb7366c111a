"""Claim-check codec benchmark: what the codec costs against Temporal's default converter, in one run.

    .venv/bin/python -m bench.payloads [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--runs 20]

Per operation, the median over ``--runs``: encoding and decoding a small payload (passed through), the copy of
the converter Temporal makes for every workflow or activity it serializes for (``with_context``), and 4 MiB
values stored in and read back from each blob store (cold: nothing cached; warm: from the process's cache),
and on SQLite executions that embed one shared trigger, stored whole and as parts.
``--postgres`` names a server (through a database to connect to): the benchmark creates a scratch database
there, migrates it and drops it at the end.
It prints a table; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from temporalio.converter import DataConverter, WorkflowSerializationContext

from core.store import Store
from gennaker.payloads.blobs import DirectoryBlobStore, SqlBlobStore
from gennaker.payloads.codec import BytesLru, ClaimCheck, ClaimCheckCodec

SMALL = {"stage": "wait", "context": {"waitTime": 0}, "note": "x" * 500}
MIB = 1024 * 1024


async def median_us(action: Callable[[int], Awaitable[Any] | Any], runs: int) -> float:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        result = action(i)
        if asyncio.iscoroutine(result):
            await result
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def converter(store: Any, cache: int = 64 * MIB, part_min: int = 0) -> DataConverter:
    return DataConverter(payload_codec=ClaimCheckCodec(ClaimCheck(store, 128 * 1024, BytesLru(cache), part_min)))


async def parts_rows(store: Any, runs: int) -> list[tuple[str, float, float]]:
    """Executions that all embed one 3 MiB trigger (40,000 small objects), each with its own stage list."""
    trigger = {"commits": [{"id": f"{i:012x}", "msg": "fix", "n": i * 0.5} for i in range(40_000)], "blob": "b" * MIB}
    values = [{"execution": {"id": f"e{i}", "stages": list(range(i + 10)), "trigger": trigger}} for i in range(runs)]
    base = DataConverter.default
    encode_base = await median_us(lambda i: base.encode([values[i]]), runs)
    whole, parted = converter(store, cache=0), converter(store, cache=0, part_min=64 * 1024)
    encode_whole = await median_us(lambda i: whole.encode([values[i]]), runs)
    encoded: list[Any] = []
    await parted.encode([values[0]])  # the trigger's parts stored once, by the first
    encode_parts = await median_us(lambda i: _append(encoded, parted.encode([values[i]])), runs)
    decode_parts = await median_us(lambda i: converter(store, cache=0, part_min=1).decode(encoded[i]), runs)
    base_encoded = [await base.encode([v]) for v in values]
    decode_base = await median_us(lambda i: base.decode(base_encoded[i]), runs)
    return [
        ("encode 4 MiB execution, whole", encode_base, encode_whole),
        ("encode 4 MiB execution, parts", encode_base, encode_parts),
        ("decode 4 MiB execution, parts, cold", decode_base, decode_parts),
    ]


async def small_rows(store: Any, runs: int) -> list[tuple[str, float, float]]:
    base, codec = DataConverter.default, converter(store)
    ctx = WorkflowSerializationContext("default", "bench")
    base_payloads, codec_payloads = await base.encode([SMALL]), await codec.encode([SMALL])
    return [
        ("encode 1 KiB", await median_us(lambda _: base.encode([SMALL]), runs * 50),
         await median_us(lambda _: codec.encode([SMALL]), runs * 50)),
        ("decode 1 KiB", await median_us(lambda _: base.decode(base_payloads), runs * 50),
         await median_us(lambda _: codec.decode(codec_payloads), runs * 50)),
        ("with_context", await median_us(lambda _: base.with_context(ctx), runs * 50),
         await median_us(lambda _: codec.with_context(ctx), runs * 50)),
    ]  # fmt: skip


async def large_rows(name: str, store: Any, runs: int) -> list[tuple[str, float, float]]:
    base = DataConverter.default
    values = [{"body": f"{i:08d}" + "v" * (4 * MIB)} for i in range(runs)]  # distinct: every encode stores
    base_encoded = [await base.encode([v]) for v in values]
    encode_base = await median_us(lambda i: base.encode([values[i]]), runs)
    writer = converter(store, cache=0)
    encoded: list[Any] = []
    encode_codec = await median_us(lambda i: _append(encoded, writer.encode([values[i]])), runs)
    cold = converter(store, cache=0)
    decode_cold = await median_us(lambda i: cold.decode(encoded[i]), runs)
    warm = converter(store)
    for payloads in encoded:
        await warm.decode(payloads)
    decode_warm = await median_us(lambda i: warm.decode(encoded[i]), runs)
    decode_base = await median_us(lambda i: base.decode(base_encoded[i]), runs)
    return [
        (f"encode 4 MiB, {name}", encode_base, encode_codec),
        (f"decode 4 MiB, {name}, cold", decode_base, decode_cold),
        (f"decode 4 MiB, {name}, cached", decode_base, decode_warm),
    ]


def _scratch_database(server_url: str) -> str:
    name = f"bench_payloads_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop(server_url: str, scratch: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(scratch).database}" WITH (FORCE)'))
    admin.dispose()


async def _append(into: list[Any], pending: Awaitable[Any]) -> None:
    into.append(await pending)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a scratch database is made there")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-payloads-"))
    stores: list[tuple[str, Any]] = []
    sqlite = f"sqlite:///{tmp / 'gennaker.db'}"
    Store(sqlite).migrate()
    stores.append(("SQLite", SqlBlobStore(sqlite)))
    scratch = None
    if args.postgres:
        scratch = _scratch_database(args.postgres)
        Store(scratch).migrate()
        stores.append(("PostgreSQL", SqlBlobStore(scratch)))
    stores.append(("directory", DirectoryBlobStore(tmp / "blobs")))
    try:
        rows = await small_rows(stores[0][1], args.runs)
        for name, store in stores:
            rows += await large_rows(name, store, args.runs)
        rows += await parts_rows(stores[0][1], args.runs)
    finally:
        for _, store in stores:
            store.close()
        if scratch is not None:
            _drop(args.postgres, scratch)
    print(f"{'operation (median of runs)':<36} {'default converter':>18} {'claim-check':>14} {'ratio':>7}")
    for label, base, codec in rows:
        unit, scale = ("ms", 1000) if base > 1000 or codec > 1000 else ("us", 1)
        print(f"{label:<36} {base / scale:>15.2f} {unit} {codec / scale:>11.2f} {unit} {codec / base:>6.1f}x")


if __name__ == "__main__":
    asyncio.run(main())

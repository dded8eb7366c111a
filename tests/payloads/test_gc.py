"""Collecting blobs: garbage goes, blobs of workflows Temporal still has stay, running ones above all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update
from temporalio.client import Client
from temporalio.converter import DataConverter, WorkflowSerializationContext

from gennaker.payloads.blobs import SqlBlobStore, blobs
from gennaker.payloads.codec import BytesLru, ClaimCheck, ClaimCheckCodec
from gennaker.payloads.gc import collect

pytestmark = pytest.mark.temporal
ROOT = Path(__file__).resolve().parents[2]
DAY_MS = 86_400_000


async def stored_for(store: SqlBlobStore, workflow_id: str, text: str) -> None:
    codec = ClaimCheckCodec(ClaimCheck(store, 128 * 1024, BytesLru(0)))
    dc = DataConverter(payload_codec=codec).with_context(WorkflowSerializationContext("default", workflow_id))
    await dc.encode([text * 200_000])


def age_everything(store: SqlBlobStore, days: int) -> None:
    engine = create_engine(store._engine.url)
    with engine.begin() as conn:
        conn.execute(update(blobs).values(last_used_at=int(time.time() * 1000) - days * DAY_MS))
    engine.dispose()


def kept(store: SqlBlobStore) -> int:
    engine = create_engine(store._engine.url)
    with engine.connect() as conn:
        n = len(conn.execute(select(blobs.c.key)).all())
    engine.dispose()
    return n


async def test_only_blobs_no_workflow_needs_are_collected(client: Client, sql_blobs: SqlBlobStore) -> None:
    running_id = f"gc-running-{uuid.uuid4()}"
    # a pipeline still running (no worker: it stays so), with a blob of its own and one of its stage children
    handle = await client.start_workflow("NobodyRunsThis", id=running_id, task_queue=f"none-{uuid.uuid4()}")
    try:
        await stored_for(sql_blobs, running_id, "a")
        await stored_for(sql_blobs, f"{running_id}.stage-1", "b")
        await stored_for(sql_blobs, f"gc-gone-{uuid.uuid4()}", "c")  # its workflow is not in Temporal any more
        await stored_for(sql_blobs, f"gc-gone-{uuid.uuid4()}.stage-2", "d")
        assert kept(sql_blobs) == 4

        fresh = await collect(sql_blobs, client, retention_days=1)
        assert (fresh.examined, fresh.deleted) == (0, 0)  # everything was referred to just now

        age_everything(sql_blobs, days=60)
        dry = await collect(sql_blobs, client, retention_days=1, dry_run=True)
        assert (dry.examined, dry.deleted, dry.kept) == (4, 2, 2)
        assert kept(sql_blobs) == 4
        done = await collect(sql_blobs, client, retention_days=1)
        assert (done.deleted, done.kept) == (2, 2) and done.bytes_freed > 400_000
        assert kept(sql_blobs) == 2
        # a blob referred to again is fresh again: the retention counts from its last use
        await stored_for(sql_blobs, "gc-another", "c")
        assert (await collect(sql_blobs, client, retention_days=1)).deleted == 0
    finally:
        await handle.terminate("test over")


async def test_the_command_reports_what_it_would_collect(client: Client, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'blobs.db'}"
    store = SqlBlobStore(url, own_schema=True)
    await stored_for(store, f"gc-gone-{uuid.uuid4()}", "e")
    age_everything(store, days=400)
    store.close()
    env = {
        **os.environ,
        "GENNAKER_TEMPORAL__ADDRESS": client.service_client.config.target_host,
        "GENNAKER_PAYLOADS__DATABASE_URL": url,
        "GENNAKER_STATE_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.run(
        [sys.executable, "-m", "gennaker.payloads", "gc", "--dry-run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["deleted"] == 1


async def test_a_part_shared_with_a_running_workflow_stays(client: Client, sql_blobs: SqlBlobStore) -> None:
    running_id = f"gc-parts-{uuid.uuid4()}"
    handle = await client.start_workflow("NobodyRunsThis", id=running_id, task_queue=f"none-{uuid.uuid4()}")
    shared = {"body": "s" * 300_000}
    try:
        for workflow_id, own in ((running_id, "r"), (f"gc-gone-{uuid.uuid4()}", "g")):
            codec = ClaimCheckCodec(ClaimCheck(sql_blobs, 128 * 1024, BytesLru(0), 64 * 1024))
            dc = DataConverter(payload_codec=codec).with_context(WorkflowSerializationContext("default", workflow_id))
            [reference] = await dc.encode([{"own": own * 150_000, "shared": shared}])
            if workflow_id == running_id:
                kept_reference = reference
        assert kept(sql_blobs) == 5  # two remainders, two own parts, one shared part
        age_everything(sql_blobs, days=60)
        done = await collect(sql_blobs, client, retention_days=1)
        assert (done.deleted, done.kept) == (2, 3)
        fresh = ClaimCheckCodec(ClaimCheck(sql_blobs, 128 * 1024, BytesLru(0), 64 * 1024))
        assert await DataConverter(payload_codec=fresh).decode([kept_reference]) == [
            {"own": "r" * 150_000, "shared": shared}
        ]
    finally:
        await handle.terminate("test over")

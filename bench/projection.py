"""Execution projection benchmark: Gate's GET of a 1,000-stage execution and the engine's per-transition write,
against the previous whole-document row, in the same run.

    .venv/bin/python -m bench.projection [--stages 1000] [--runs 50] [--postgres postgresql+psycopg://...]

SQLite on a temporary file always; PostgreSQL too when ``--postgres`` names a database (it creates and drops
tables of its own there through the store's migration). Measured:

* ``GET /pipelines/{id}`` over the FastAPI app in process (httpx's ASGI transport): the stored text, sent as is;
* baseline: the previous read path (one whole-JSON row, decoded, then re-encoded by the response);
* one stage transition written with ``apply_execution_update`` vs. the whole execution rewritten
  (``save_execution``), which is what a projection kept as one document would cost per transition;
* ``GET /applications/{app}/pipelines`` (expand=false, 25 finished executions of 50 stages).

It prints a table (p50/p95 in ms) and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

APP = "benchproj"


def stage(i: int, status: str = "SUCCEEDED") -> dict[str, Any]:
    return {
        "id": f"stage-{i:05d}",
        "refId": str(i),
        "type": "wait",
        "name": f"Wait {i}",
        "status": status,
        "startTime": 1_700_000_000_000 + i,
        "endTime": 1_700_000_000_500 + i,
        "requisiteStageRefIds": [str(i - 1)] if i else [],
        "context": {"waitTime": 0, "group": "g", "notes": "x" * 400, "nested": {"a": list(range(20))}},
        "outputs": {"result": f"value {i}", "list": list(range(10))},
        "tasks": [{"id": "1", "name": "wait", "implementingClass": "WaitTask", "status": status}],
    }


def execution(eid: str, n: int, status: str = "SUCCEEDED") -> dict[str, Any]:
    return {
        "id": eid,
        "application": APP,
        "type": "PIPELINE",
        "name": "long",
        "pipelineConfigId": "cfg-long",
        "status": status,
        "buildTime": 1_700_000_000_000,
        "startTime": 1_700_000_000_001,
        "trigger": {"type": "manual", "user": "bench", "parameters": {"p": "v"}},
        "stages": [stage(i) for i in range(n)],
    }


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def atimed(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def measure(url: str, label: str, stages: int, runs: int) -> list[tuple[str, str, list[float]]]:
    from sqlalchemy import text

    from api.main import create_app
    from core.settings import Settings
    from core.store import Store

    store = Store(url)
    store.migrate()
    big = execution("E-big", stages, status="RUNNING")
    store.executions.save(big)
    for i in range(25):
        store.executions.save(execution(f"E-list-{i:03d}", 50))
    # the previous release's row: the whole execution in one body, read back whole
    whole = json.dumps(big, separators=(",", ":"))
    with store.engine.begin() as conn:  # a scratch table of the benchmark's own
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_whole (id VARCHAR(64) PRIMARY KEY, body TEXT)"))
        conn.execute(text("DELETE FROM bench_whole"))
        conn.execute(text("INSERT INTO bench_whole VALUES ('E-big', :b)"), {"b": whole})

    def old_read() -> Any:
        with store.engine.connect() as conn:
            body = conn.execute(text("SELECT body FROM bench_whole WHERE id = 'E-big'")).scalar_one()
        from fastapi.responses import JSONResponse

        return JSONResponse(json.loads(body)).body  # the old route returned the decoded dict

    version = [10]

    def one_transition() -> None:
        version[0] += 1
        i = version[0] % stages
        store.executions.apply_update(
            {"id": "E-big", "version": version[0], "stages": [{"seq": i, "stage": stage(i, "RUNNING")}]}
        )

    def whole_rewrite() -> None:
        store.executions.save(big)

    settings = Settings(state_dir=Path(tempfile.mkdtemp()), task_queue="bench-projection")
    app = create_app(settings, temporal=object(), store=store)
    rows: list[tuple[str, str, list[float]]] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:

        async def get_big() -> None:
            r = await http.get("/pipelines/E-big")
            r.raise_for_status()

        async def listing() -> None:
            r = await http.get(f"/applications/{APP}/pipelines", params={"limit": 25})
            r.raise_for_status()

        await get_big()
        rows.append((label, f"GET /pipelines/{{id}} ({stages} stages)", await atimed(get_big, runs)))
    rows.append((label, f"  baseline: whole row read, decoded, re-encoded ({stages} stages)", timed(old_read, runs)))
    rows.append((label, "one stage transition written (apply_execution_update)", timed(one_transition, runs)))
    rows.append((label, f"  baseline: whole execution rewritten ({stages} stages)", timed(whole_rewrite, runs)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:

        async def listing2() -> None:
            (await http.get(f"/applications/{APP}/pipelines", params={"limit": 25})).raise_for_status()

        rows.append((label, "GET /applications/{app}/pipelines (25 x 50 stages)", await atimed(listing2, runs)))
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_whole"))
    store.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL to measure too")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += asyncio.run(measure(f"sqlite:///{tmp}/bench.db", "SQLite", args.stages, args.runs))
    if args.postgres:
        rows += asyncio.run(measure(args.postgres, "PostgreSQL", args.stages, args.runs))
    print(f"{'database':<11} {'what':<66} {'p50 ms':>8} {'p95 ms':>8} {'mean':>8}")
    for label, what, values in rows:
        print(f"{label:<11} {what:<66} {p(values, 50):>8.2f} {p(values, 95):>8.2f} {statistics.fmean(values):>8.2f}")


if __name__ == "__main__":
    main()

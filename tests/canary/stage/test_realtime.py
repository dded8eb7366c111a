"""Real-time kayentaCanary through the engine against a prometheus scraping live builds: durable-timer interval
waits, growing windows from the moment the stage was planned, the good build passing and the bad one (50 % more
errors) failing — the demo's pipelines, with short intervals."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from gennaker.client import AsyncClient, _call
from gennaker.demo_canary import canary_config, canary_pipeline
from tests.conftest import Gate

pytestmark = pytest.mark.temporal


def ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


async def test_good_build_passes_and_bad_build_fails_in_real_time(live_gate: Gate) -> None:
    async with AsyncClient(live_gate.url) as gate:
        await gate._send(_call("POST", "/v2/canaryConfig", json=canary_config("shop")))
        ids = {}
        for build in ("canary-good", "canary-bad"):
            pipeline = canary_pipeline("shop", build, lifetime="PT20S", interval_mins=1 / 6)
            if build == "canary-good":  # a 3-second warm-up shifts its windows
                pipeline["stages"][0]["canaryConfig"]["beginCanaryAnalysisAfterMins"] = 0.05
            await gate.save_pipeline(pipeline)
            ids[build] = await gate.trigger("shop", f"canary {build}")
        good, bad = await asyncio.gather(*(gate.wait(ids[b], timeout=100) for b in ("canary-good", "canary-bad")))

    assert good["status"] == "SUCCEEDED", good
    names = [(s["type"], s["name"], s["status"]) for s in good["stages"] if s.get("parentStageId")]
    assert names == [
        ("wait", "Warmup Wait", "SUCCEEDED"),
        ("wait", "Interval Wait #1", "SUCCEEDED"),
        ("runCanary", "Run Canary #1", "SUCCEEDED"),
        ("wait", "Interval Wait #2", "SUCCEEDED"),
        ("runCanary", "Run Canary #2", "SUCCEEDED"),
    ]
    top = next(s for s in good["stages"] if s["type"] == "kayentaCanary")
    runs = [s for s in good["stages"] if s["type"] == "runCanary"]
    # growing windows: both start at the plan time (the stage's start, read once) plus the warm-up; the second
    # ends one interval after the first
    starts = {ms(s["context"]["intervalStartTimeIso"]) for s in runs}
    assert starts == {top["startTime"] + 3000}
    first_end, second_end = (ms(s["context"]["intervalEndTimeIso"]) for s in runs)
    assert (first_end - top["startTime"], second_end - top["startTime"]) == (13_000, 23_000)
    # each run waited its interval (a durable timer): it starts no earlier than its window's end
    assert all(s["startTime"] >= ms(s["context"]["intervalEndTimeIso"]) - 5 for s in runs)
    assert top["context"]["canaryScores"][-1] >= 75

    assert bad["status"] == "TERMINAL"
    bad_runs = [s for s in bad["stages"] if s["type"] == "runCanary"]
    assert [s["status"] for s in bad_runs] == ["TERMINAL"]  # failed fast in its first interval
    assert bad_runs[0]["context"]["canaryScore"] <= 50

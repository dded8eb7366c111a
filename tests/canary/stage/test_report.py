"""The canary report as a person sees it: a real run (the test Prometheus, 50 % more errors) rendered by Gate and
opened in Debian's headless Chromium (driven by playwright, no browser download)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright

from canary.report import distribution_svg, reason, series_svg
from tests.canary.stage.helpers import canary_stage, create_config, finished, stages_of, start
from tests.conftest import Gate

pytestmark = pytest.mark.temporal
CHROMIUM = "/usr/bin/chromium"


async def test_a_failed_canary_reads_as_failed_with_both_sides_drawn(canary_gate: Gate, temporal_env: Any) -> None:
    async with httpx.AsyncClient(base_url=canary_gate.url, timeout=30) as http:
        await create_config(http)
        execution = await finished(temporal_env, http, await start(http, "shown", [canary_stage("canary-bad")]))
        run_id = stages_of(execution, "runCanary")[0]["context"]["canaryPipelineExecutionId"]
        page_url = f"{canary_gate.url}/v2/canaries/canary/{run_id}/report"
        assert (await http.get(page_url)).headers["content-type"].startswith("text/html")
        assert (await http.get("/v2/canaries/canary/01NOSUCHRUN/report")).status_code == 404

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(page_url)
            assert await page.title() == f"Canary {run_id}: Fail"
            assert (await page.locator("h1 .verdict").inner_text()) == "Fail"
            assert await page.locator(".summary .score").inner_text() == "0"
            metric = page.locator('section.metric[data-metric="error rate"]')
            assert await metric.locator("h2 .label").inner_text() == "High"
            said = await metric.locator(".reason").inner_text()
            assert said.startswith("error rate was classified as High.") and "significantly higher" in said
            # both sides are drawn, visibly, in the time series and in the distribution
            for chart in ("time series", "distribution"):
                svg = metric.locator(f'svg[aria-label="error rate: {chart}"]')
                assert await svg.is_visible()
                box = await svg.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 100
                for side in ("control", "experiment"):
                    assert await svg.locator(f".{side}").count() >= 1, (chart, side)
            # the experiment's line sits higher on the page than the control's (SVG y grows downwards)
            control_box = await metric.locator("polyline.control").bounding_box()
            experiment_box = await metric.locator("polyline.experiment").bounding_box()
            assert control_box and experiment_box and experiment_box["y"] < control_box["y"]
            window = await page.locator("table.window").inner_text()
            assert "baseline" in window and "canary-bad" in window and "2025-01-01 00:00:00 UTC" in window
            stats = await metric.locator("table.stats").inner_text()
            assert "count" in stats and "181" in stats
        finally:
            await browser.close()


def test_charts_and_reasons_without_data() -> None:
    assert "no data" in series_svg([], [float("nan")], "m: time series")
    assert "no data" in distribution_svg([], [], "m: distribution")
    drawn = distribution_svg([1.0, 1.0, 2.0], [3.0], "m: distribution", bins=2)
    assert drawn.count('class="control"') == 2 and drawn.count('class="experiment"') == 1
    assert reason({"classification": "Nodata", "classificationReason": "Missing data"}) == "Missing data"
    said = reason({"classification": "Pass", "controlMetadata": {"stats": {"mean": 2.0}},
                   "experimentMetadata": {"stats": {"mean": 2.1}}, "resultMetadata": {"ratio": 1.05}})  # fmt: skip
    assert said.startswith("No significant difference") and "ratio 1.05" in said

"""Start Manual Execution's trigger selection and Preview (the expressions' dry run), then the execution details'
stage selection by refId through live updates and the tasks' links to Temporal, in Chromium against the real
stack."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import Page, expect

from tests.ui.conftest import Deck

pytestmark = pytest.mark.temporal

PIPELINE = {
    "application": "trig",
    "name": "release",
    "triggers": [{"type": "jenkins", "master": "ci", "job": "build-shop", "enabled": True}],
    "parameterConfig": [{"name": "version", "required": True}],
    "stages": [
        {
            "refId": "1",
            "type": "wait",
            "name": "Soak",
            "waitTime": 1,
            "build": "${trigger.buildNumber}",
            "image": "shop:${parameters.version}",
        },
        {
            "refId": "2",
            "requisiteStageRefIds": ["1"],
            "type": "wait",
            "name": "Hold",
            "waitTime": 3,
            "soaked": "${#stage('Soak').outputs.never}",
        },
    ],
}


async def test_choose_a_trigger_preview_the_expressions_run_and_follow_a_stage(deck: Deck, page: Page) -> None:
    async with deck.http() as http:
        job = {"type": "createApplication", "application": {"name": "trig", "email": "t@x.y"}}
        await http.post("/applications/trig/tasks", json={"job": [job]})
        assert (await http.post("/pipelines", json=PIPELINE)).status_code == 200
    await page.goto(f"{deck.url}/#/applications/trig/executions")
    await page.get_by_role("button", name="Start Manual Execution").click()
    form = page.get_by_role("form", name="Parameters of release")
    await form.get_by_label("Trigger").select_option(label="jenkins: ci/build-shop")
    await form.get_by_label("Build number").fill("42")
    await form.get_by_label("version *").fill("1.4")

    # Preview: the expressions as the run would see them, nothing started
    await form.get_by_role("button", name="Preview").click()
    soak = form.get_by_role("group", name="Preview of stage Soak")
    await expect(soak).to_contain_text('"build": 42', timeout=10_000)
    await expect(soak).to_contain_text('"image": "shop:1.4"')
    hold = form.get_by_role("group", name="Preview of stage Hold")
    await expect(hold.get_by_role("list", name="Expressions not evaluated")).to_be_visible()
    await expect(page.locator(".execution")).to_have_count(0)

    await form.get_by_role("button", name="Run").click()
    row = page.locator(".execution").first
    await expect(row).to_have_attribute("data-status", "RUNNING", timeout=10_000)
    execution_id = await row.get_attribute("data-id")
    trigger = deck.store.executions.get(execution_id)["trigger"]
    assert {k: trigger.get(k) for k in ("type", "master", "job", "buildNumber")} == {
        "type": "manual",
        "master": "ci",
        "job": "build-shop",
        "buildNumber": 42,
    }
    assert trigger["parameters"] == {"version": "1.4"} and "enabled" not in trigger

    # details by refId: the selection stays on Soak while the live updates run Hold and finish the execution
    await page.goto(f"{deck.url}/#/applications/trig/executions/details/{execution_id}?refId=1")
    title = page.locator("#stage-title")
    await expect(title).to_contain_text("Soak")
    await expect(page.locator(".summary .status")).to_have_text("SUCCEEDED", timeout=15_000)
    await expect(title).to_contain_text("Soak")
    link = page.get_by_role("link", name="Activity of task wait in Temporal").first
    assert (await link.get_attribute("href")).endswith(f"/namespaces/default/workflows/{execution_id}.stage-1")
    # a link to another stage of the same execution selects it in place
    await page.evaluate("window.sameDocument = true")
    await page.goto(f"{deck.url}/#/applications/trig/executions/details/{execution_id}?refId=2")
    await expect(title).to_contain_text("Hold")
    assert await page.evaluate("window.sameDocument") is True
    stage = next(s for s in deck.store.executions.get(execution_id)["stages"] if s["refId"] == "1")
    assert json.dumps(stage["context"].get("build")) == "42"

    # the executions page asks Gate only for what its filters show (statuses=), never everything to hide most
    await page.goto(f"{deck.url}/#/applications/trig/executions")
    await expect(page.locator(".execution")).to_have_count(1)
    async with page.expect_request(lambda r: "/gate/applications/trig/pipelines?" in r.url) as asked:
        await page.get_by_label("terminal").check()
    assert "statuses=TERMINAL" in (await asked.value).url and "limit=10" in (await asked.value).url
    await expect(page.locator(".execution")).to_have_count(0)

"""Deck's first pages in Chromium against the real stack: create an application, start a pipeline and watch it go
live to SUCCEEDED without a reload, judge a manual judgment, cancel another, a reader's 403 and disabled buttons."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.ui.conftest import Deck

pytestmark = pytest.mark.temporal


async def save_pipeline(deck: Deck, app: str, name: str, stages: list[dict[str, Any]], **headers: str) -> str:
    async with deck.http(**headers) as http:
        saved = await http.post("/pipelines", json={"application": app, "name": name, "stages": stages})
        assert saved.status_code == 200, saved.text
        configs = (await http.get(f"/applications/{app}/pipelineConfigs")).json()
    return next(c["id"] for c in configs if c["name"] == name)


async def start(deck: Deck, app: str, name: str) -> str:
    async with deck.http() as http:
        answer = await http.post(f"/pipelines/{app}/{name}", json={"type": "manual", "user": "tester"})
        assert answer.status_code == 202, answer.text
    return str(answer.json()["ref"]).rsplit("/", 1)[-1]


UNNAMED = """() => [...document.querySelectorAll('a, button, input, select, textarea')].filter((el) => {
  const by = el.getAttribute('aria-labelledby');
  const name = el.getAttribute('aria-label') || (by && document.getElementById(by)?.textContent)
    || (el.labels && el.labels[0]?.textContent) || (el.tagName === 'INPUT' ? '' : el.textContent) || el.title;
  return !(name || '').trim();
}).map((el) => el.outerHTML.slice(0, 120))"""


async def unnamed_controls(page: Page) -> list[str]:
    """Controls without an accessible name (label, aria-label, aria-labelledby or text)."""
    return list(await page.evaluate(UNNAMED))


async def keyboard_reaches(page: Page, name: str, presses: int = 40) -> bool:
    """Tab from the top of the page until the focused element's text is ``name``."""
    await page.locator("body").focus()
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if (await page.evaluate("document.activeElement && document.activeElement.textContent")) == name:
            return True
    return False


async def test_create_an_application_then_watch_a_pipeline_go_live(deck: Deck, page: Page) -> None:
    await page.goto(f"{deck.url}/#/applications")
    assert await keyboard_reaches(page, "Create Application")
    await page.keyboard.press("Enter")
    await page.get_by_label("Name").fill("shop")
    await page.get_by_label("Owner email").fill("team@example.com")
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page).to_have_url(f"{deck.url}/#/applications/shop/executions", timeout=15_000)
    async with deck.http() as http:
        assert (await http.get("/applications/shop")).json()["attributes"]["email"] == "team@example.com"

    await save_pipeline(deck, "shop", "deploy", [{"refId": "1", "type": "wait", "name": "Soak", "waitTime": 4}])
    await page.reload()  # the new pipeline config (the editor, when it lands, will add it in place)
    await page.evaluate("window.sameDocument = true")
    await page.get_by_role("button", name="Start Manual Execution").click()
    row = page.locator(".execution").first
    await expect(row).to_have_attribute("data-status", "RUNNING", timeout=5_000)
    await expect(row.get_by_role("link", name="Stage Soak: RUNNING")).to_be_visible()
    await expect(row).to_have_attribute("data-status", "SUCCEEDED", timeout=10_000)
    shown_at = time.time() * 1000
    assert await page.evaluate("window.sameDocument") is True, "the page reloaded"
    finished = deck.store.executions.get(await row.get_attribute("data-id"))["endTime"]
    assert shown_at - finished < 2_000, f"the end showed {shown_at - finished:.0f} ms after it was recorded"
    assert await unnamed_controls(page) == []

    # Restart stage: the finished wait runs again, and the page follows it live
    soak = row.get_by_role("link", name="Stage Soak: SUCCEEDED")
    await soak.click()
    await page.get_by_role("button", name="Restart stage").click()
    await expect(page.locator(".summary .status")).to_have_text("RUNNING", timeout=10_000)
    await expect(page.locator(".summary .status")).to_have_text("SUCCEEDED", timeout=10_000)


async def test_judge_a_manual_judgment_and_cancel_another(deck: Deck, page: Page) -> None:
    async with deck.http() as http:
        await http.post(
            "/applications/ops/tasks",
            json={"job": [{"type": "createApplication", "application": {"name": "ops", "email": "o@x.y"}}]},
        )
    judged = [
        {
            "refId": "1",
            "type": "manualJudgment",
            "name": "Approve",
            "judgmentInputs": [{"value": "ship"}, {"value": "hold"}],
        }
    ]
    await save_pipeline(deck, "ops", "release", judged)
    await save_pipeline(deck, "ops", "long", [{"refId": "1", "type": "wait", "name": "Long wait", "waitTime": 600}])
    release, long = await start(deck, "ops", "release"), await start(deck, "ops", "long")

    await page.goto(f"{deck.url}/#/applications/ops/executions/details/{release}")
    await page.evaluate("window.sameDocument = true")
    await expect(page.get_by_role("group", name="Manual judgment: Approve")).to_be_visible(timeout=10_000)
    await page.get_by_label("Judgment input").select_option("ship")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator(".summary .status")).to_have_text("SUCCEEDED", timeout=10_000)
    stage = deck.store.executions.get(release)["stages"][0]
    assert stage["context"]["judgmentStatus"] == "continue" and stage["context"]["judgmentInput"] == "ship"

    await page.goto(f"{deck.url}/#/applications/ops/executions/details/{long}")
    await expect(page.locator(".summary .status")).to_have_text("RUNNING", timeout=10_000)
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator(".summary .status")).to_have_text("PAUSED", timeout=10_000)
    await page.get_by_role("button", name="Resume").click()
    await expect(page.locator(".summary .status")).to_have_text("RUNNING", timeout=10_000)
    async with deck.http() as http:  # someone else pauses and resumes it (no Echo event): the page follows live
        assert (await http.put(f"/pipelines/{long}/pause")).status_code < 300
        await expect(page.locator(".summary .status")).to_have_text("PAUSED", timeout=5_000)
        assert (await http.put(f"/pipelines/{long}/resume")).status_code < 300
        await expect(page.locator(".summary .status")).to_have_text("RUNNING", timeout=5_000)
        await page.goto(f"{deck.url}/#/applications/ops/executions")  # the executions page follows it too
        row = page.locator(f".execution[data-id='{long}']")
        await expect(row).to_have_attribute("data-status", "RUNNING", timeout=10_000)
        assert (await http.put(f"/pipelines/{long}/pause")).status_code < 300
        await expect(row).to_have_attribute("data-status", "PAUSED", timeout=5_000)
        assert (await http.put(f"/pipelines/{long}/resume")).status_code < 300
        await expect(row).to_have_attribute("data-status", "RUNNING", timeout=5_000)
    await page.goto(f"{deck.url}/#/applications/ops/executions/details/{long}")
    await expect(page.locator(".summary .status")).to_have_text("RUNNING", timeout=10_000)
    assert await unnamed_controls(page) == []
    await page.get_by_role("button", name="Cancel execution").click()
    await page.get_by_label("Reason for canceling").fill("wrong build")
    await page.get_by_role("button", name="Confirm cancel").click()
    await expect(page.locator(".summary .status")).to_have_text("CANCELED", timeout=10_000)
    assert await page.evaluate("window.sameDocument") is True

    # a live update while the cancel form is open (another stage of the execution ends: someone judged it elsewhere)
    # redraws the page, and keeps the form with what was typed in it
    both = [{"refId": "1", "type": "wait", "name": "Long wait", "waitTime": 600},
            {"refId": "2", "type": "manualJudgment", "name": "Gate"}]  # fmt: skip
    await save_pipeline(deck, "ops", "gated", both)
    gated = await start(deck, "ops", "gated")
    await page.goto(f"{deck.url}/#/applications/ops/executions/details/{gated}")
    await expect(page.get_by_role("group", name="Manual judgment: Gate")).to_be_visible(timeout=10_000)
    await page.get_by_role("button", name="Cancel execution").click()
    await page.get_by_label("Reason for canceling").fill("judged elsewhere")
    gate_stage = next(s for s in deck.store.executions.get(gated)["stages"] if s["refId"] == "2")
    async with deck.http() as http:
        judged_elsewhere = await http.patch(f"/pipelines/{gated}/stages/{gate_stage['id']}",
                                            json={"judgmentStatus": "continue"})  # fmt: skip
        assert judged_elsewhere.status_code < 300, judged_elsewhere.text
    await expect(page.get_by_role("group", name="Manual judgment: Gate")).to_be_hidden(timeout=10_000)  # redrawn
    await expect(page.get_by_label("Reason for canceling")).to_have_value("judged elsewhere")
    await page.get_by_role("button", name="Confirm cancel").click()
    await expect(page.locator(".summary .status")).to_have_text("CANCELED", timeout=10_000)
    assert deck.store.executions.get(gated)["cancellationReason"] == "judged elsewhere"

    # Skip remaining wait on a running wait stage
    skipped = await start(deck, "ops", "long")
    await page.goto(f"{deck.url}/#/applications/ops/executions/details/{skipped}")
    await page.get_by_role("button", name="Skip remaining wait").click(timeout=10_000)
    await expect(page.locator(".summary .status")).to_have_text("SUCCEEDED", timeout=10_000)
    assert deck.store.executions.get(skipped)["stages"][0]["context"]["skipRemainingWait"] is True


LOCKED = {"READ": ["readers", "devs"], "WRITE": ["devs"], "EXECUTE": ["devs"]}


async def test_a_reader_sees_disabled_actions_with_the_reason_and_a_403(locked_deck: Deck, browser: Browser) -> None:
    deck = locked_deck
    deck.store.applications.save({"name": "vault", "email": "v@x.y", "permissions": LOCKED}, "setup")
    deck.store.applications.save({"name": "hidden", "email": "h@x.y", "permissions": {"READ": ["devs"]}}, "setup")
    dev = {"X-Forwarded-User": "dana", "X-Forwarded-Groups": "devs"}
    await save_pipeline(
        deck, "vault", "long", [{"refId": "1", "type": "wait", "name": "Long wait", "waitTime": 600}], **dev
    )
    async with deck.http(**dev) as http:
        answer = await http.post("/pipelines/vault/long", json={"type": "manual"})
        assert answer.status_code == 202, answer.text
    execution_id = str(answer.json()["ref"]).rsplit("/", 1)[-1]

    reader = {"X-Forwarded-User": "rita", "X-Forwarded-Groups": "readers"}
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, extra_http_headers=reader)
    try:
        page = await context.new_page()
        await page.goto(f"{deck.url}/#/applications/vault/executions/details/{execution_id}")
        await expect(page.locator("#who")).to_have_text("Signed in as rita")
        cancel = page.get_by_role("button", name="Cancel execution")
        await expect(cancel).to_be_disabled()
        await expect(cancel).to_have_accessible_description("rita lacks EXECUTE permission on vault")
        await expect(page.get_by_role("button", name="Pause")).to_be_disabled()
        await page.goto(f"{deck.url}/#/applications/vault/executions")
        await expect(page.get_by_role("button", name="Start Manual Execution")).to_be_disabled()
        # the API decides in the end: the reader's own request is refused with Gate's 403, and shown
        await page.goto(f"{deck.url}/#/applications/hidden/executions")
        await expect(page.get_by_role("heading", name="Access denied")).to_be_visible()
        await expect(page.get_by_role("alert").filter(has_text="403")).to_be_visible()
    finally:
        await context.close()
    async with deck.http(**dev) as http:
        await http.put(f"/pipelines/{execution_id}/cancel", params={"force": "true"})


async def test_start_a_pipeline_with_its_parameters(deck: Deck, page: Page) -> None:
    async with deck.http() as http:
        job = {"type": "createApplication", "application": {"name": "params", "email": "p@x.y"}}
        await http.post("/applications/params/tasks", json={"job": [job]})
        config = {
            "application": "params",
            "name": "release",
            "stages": [{"refId": "1", "type": "wait", "name": "Soak", "waitTime": 1}],
            "parameterConfig": [
                {"name": "version", "label": "Version", "required": True, "description": "the build to ship"},
                {"name": "region", "default": "eu", "options": [{"value": "us"}, {"value": "eu"}]},
            ],
        }
        assert (await http.post("/pipelines", json=config)).status_code == 200
    await page.goto(f"{deck.url}/#/applications/params/executions")
    await page.get_by_role("button", name="Start Manual Execution").click()
    form = page.get_by_role("form", name="Parameters of release")
    await expect(form.get_by_label("region")).to_have_value("eu")
    await form.get_by_role("button", name="Run").click()  # Version is required: the browser keeps the form
    await expect(form).to_be_visible()
    await form.get_by_label("Version *").fill("1.4.2")
    await form.get_by_label("region").select_option("us")
    await form.get_by_role("button", name="Run").click()
    await expect(form).to_be_hidden()
    row = page.locator(".execution").first
    await expect(row).to_have_attribute("data-status", "SUCCEEDED", timeout=15_000)
    execution_id = await row.get_attribute("data-id")
    assert deck.store.executions.get(execution_id)["trigger"]["parameters"] == {"version": "1.4.2", "region": "us"}

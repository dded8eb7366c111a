"""The pipeline editor (Deck's pipeline configuration page) in Chromium against the real stack: create a pipeline
and save it, a stage by its form and one by the JSON editor, reorder them by "Depends On", a validation error next
to its field, a revision restored from the history, and a reader's Save disabled with the reason."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.ui.conftest import Deck
from tests.ui.test_pages import save_pipeline, unnamed_controls

pytestmark = pytest.mark.temporal

LOCKED = {"READ": ["readers", "devs"], "WRITE": ["devs"], "EXECUTE": ["devs"]}


def stored(deck: Deck, app: str, name: str) -> dict[str, Any]:
    return dict(deck.store.pipelines.get_by_name(app, name))


async def save_changes(page: Page) -> None:
    await page.get_by_role("button", name="Save Changes").click()
    await expect(page.get_by_role("status").filter(has_text="server")).to_have_text("In sync with server")


async def left(page: Page, name: str) -> float:
    box = await page.get_by_role("button", name=name, exact=True).bounding_box()
    assert box is not None
    return float(box["x"])


async def test_create_a_pipeline_add_stages_by_form_and_json_reorder_and_save(deck: Deck, page: Page) -> None:
    deck.store.applications.save({"name": "edit", "email": "e@x.y"}, "setup")
    async with deck.http() as http:
        types = {t["type"]: t["aliases"] for t in (await http.get("/stageTypes")).json()}
    assert {"wait", "webhook", "manualJudgment", "deployManifest"} <= set(types)

    await page.goto(f"{deck.url}/#/applications/edit/executions")
    await page.get_by_role("button", name="Create new pipeline").click()
    await page.get_by_label("Pipeline Name").fill("release")
    await page.get_by_role("button", name="Create", exact=True).click()
    await expect(page).to_have_url(re.compile(r".*/executions/configure/[^/]+$"))
    await expect(page).to_have_url(re.compile(re.escape(f"/configure/{stored(deck, 'edit', 'release')['id']}") + "$"))
    await expect(page.get_by_role("status").filter(has_text="server")).to_have_text("In sync with server")

    # a wait stage through its form
    await page.get_by_role("button", name="Add stage").click()
    await page.get_by_label("Type", exact=True).select_option("wait")
    await page.get_by_label("Wait time (seconds)").fill("5")
    await expect(page.get_by_role("status").filter(has_text="changes")).to_have_text("You have unsaved changes")
    # a webhook stage through the JSON editor (added after the selected stage, as Deck does)
    await page.get_by_role("button", name="Add stage").click()
    await page.get_by_text("Edit stage as JSON").click()
    editor = page.get_by_role("textbox", name="as JSON")
    await editor.fill('{"refId": "2", "requisiteStageRefIds": ["1"], "type": "webhook", "name": "Notify", "url": ')
    await expect(page.get_by_role("alert").filter(has_text="Invalid JSON")).to_be_visible()
    await editor.fill(
        '{"refId": "2", "requisiteStageRefIds": ["1"], "type": "webhook", "name": "Notify",'
        ' "url": "https://hooks.example.com/x", "method": "POST"}'
    )
    await expect(page.get_by_role("alert").filter(has_text="Invalid JSON")).to_be_hidden()
    await expect(page.get_by_label("Webhook URL")).to_have_value("https://hooks.example.com/x")  # the form follows
    assert await left(page, "Stage Wait") < await left(page, "Stage Notify")
    await save_changes(page)
    config = stored(deck, "edit", "release")
    assert [(s["refId"], s["type"], s.get("requisiteStageRefIds")) for s in config["stages"]] == [
        ("1", "wait", []),
        ("2", "webhook", ["1"]),
    ]
    assert config["stages"][0]["waitTime"] == 5 and config["stages"][0]["name"] == "Wait"
    assert config["stages"][1]["url"] == "https://hooks.example.com/x"

    # reorder by "Depends On": Notify first, then Wait
    depends = page.get_by_role("group", name="Depends On")
    await depends.get_by_label("Wait").uncheck()
    await page.get_by_role("button", name="Stage Wait", exact=True).click()
    await depends.get_by_label("Notify").check()
    assert await left(page, "Stage Notify") < await left(page, "Stage Wait")
    assert await unnamed_controls(page) == []
    await save_changes(page)
    config = stored(deck, "edit", "release")
    assert [(s["refId"], s.get("requisiteStageRefIds")) for s in config["stages"]] == [("1", ["2"]), ("2", [])]


async def test_a_validation_error_shows_next_to_its_field_and_nothing_is_lost(deck: Deck, page: Page) -> None:
    deck.store.applications.save({"name": "strict", "email": "s@x.y"}, "setup")
    pipeline_id = await save_pipeline(deck, "strict", "nightly", [{"refId": "1", "type": "wait", "waitTime": 1}])
    await page.goto(f"{deck.url}/#/applications/strict/executions/configure/{pipeline_id}")
    await page.get_by_role("button", name="Add Trigger").click()
    trigger = page.get_by_role("group", name="Trigger 1")
    await trigger.get_by_label("Type", exact=True).select_option("cron")
    cron = trigger.get_by_label("Cron expression")
    await cron.fill("0 0 12 ? * 9")
    await page.get_by_role("button", name="Save Changes").click()
    error = trigger.get_by_role("alert")
    await expect(error).to_contain_text("triggers[0].cronExpression")
    await expect(error).to_contain_text("day-of-week")
    await expect(cron).to_be_focused()
    await expect(cron).to_have_attribute("aria-invalid", "true")
    await expect(cron).to_have_value("0 0 12 ? * 9")  # the form keeps what was typed
    assert not stored(deck, "strict", "nightly").get("triggers")

    # a stage's field: the stage is selected and its control focused
    await page.get_by_role("button", name="Stage Wait", exact=True).click()
    timeout = page.get_by_label("Fail stage after (milliseconds)")
    await timeout.fill("-1")
    await page.get_by_role("button", name="Configuration", exact=True).click()
    await page.get_by_role("button", name="Save Changes").click()
    await expect(page.get_by_role("alert").filter(has_text="stages[0].stageTimeoutMs")).to_be_visible()
    await expect(timeout).to_be_focused()

    await page.get_by_role("button", name="Revert").click()
    await expect(page.get_by_role("status").filter(has_text="server")).to_have_text("In sync with server")
    await expect(page.get_by_label("Fail stage after (milliseconds)")).to_have_value("")

    # leaving with unsaved changes asks first
    await page.get_by_label("Fail stage after (milliseconds)").fill("5000")
    asked: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def answer(dialog: Any) -> None:
        if not asked.done():
            asked.set_result(dialog.type)
        # leave: a beforeunload question left unanswered kept the page half-closed, and closing the context then
        # crashed chromium's browser process (make test met it once: every later UI test failed with it)
        await dialog.accept()

    page.on("dialog", answer)
    await page.close(run_before_unload=True)
    assert await asyncio.wait_for(asked, 10) == "beforeunload"


async def test_restore_a_revision_from_the_history(deck: Deck, page: Page) -> None:
    deck.store.applications.save({"name": "hist", "email": "h@x.y"}, "setup")
    first = [{"refId": "1", "type": "wait", "name": "Soak", "waitTime": 30}]
    pipeline_id = await save_pipeline(deck, "hist", "deploy", first)
    async with deck.http() as http:
        config = stored(deck, "hist", "deploy")
        config["stages"][0]["waitTime"] = 90
        config["description"] = "longer soak"
        assert (await http.post("/pipelines", json=config)).status_code == 200

    await page.goto(f"{deck.url}/#/applications/hist/executions/configure/{pipeline_id}")
    await page.get_by_role("button", name="View revision history").click()
    await page.get_by_label("Revision", exact=True).select_option(index=1)
    diff = page.get_by_role("region", name="Differences")
    await expect(diff.locator(".line.add, .line.remove")).to_have_count(0)  # the first revision has no previous
    await page.get_by_label("Compare to").select_option("current")
    await expect(diff.locator(".line.add")).to_contain_text(['"waitTime": 30'])
    await expect(diff.locator(".line.remove")).to_contain_text(['"description": "longer soak"', '"waitTime": 90'])
    await expect(page.get_by_text("1 added, 2 removed")).to_be_visible()
    await page.get_by_role("button", name="Restore this version").click()
    await expect(page.get_by_role("status").filter(has_text="changes")).to_have_text("You have unsaved changes")
    await page.get_by_role("button", name="Stage Soak", exact=True).click()
    await expect(page.get_by_label("Wait time (seconds)")).to_have_value("30")
    await save_changes(page)
    restored = stored(deck, "hist", "deploy")
    assert restored["stages"][0]["waitTime"] == 30 and "description" not in restored
    assert len(deck.store.pipelines.history(pipeline_id)) == 3


async def test_a_reader_sees_save_disabled_with_the_reason(locked_deck: Deck, browser: Browser) -> None:
    deck = locked_deck
    deck.store.applications.save({"name": "vault", "email": "v@x.y", "permissions": LOCKED}, "setup")
    dev = {"X-Forwarded-User": "dana", "X-Forwarded-Groups": "devs"}
    pipeline_id = await save_pipeline(deck, "vault", "guarded", [{"refId": "1", "type": "wait", "waitTime": 1}], **dev)
    reader = {"X-Forwarded-User": "rita", "X-Forwarded-Groups": "readers"}
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, extra_http_headers=reader)
    try:
        page = await context.new_page()
        await page.goto(f"{deck.url}/#/applications/vault/executions")
        create = page.get_by_role("button", name="Create new pipeline")
        await expect(create).to_be_disabled()
        await expect(create).to_have_accessible_description("rita lacks WRITE permission on vault")
        await page.goto(f"{deck.url}/#/applications/vault/executions/configure/{pipeline_id}")
        save = page.get_by_role("button", name="Save Changes")
        await expect(save).to_be_disabled()
        await expect(save).to_have_accessible_description("rita lacks WRITE permission on vault")
        await expect(page.get_by_role("button", name="Add stage")).to_be_disabled()
        await page.get_by_role("button", name="Stage Wait", exact=True).click()  # reading is allowed
        await expect(page.get_by_label("Wait time (seconds)")).to_be_disabled()
        await expect(page.get_by_label("Wait time (seconds)")).to_have_value("1")
    finally:
        await context.close()

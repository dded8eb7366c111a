"""Deck's actions in Chromium against the real stack: a server group's Resize, Disable, Destroy (typed confirmation)
and Rollback submitted as Gate's ad hoc tasks with the jobs Deck sends and their results shown; an instance's
details panel at Deck's URL; the pipeline editor's Rename, Disable/Enable, Lock, Delete and the question before
leaving it with unsaved changes; a reader sees every action disabled with the reason.

The cloud cache is written as the caching agents write it (as ``test_infrastructure_pages`` does); no cloud account
is configured, so each task runs in the engine and ends TERMINAL with the provider's message, which the task monitor
shows: what is checked is the exact task Gate received (the orchestration's stage) and that its outcome reaches the
page live."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.ui.conftest import Deck
from tests.ui.test_infrastructure_pages import seed_clusters
from tests.ui.test_pages import save_pipeline, unnamed_controls

pytestmark = pytest.mark.temporal

LOCKED = {"READ": ["readers", "devs"], "WRITE": ["devs"], "EXECUTE": ["devs"]}


def tasks(deck: Deck, app: str) -> list[dict[str, Any]]:
    """The application's orchestrations as the store holds them, oldest first."""
    found = deck.store.executions.query(application=app, type="ORCHESTRATION", limit=50)
    return sorted(found, key=lambda e: e.get("buildTime") or 0)


def job_of(execution: dict[str, Any]) -> dict[str, Any]:
    stage = next(s for s in execution["stages"] if s.get("parentStageId") is None)
    return {"type": stage["type"], **stage["context"]}


async def finished_task(page: Page, description: str) -> None:
    """The task monitor names the task and shows that it ended (the engine's result, followed live)."""
    monitor = page.get_by_role("region", name="Task")
    await expect(monitor.get_by_role("heading", name=description)).to_be_visible()
    await expect(monitor.get_by_role("status")).to_contain_text("TERMINAL", timeout=20_000)
    await expect(monitor.get_by_role("alert", name="Task errors")).not_to_be_empty()


async def test_server_group_actions_submit_deck_tasks_and_show_their_result(deck: Deck, page: Page) -> None:
    seed_clusters(deck)
    deck.store.applications.save({"name": "shop", "email": "s@x.y"}, "setup")
    await page.goto(f"{deck.url}/#/applications/shop/clusters/serverGroupDetails/aws/prod/us-east-1/shop-web-v002")
    panel = page.get_by_role("complementary", name="Server group shop-web-v002")
    actions = panel.get_by_role("region", name="Server Group Actions")
    # an enabled group with an older one in its cluster: Rollback is offered; Enable is not
    for name in ("Resize", "Disable", "Rollback", "Destroy"):
        await expect(actions.get_by_role("button", name=name, exact=True)).to_be_enabled()
    await expect(actions.get_by_role("button", name="Enable", exact=True)).to_have_count(0)

    # Resize: a bad capacity is refused in the form, naming the field; then Deck's job and description
    await actions.get_by_role("button", name="Resize", exact=True).click()
    form = actions.get_by_role("form", name="Resize shop-web-v002")
    await form.get_by_label("Min").fill("6")
    await form.get_by_role("button", name="Submit").click()
    await expect(form.get_by_role("alert")).to_have_text("min must not be more than max")
    await expect(form.get_by_label("Min")).to_be_focused()
    await form.get_by_label("Min").fill("2")
    await form.get_by_label("Desired").fill("3")
    await form.get_by_label("Reason").fill("traffic is down")
    await form.get_by_role("button", name="Submit").click()
    description = "Resize Server Group: shop-web-v002 from (min: 1, max: 5, desired: 4) to (min: 2, max: 5, desired: 3)"
    await finished_task(page, description)
    [resize] = tasks(deck, "shop")
    assert resize["description"] == description
    job = job_of(resize)
    assert {k: job[k] for k in ("type", "asgName", "serverGroupName", "region", "credentials", "cloudProvider")} == {
        "type": "resizeServerGroup",
        "asgName": "shop-web-v002",
        "serverGroupName": "shop-web-v002",
        "region": "us-east-1",
        "credentials": "prod",
        "cloudProvider": "aws",
    }
    assert job["capacity"] == {"min": 2, "max": 5, "desired": 3} and job["reason"] == "traffic is down"
    assert job["moniker"]["cluster"] == "shop-web"

    # Disable, after Deck's question
    await actions.get_by_role("button", name="Disable", exact=True).click()
    question = actions.get_by_role("form", name="Really disable shop-web-v002?")
    await question.get_by_role("button", name="Disable").click()
    await finished_task(page, "Disable Server Group: shop-web-v002")
    assert job_of(tasks(deck, "shop")[-1])["type"] == "disableServerGroup"

    # Rollback to the older group of the cluster
    await actions.get_by_role("button", name="Rollback", exact=True).click()
    form = actions.get_by_role("form", name="Rollback shop-web-v002")
    await expect(form.get_by_label("Restore to")).to_have_value("shop-web-v001")
    await form.get_by_role("button", name="Submit").click()
    await finished_task(page, "Rollback Server Group: shop-web-v002")
    rollback = job_of(tasks(deck, "shop")[-1])
    assert rollback["type"] == "rollbackServerGroup" and rollback["rollbackType"] == "EXPLICIT"
    assert rollback["rollbackContext"] == {
        "rollbackServerGroupName": "shop-web-v002",
        "restoreServerGroupName": "shop-web-v001",
        "targetHealthyRollbackPercentage": 100,
    }

    # Destroy: its button stays disabled until the group's name is typed
    await actions.get_by_role("button", name="Destroy", exact=True).click()
    form = actions.get_by_role("form", name="Really destroy shop-web-v002?")
    confirm = form.get_by_role("button", name="Destroy")
    await expect(confirm).to_be_disabled()
    typed = form.get_by_label("Please type in the name of the server group (shop-web-v002) to confirm")
    await typed.fill("shop-web")
    await expect(confirm).to_be_disabled()
    await typed.fill("shop-web-v002")
    await confirm.click()
    await finished_task(page, "Destroy Server Group: shop-web-v002")
    assert job_of(tasks(deck, "shop")[-1])["type"] == "destroyServerGroup"
    assert len(tasks(deck, "shop")) == 4
    assert await unnamed_controls(page) == []

    # a disabled group offers Enable (and no Rollback)
    await page.get_by_role("link", name="Server group shop-web-v001 in us-east-1 (disabled)").click()
    older = page.get_by_role("complementary", name="Server group shop-web-v001")
    await expect(older.get_by_role("button", name="Enable", exact=True)).to_be_enabled()
    await expect(older.get_by_role("button", name="Rollback", exact=True)).to_have_count(0)


async def test_instance_details_at_decks_url(deck: Deck, page: Page) -> None:
    seed_clusters(deck)
    await page.goto(f"{deck.url}/#/applications/shop/clusters")
    # from a health square of the server group's row
    await page.get_by_role("link", name="Instance i-v0021 details").click()
    panel = page.get_by_role("complementary", name="Instance i-v0021")
    await expect(panel).to_be_visible()
    await expect(page).to_have_url(
        re.compile(re.escape("#/applications/shop/clusters/instanceDetails/aws/i-v0021") + "$")
    )
    info = panel.get_by_label("Instance information")
    await expect(info).to_contain_text("Zoneus-east-1a")
    await expect(info).to_contain_text("Inprod")
    await expect(info).to_contain_text("Imageshop-1.4.2-h12")
    await expect(panel.get_by_role("table", name="Health of i-v0021")).to_contain_text("Down")
    await expect(panel.get_by_label("Load balancers")).to_contain_text("shop-frontend")
    assert await unnamed_controls(page) == []
    # the bookmark opens it again; its server group's link opens that group's details
    await page.reload()
    panel = page.get_by_role("complementary", name="Instance i-v0021")
    await panel.get_by_role("link", name="shop-web-v002").click()
    await expect(page.get_by_role("complementary", name="Server group shop-web-v002")).to_be_visible()
    # from the group's instance table
    await (
        page.get_by_role("table", name="Instances of shop-web-v002")
        .get_by_role("link", name="Instance i-v0020 details")
        .click()
    )
    await expect(page.get_by_role("complementary", name="Instance i-v0020")).to_be_visible()
    await page.get_by_role("button", name="Close instance details").click()
    await expect(page).to_have_url(re.compile(re.escape("#/applications/shop/clusters") + "$"))
    # an instance the cache does not hold
    await page.goto(f"{deck.url}/#/applications/shop/clusters/instanceDetails/aws/i-nope")
    await expect(page.get_by_role("alert")).to_contain_text("Instance i-nope is not in the cache for shop")


async def test_pipeline_actions_rename_disable_lock_delete_and_the_question_before_leaving(
    deck: Deck, page: Page
) -> None:
    deck.store.applications.save({"name": "edit", "email": "e@x.y"}, "setup")
    pipeline_id = await save_pipeline(deck, "edit", "release", [{"refId": "1", "type": "wait", "waitTime": 5}])
    await save_pipeline(deck, "edit", "other", [])
    await page.goto(f"{deck.url}/#/applications/edit/executions/configure/{pipeline_id}")
    menu = page.get_by_role("group", name="Pipeline Actions")

    # Rename: a taken name is refused in the form; a new one is saved under the same id
    await menu.get_by_role("button", name="Rename").click()
    form = page.get_by_role("form", name="Rename Pipeline")
    await form.get_by_label("Pipeline Name").fill("Other")
    await form.get_by_role("button", name="Rename").click()
    await expect(form.get_by_role("alert")).to_have_text("There is already a pipeline named Other")
    await form.get_by_label("Pipeline Name").fill("release-2")
    await form.get_by_role("button", name="Rename").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("release-2")
    renamed = deck.store.pipelines.get(pipeline_id)
    assert renamed["name"] == "release-2" and renamed["stages"][0]["waitTime"] == 5

    # an unsaved edit survives Disable; Enable gives it back
    await page.get_by_role("button", name="Stage Wait", exact=True).click()
    await page.get_by_label("Wait time (seconds)").fill("9")
    await menu.get_by_role("button", name="Disable").click()
    question = page.get_by_role("form", name="Really Disable Pipeline?")
    await question.get_by_role("button", name="Disable pipeline").click()
    await expect(page.get_by_text("This pipeline is disabled")).to_be_visible()
    assert deck.store.pipelines.get(pipeline_id)["disabled"] is True
    assert deck.store.pipelines.get(pipeline_id)["stages"][0]["waitTime"] == 5  # the edit is not saved by it
    await expect(page.get_by_label("Wait time (seconds)")).to_have_value("9")
    await menu.get_by_role("button", name="Enable").click()
    await page.get_by_role("form", name="Really Enable Pipeline?").get_by_role("button", name="Enable pipeline").click()
    await expect(page.get_by_text("This pipeline is disabled")).to_be_hidden()
    assert deck.store.pipelines.get(pipeline_id)["disabled"] is False

    # leaving with unsaved changes asks first: staying keeps the page and the edit
    questions: list[str] = []
    asked = asyncio.Event()

    async def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        await (dialog.accept() if len(questions) > 1 else dialog.dismiss())
        asked.set()

    page.on("dialog", answer)
    await page.get_by_role("link", name="← edit").click()
    # the click returns before the page has asked: wait for the question itself
    await asyncio.wait_for(asked.wait(), timeout=10)
    await expect(page.get_by_label("Wait time (seconds)")).to_have_value("9")
    assert questions == ["You have unsaved changes.\nAre you sure you want to navigate away from this page?"]
    await expect(page).to_have_url(re.compile(re.escape(f"/configure/{pipeline_id}") + "$"))
    await page.get_by_role("button", name="Save Changes").click()
    await expect(page.get_by_role("status").filter(has_text="server")).to_have_text("In sync with server")
    assert deck.store.pipelines.get(pipeline_id)["stages"][0]["waitTime"] == 9

    # Lock: the menu's other actions are then disabled with the reason; Unlock enables them again
    await menu.get_by_role("button", name="Lock").click()
    form = page.get_by_role("form", name="Lock Pipeline")
    await form.get_by_label("Description").fill("release freeze")
    await form.get_by_role("button", name="Lock pipeline").click()
    await expect(menu.get_by_role("button", name="Delete")).to_be_disabled()
    await expect(menu.get_by_role("button", name="Delete")).to_have_accessible_description(
        "release-2 is locked: release freeze"
    )
    assert deck.store.pipelines.get(pipeline_id)["locked"]["ui"] is True
    await menu.get_by_role("button", name="Unlock").click()
    await page.get_by_role("form", name="Really Unlock Pipeline?").get_by_role("button", name="Unlock pipeline").click()
    await expect(menu.get_by_role("button", name="Delete")).to_be_enabled()

    # Delete, after Deck's question: back to the executions, the config gone; nothing unsaved, nothing asked
    await menu.get_by_role("button", name="Delete").click()
    await page.get_by_role("form", name="Really Delete Pipeline?").get_by_role("button", name="Delete pipeline").click()
    await expect(page).to_have_url(f"{deck.url}/#/applications/edit/executions")
    names = [c["name"] for c in deck.store.pipelines.all("edit")]
    assert names == ["other"]
    # with nothing unsaved, leaving asks nothing
    await page.goto(f"{deck.url}/#/applications/edit/executions")
    assert len(questions) == 1


async def test_a_reader_sees_the_actions_disabled_with_the_reason(locked_deck: Deck, browser: Browser) -> None:
    deck = locked_deck
    deck.store.applications.save({"name": "shop", "email": "s@x.y", "permissions": LOCKED}, "setup")
    seed_clusters(deck)
    dev = {"X-Forwarded-User": "dana", "X-Forwarded-Groups": "devs"}
    pipeline_id = await save_pipeline(deck, "shop", "guarded", [{"refId": "1", "type": "wait", "waitTime": 1}], **dev)
    reader = {"X-Forwarded-User": "rita", "X-Forwarded-Groups": "readers"}
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, extra_http_headers=reader)
    try:
        page = await context.new_page()
        await page.goto(f"{deck.url}/#/applications/shop/clusters/serverGroupDetails/aws/prod/us-east-1/shop-web-v002")
        actions = page.get_by_role("region", name="Server Group Actions")
        for name in ("Resize", "Disable", "Rollback", "Destroy"):
            button = actions.get_by_role("button", name=name, exact=True)
            await expect(button).to_be_disabled()
            await expect(button).to_have_accessible_description("rita lacks EXECUTE permission on shop")
        await page.goto(f"{deck.url}/#/applications/shop/executions/configure/{pipeline_id}")
        menu = page.get_by_role("group", name="Pipeline Actions")
        for name in ("Rename", "Disable", "Lock", "Delete"):
            button = menu.get_by_role("button", name=name, exact=True)
            await expect(button).to_be_disabled()
            await expect(button).to_have_accessible_description("rita lacks WRITE permission on shop")
    finally:
        await context.close()
    assert tasks(deck, "shop") == []


#: the moniker annotations Spinnaker's Kubernetes deploys write on every object
MONIKER = {"moniker.spinnaker.io/application": "shop", "moniker.spinnaker.io/cluster": "deployment shop-api"}


def kubernetes_objects() -> dict[str, list[dict[str, Any]]]:
    """A Deployment with two ReplicaSets, a Pod, a Service selecting them and an Ingress to it, as the API server
    returns them."""
    labels = {"app": "shop-api"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "shop-api",
            "namespace": "shop",
            "uid": "d-1",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}},
    }

    def replica_set(name: str, revision: str, replicas: int) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": "shop",
                "uid": f"rs-{name}",
                "labels": labels,
                "annotations": {"deployment.kubernetes.io/revision": revision, **MONIKER},
                "ownerReferences": [{"kind": "Deployment", "name": "shop-api", "uid": "d-1"}],
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}},
            },
        }

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "shop-api-7d9-abcde",
            "namespace": "shop",
            "uid": "p-1",
            "labels": labels,
            "ownerReferences": [{"kind": "ReplicaSet", "name": "shop-api-7d9", "uid": "rs-shop-api-7d9"}],
        },
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "shop-api", "namespace": "shop", "uid": "s-1", "annotations": MONIKER},
        "spec": {"selector": labels, "ports": [{"port": 80}]},
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "shop-edge", "namespace": "shop", "uid": "i-1", "annotations": MONIKER},
        "spec": {"rules": [{"http": {"paths": [{"backend": {"service": {"name": "shop-api"}}}]}}]},
    }
    return {
        "Deployment": [deployment],
        "ReplicaSet": [replica_set("shop-api-7d9", "2", 1), replica_set("shop-api-5c4", "1", 0)],
        "Pod": [pod],
        "Service": [service],
        "Ingress": [ingress],
    }


async def test_kubernetes_deployments_above_their_replica_sets_and_services_as_load_balancers(
    deck: Deck, page: Page
) -> None:
    from providers.kubernetes_cache import build

    for kind, documents in build("k8s", kubernetes_objects()).items():
        deck.store.cloud_cache.replace("kubernetes", "k8s", kind, documents)
    await page.goto(f"{deck.url}/#/applications/shop/clusters")
    manager = page.locator(".sg-manager[data-manager='deployment shop-api']")
    await expect(manager.get_by_role("heading", level=4)).to_have_text("deployment shop-api · shop")
    owned = manager.get_by_role("list", name="Server groups of deployment shop-api").get_by_role("listitem")
    await expect(owned).to_have_count(2)
    await expect(owned.first).to_have_attribute("data-name", "replicaSet shop-api-7d9")
    # a Kubernetes group is changed through its manifests: no ad hoc actions in its panel
    await owned.first.get_by_role("link", name="Server group replicaSet shop-api-7d9 in shop").click()
    panel = page.get_by_role("complementary", name="Server group replicaSet shop-api-7d9")
    await expect(panel).to_contain_text("changed through their manifests")
    await expect(panel.get_by_role("button", name="Resize")).to_have_count(0)
    # the Service and the Ingress in Load Balancers, from the same cache
    await page.goto(f"{deck.url}/#/applications/shop/loadBalancers")
    await expect(page.get_by_text("service shop-api").first).to_be_visible()
    await expect(page.get_by_text("ingress shop-edge").first).to_be_visible()

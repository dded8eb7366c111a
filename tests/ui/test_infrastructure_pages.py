"""The infrastructure pages in Chromium against the real stack (Gate and its store behind the UI server): clusters
with their instances' health and a server group's details, a load balancer's details, firewalls and their ingress
rules, a canary report's scores and classifications, bakes from the pipelines' bake stages, and the audit trail
(an admin reads it; anyone else gets the refusal). The cloud cache is written through the store's API, as the
caching agents write it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from gennaker.localstack import free_port
from providers.aws_infra import security_group_json
from providers.base import Capacity, Instance, ServerGroup
from providers.infra import wrap
from tests.ui.conftest import Deck
from tests.ui.test_pages import unnamed_controls
from ui.server import ServedUi

pytestmark = pytest.mark.temporal

NOW = int(time.time() * 1000)


def ends_with(path: str) -> re.Pattern[str]:
    """A URL ending in ``path``, for ``expect(page).to_have_url`` (which waits: a page sets its URL after an event)."""
    return re.compile(re.escape(path) + "$")


def server_group(name: str, region: str, health: list[str], *, disabled: bool = False, **extra: Any) -> dict[str, Any]:
    group = ServerGroup(
        name=name,
        account="prod",
        region=region,
        cloud_provider="aws",
        created_ms=NOW - 3_600_000,
        capacity=Capacity(1, 5, len(health)),
        disabled=disabled,
        instances=[Instance(f"i-{name[-4:]}{n}", f"{region}a", state, NOW - 60_000) for n, state in enumerate(health)],
        zones=[f"{region}a"],
        image_id="ami-0123",
        image_name="shop-1.4.2-h12",
        instance_type="m5.large",
        load_balancers=["shop-frontend"],
        security_groups=["sg-0aa"],
        tags={"team": "checkout"},
    ).to_json()
    return {**group, **extra}


def seed_clusters(deck: Deck) -> None:
    policies = [{"policyName": "cpu-60", "policyType": "TargetTrackingScaling", "targetValue": 60}]
    deck.store.cloud_cache.replace(
        "aws",
        "prod",
        "serverGroups",
        [
            server_group("shop-web-v001", "us-east-1", ["Up", "Up"], disabled=True),
            server_group("shop-web-v002", "us-east-1", ["Up", "Down", "Starting", "Unknown"], scalingPolicies=policies),
            server_group("shop-worker-v007", "eu-west-1", ["Up"]),
        ],
    )
    kubernetes = {
        "name": "replicaSet shop-api-v003",
        "account": "k8s",
        "region": "shop",
        "cluster": "deployment shop-api",
        "cloudProvider": "kubernetes",
        "type": "kubernetes",
        "moniker": {"app": "shop", "cluster": "deployment shop-api", "sequence": 3},
        "capacity": {"min": 2, "max": 2, "desired": 2},
        "instances": [{"id": "shop-api-v003-abcde", "name": "pod shop-api-v003-abcde", "healthState": "Up"}],
        "createdTime": NOW,
        "isDisabled": False,
    }
    deck.store.cloud_cache.replace("kubernetes", "k8s", "serverGroups", [kubernetes])


async def test_clusters_show_server_groups_with_health_and_a_details_panel(deck: Deck, page: Page) -> None:
    seed_clusters(deck)
    await page.goto(f"{deck.url}/#/applications/shop/clusters")
    prod = page.get_by_role("region", name="Account prod")
    await expect(prod.get_by_role("region", name="Cluster shop-web in prod")).to_be_visible()
    await expect(prod.get_by_role("region", name="Cluster shop-worker in prod")).to_be_visible()
    # Kubernetes server groups are shown as the read returns them, under their account
    k8s = page.get_by_role("region", name="Account k8s")
    await expect(k8s.get_by_role("link", name="Server group replicaSet shop-api-v003 in shop")).to_be_visible()
    # the newest server group first; instances coloured by health and named for screen readers
    web = prod.get_by_role("list", name="Server groups of shop-web")
    rows = web.get_by_role("listitem")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_have_attribute("data-name", "shop-web-v002")
    newest = rows.first
    health = [await s.get_attribute("data-health") for s in await newest.locator(".inst").all()]
    assert health == ["Up", "Down", "Starting", "Unknown"]
    await expect(newest.get_by_role("img", name="i-v0021: Down")).to_be_visible()
    assert await newest.get_by_role("img", name="i-v0021: Down").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    ) == (
        "rgb(208, 54, 61)"  # Deck's red for Down (--terminal)
    )
    await expect(newest).to_contain_text("Capacity 1 / 4 / 5")
    await expect(newest).to_contain_text("1 Up · 1 Down · 1 Starting · 1 Unknown")
    await expect(newest).to_contain_text("shop-1.4.2-h12")
    await expect(rows.nth(1)).to_have_attribute("data-disabled", "true")
    await expect(rows.nth(1)).to_contain_text("Disabled")
    # the cache's freshness
    await expect(page.locator(".freshness")).to_contain_text("Cache refreshed")

    # the details panel, at Deck's URL
    await newest.get_by_role("link", name="Server group shop-web-v002 in us-east-1").click()
    panel = page.get_by_role("complementary", name="Server group shop-web-v002")
    await expect(panel).to_be_visible()
    await expect(page).to_have_url(ends_with("/shop/clusters/serverGroupDetails/aws/prod/us-east-1/shop-web-v002"))
    await expect(panel.get_by_role("table", name="Instances of shop-web-v002")).to_contain_text("i-v0021")
    await expect(panel).to_contain_text("shop-frontend")
    await expect(panel).to_contain_text("sg-0aa")
    await expect(panel.get_by_label("Scaling policies")).to_contain_text("cpu-60")
    await expect(panel.get_by_label("Tags")).to_contain_text("checkout")
    await expect(panel.get_by_label("Capacity")).to_contain_text("Desired4")
    assert await unnamed_controls(page) == []
    # the bookmark opens the same panel; Close goes back to the clusters
    await page.reload()
    await expect(page.get_by_role("complementary", name="Server group shop-web-v002")).to_be_visible()
    await page.get_by_role("button", name="Close server group details").click()
    await expect(page.get_by_role("complementary")).to_have_count(0)
    await expect(page).to_have_url(ends_with("#/applications/shop/clusters"))
    # a Kubernetes server group's panel reads its manifest (here: Gate says there is no such account)
    await k8s.get_by_role("link", name="Server group replicaSet shop-api-v003 in shop").click()
    manifest = page.get_by_role("region", name="Manifest")
    await expect(manifest.get_by_role("alert")).to_contain_text("no Kubernetes account named 'k8s'")
    # the search filters server groups
    await page.get_by_role("searchbox", name="Filter clusters").fill("worker")
    await expect(page.locator(".server-group")).to_have_count(1)
    # the application's tabs, keyboard reachable, with the current one marked
    tabs = page.get_by_role("navigation", name="Application")
    await expect(tabs.get_by_role("link", name="Clusters")).to_have_attribute("aria-current", "page")
    for name in ("Pipelines", "Load Balancers", "Firewalls", "Bakes", "Canary"):
        await expect(tabs.get_by_role("link", name=name)).to_be_visible()


async def test_a_load_balancer_shows_listeners_target_groups_and_server_groups(deck: Deck, page: Page) -> None:
    behind = {"name": "shop-web-v002", "account": "prod", "region": "us-east-1", "isDisabled": False,
              "instances": [{"id": "i-1", "healthState": "Up"}, {"id": "i-2", "healthState": "Down"}]}  # fmt: skip
    alb = {
        "name": "shop-frontend",
        "account": "prod",
        "region": "us-east-1",
        "type": "aws",
        "cloudProvider": "aws",
        "loadBalancerType": "application",
        "dnsname": "shop-frontend-1.us-east-1.elb.amazonaws.com",
        "moniker": {"app": "shop", "cluster": "shop-frontend"},
        "availabilityZones": ["us-east-1a"],
        "listeners": [
            {"port": 443, "protocol": "HTTPS", "defaultActions": [{"type": "forward", "targetGroupName": "shop-tg"}]}
        ],
        "targetGroups": [
            {
                "name": "shop-tg",
                "protocol": "HTTP",
                "port": 7001,
                "healthCheckProtocol": "HTTP",
                "healthCheckPort": "7001",
                "healthCheckPath": "/health",
                "serverGroups": [behind],
            }  # fmt: skip
        ],
        "serverGroups": [behind],
    }
    classic = {
        "name": "shop-legacy",
        "account": "prod",
        "region": "eu-west-1",
        "cloudProvider": "aws",
        "loadBalancerType": "classic",
        "moniker": {"app": "shop"},
        "listeners": [
            {"externalProtocol": "HTTP", "externalPort": 80, "internalProtocol": "HTTP", "internalPort": 7001}
        ],
        "healthCheck": {
            "target": "HTTP:7001/health",
            "interval": 10,
            "timeout": 5,
            "healthyThreshold": 2,
            "unhealthyThreshold": 3,
        },  # fmt: skip
        "serverGroups": [],
    }
    deck.store.cloud_cache.replace("aws", "prod", "loadBalancers", [alb, classic])
    await page.goto(f"{deck.url}/#/applications/shop/loadBalancers")
    await expect(
        page.get_by_role("navigation", name="Application").get_by_role("link", name="Load Balancers")
    ).to_have_attribute("aria-current", "page")
    item = page.locator("details.item[data-name='shop-frontend']")
    await item.locator("summary").click()
    await expect(item.get_by_role("list", name="Listeners of shop-frontend")).to_have_text(
        "HTTPS:443 → forward to shop-tg"
    )
    target_groups = item.get_by_role("table", name="Target groups of shop-frontend")
    await expect(target_groups).to_contain_text("HTTP:7001")
    await expect(target_groups).to_contain_text("HTTP:7001/health")
    behind_list = item.get_by_role("list", name="Server groups behind shop-frontend")
    await expect(behind_list).to_contain_text("shop-web-v002")
    await expect(behind_list.get_by_role("img", name="i-2: Down")).to_be_visible()
    await expect(item).to_contain_text("shop-frontend-1.us-east-1.elb.amazonaws.com")
    # opening it puts Deck's details URL in the address bar; the bookmark opens it again
    await expect(page).to_have_url(ends_with("/loadBalancers/loadBalancerDetails/aws/prod/us-east-1/shop-frontend"))
    await page.reload()
    await expect(page.get_by_role("list", name="Listeners of shop-frontend")).to_be_visible()
    legacy = page.locator("details.item[data-name='shop-legacy']")
    await legacy.locator("summary").press("Enter")  # keyboard opens it too
    await expect(legacy.get_by_role("list", name="Listeners of shop-legacy")).to_have_text("HTTP:80 → HTTP:7001")
    await expect(legacy.get_by_label("Health check of shop-legacy")).to_contain_text("HTTP:7001/health")
    assert await unnamed_controls(page) == []


async def test_firewalls_show_their_ingress_rules(deck: Deck, page: Page) -> None:
    elb_group: dict[str, Any] = {
        "GroupId": "sg-0bb",
        "GroupName": "shop-elb",
        "VpcId": "vpc-1",
        "OwnerId": "1234",
        "IpPermissions": [],
    }
    group: dict[str, Any] = {
        "GroupId": "sg-0aa",
        "GroupName": "shop",
        "Description": "the shop's instances",
        "VpcId": "vpc-1",
        "OwnerId": "1234",
        "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 7001, "ToPort": 7001, "UserIdGroupPairs": [{"GroupId": "sg-0bb"}]},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        ],
    }
    by_id: dict[str, dict[str, Any]] = {g["GroupId"]: g for g in (group, elb_group)}
    items = [wrap("securityGroups", security_group_json("prod", "us-east-1", g, by_id), "id") for g in by_id.values()]
    deck.store.cloud_cache.replace("aws", "prod", "securityGroups", items)
    await page.goto(f"{deck.url}/#/applications/shop/firewalls")
    item = page.locator("details.item[data-name='shop']")
    await expect(item.locator("summary")).to_contain_text("2 ingress rules")
    await item.locator("summary").click()
    rules = item.get_by_role("table", name="Ingress rules of shop")
    await expect(rules.locator("tbody tr").first).to_have_text("shop-elb (sg-0bb)tcp7001")
    await expect(rules.locator("tbody tr").nth(1)).to_have_text("10.0.0.0/8tcp22")
    await expect(item).to_contain_text("the shop's instances")
    await expect(page).to_have_url(ends_with("/shop/firewalls/firewallDetails/aws/prod/us-east-1/vpc-1/shop"))
    await page.reload()
    await expect(page.get_by_role("table", name="Ingress rules of shop")).to_be_visible()
    await page.locator("details.item[data-name='shop'] summary").click()  # closed: the tab's URL again
    await expect(page.get_by_role("table", name="Ingress rules of shop")).to_be_hidden()
    await expect(page).to_have_url(ends_with("#/applications/shop/firewalls"))
    await page.goto(f"{deck.url}/#/applications/shop/firewalls/firewallDetails/aws/prod/us-east-1/vpc-1/gone")
    await expect(page.get_by_role("alert")).to_contain_text("Firewall gone is not in the cache")
    await expect(page.locator("details.item[data-name='shop-elb'] summary")).to_contain_text("0 ingress rules")
    assert await unnamed_controls(page) == []


JUDGED = {
    "judgeName": "NetflixACAJudge-v1.0",
    "score": {"score": 42.5, "classification": "Fail", "classificationReason": "Canary score 42.5 is below 75."},
    "results": [
        {
            "name": "error_rate",
            "classification": "High",
            "classificationReason": "The metric was classified as High",
            "groups": ["errors"],
            "controlMetadata": {"stats": {"mean": 0.01}},
            "experimentMetadata": {"stats": {"mean": 0.09}},
        },
        {
            "name": "latency",
            "classification": "Pass",
            "groups": ["latency"],
            "controlMetadata": {"stats": {"mean": 120.0}},
            "experimentMetadata": {"stats": {"mean": 121.0}},
        },
    ],
    "groupScores": [{"name": "errors", "score": 0.0}, {"name": "latency", "score": 100.0}],
}


async def test_a_canary_report_shows_scores_and_classifications_per_metric(deck: Deck, page: Page) -> None:
    canary = deck.store.canary
    config = canary.create_config(
        {"name": "shop-canary", "applications": ["shop"], "metrics": [{"name": "error_rate", "query": {}}]}
    )
    window = {"start": "2026-12-06T08:00:00Z", "end": "2026-12-06T08:30:00Z", "step": 60}
    scopes = {"controlScope": {"scope": "baseline", **window}, "experimentScope": {"scope": "canary", **window}}
    request = {"scopes": {"default": scopes}, "thresholds": {"pass": 75, "marginal": 50}}
    canary.create_run({"id": "run-1", "application": "shop", "status": "RUNNING", "buildTimeMillis": NOW - 60_000,
                       "config": {"name": "shop-canary"}, "canaryConfigId": config["id"],
                       "canaryExecutionRequest": request, "startTimeMillis": NOW - 60_000})  # fmt: skip
    canary.update_run("run-1", {"status": "SUCCEEDED", "endTimeMillis": NOW}, JUDGED)
    await page.goto(f"{deck.url}/#/applications/shop/canary")
    await expect(page.get_by_role("table", name="Canary configs")).to_contain_text("shop-canary")
    run = page.locator("details.canary-run[data-run='run-1']")
    await expect(run.locator("summary")).to_contain_text("42.5")
    await expect(run.locator("summary .verdict")).to_have_text("Fail")
    metrics = run.get_by_role("table", name="Metrics of run run-1")
    await expect(metrics.locator("tbody tr").first).to_contain_text("error_rate")
    await expect(metrics.locator("tbody tr").first.locator(".verdict")).to_have_text("High")
    await expect(metrics.locator("tbody tr").first).to_contain_text("The metric was classified as High")
    await expect(metrics.locator("tbody tr").nth(1).locator(".verdict")).to_have_text("Pass")
    await expect(run.get_by_role("table", name="Group scores of run run-1")).to_contain_text("latency100")
    await expect(run).to_contain_text("pass ≥ 75, marginal 50")
    assert await unnamed_controls(page) == []
    report = run.get_by_role("link", name="Full report")
    answer = await page.request.get(str(await report.evaluate("a => a.href")))
    assert answer.status == 200 and "error_rate" in await answer.text()


async def test_bakes_of_the_pipelines_with_their_log(deck: Deck, page: Page) -> None:
    deck.store.executions.save(
        {
            "id": "01BAKE",
            "type": "PIPELINE",
            "application": "shop",
            "name": "release",
            "pipelineConfigId": "cfg-release",
            "status": "SUCCEEDED",
            "buildTime": NOW - 100_000,
            "startTime": NOW - 95_000,
            "endTime": NOW,
            "stages": [
                {"id": "s1", "refId": "1", "type": "bake", "name": "Bake", "status": "SUCCEEDED", "context": {}},
                {
                    "id": "s2",
                    "type": "bake",
                    "name": "Bake in us-east-1",
                    "parentStageId": "s1",
                    "status": "SUCCEEDED",
                    "syntheticStageOwner": "STAGE_BEFORE",
                    "startTime": NOW - 90_000,
                    "endTime": NOW,
                    "context": {
                        "regionalBake": True,
                        "region": "us-east-1",
                        "package": "shop",
                        "baseOs": "noble",
                        "status": {"id": "b-42", "state": "COMPLETED", "result": "SUCCESS"},
                        "ami": "ami-0123",
                        "imageName": "shop-1.4.2",
                    },
                },  # fmt: skip
                {"id": "s3", "refId": "2", "type": "wait", "name": "Wait", "status": "SUCCEEDED", "context": {}},
            ],
        }
    )
    await page.goto(f"{deck.url}/#/applications/shop/bakes")
    bakes = page.get_by_role("table", name="Bakes")
    row = bakes.locator("tr[data-status-id='b-42']")
    await expect(row).to_contain_text("us-east-1")
    await expect(row).to_contain_text("shop on noble")
    await expect(row).to_contain_text("COMPLETED / SUCCESS")
    await expect(row).to_contain_text("shop-1.4.2 ami-0123")
    await expect(row.get_by_role("link", name="Bake in us-east-1 in release 01BAKE")).to_have_attribute(
        "href", "#/applications/shop/executions/details/01BAKE?stage=0"
    )
    # the log is read from the bakery on demand (this bake's log was never written: Gate's 404 is shown)
    await row.get_by_role("button", name="View bake log of us-east-1").click()
    await expect(bakes.get_by_role("alert")).to_contain_text("no bake log for 'b-42'")
    # Gate's log body is packer's text HTML-escaped in <pre>: shown as text, never parsed into the page
    text = await page.evaluate(
        "async (t) => (await import('./static/js/pages/bakes.js')).logText(t)", "<pre>amazon-ebs: &lt;ok&gt;</pre>"
    )
    assert text == "amazon-ebs: <ok>"


async def test_the_audit_trail_for_an_admin_and_the_refusal_for_others(locked_deck: Deck, browser: Browser) -> None:
    deck = locked_deck
    deck.store.audit.record({"principal": "dana", "via": "proxy", "action": "pipeline.start", "application": "shop",
                             "resourceType": "pipeline", "resourceName": "release", "outcome": "success",
                             "status": 202})  # fmt: skip
    deck.store.audit.record({"principal": "rita", "via": "proxy", "action": "pipeline.cancel", "application": "vault",
                             "outcome": "denied", "status": 403})  # fmt: skip
    admin = {"X-Forwarded-User": "ada", "X-Forwarded-Groups": "admins"}
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, extra_http_headers=admin)
    try:
        page = await context.new_page()
        await page.goto(f"{deck.url}/#/applications")
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
        events = page.get_by_role("table", name="Audit events")
        await expect(events).to_contain_text("pipeline.start")
        await expect(events).to_contain_text("pipeline.cancel")
        search = page.get_by_role("search", name="Filter the audit trail")
        await search.get_by_label("User").fill("rita")
        await search.get_by_role("button", name="Filter").click()
        await expect(events.locator("tbody tr")).to_have_count(1)
        await expect(events).to_contain_text("denied")
        await expect(page).to_have_url(re.compile("user=rita"))
        assert await unnamed_controls(page) == []
    finally:
        await context.close()

    reader = {"X-Forwarded-User": "rita", "X-Forwarded-Groups": "readers"}
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, extra_http_headers=reader)
    try:
        page = await context.new_page()
        await page.goto(f"{deck.url}/#/audit")
        await expect(page.get_by_role("heading", name="Access denied")).to_be_visible()
        await expect(page.get_by_role("alert").filter(has_text="rita is not an admin")).to_be_visible()
        await expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit")).to_have_count(0)
    finally:
        await context.close()


@pytest.fixture
def static_ui() -> Iterator[str]:
    with ServedUi(f"http://127.0.0.1:{free_port()}", port=free_port()) as ui:  # no Gate behind it: modules only
        yield ui.url


@pytest.mark.server
async def test_routes_of_the_infrastructure_pages(static_ui: str, page: Page) -> None:
    await page.goto(static_ui)
    parsed = await page.evaluate(
        """async (hashes) => { const m = await import('./static/js/router.js'); return hashes.map((h) => {
        const r = m.parse(h); return [r.page, r.params, Object.fromEntries(r.query)]; }); }""",
        [
            "#/applications/shop/clusters",
            "#/applications/shop/clusters/serverGroupDetails/aws/prod/us-east-1/shop-web-v002",
            "#/applications/shop/clusters/serverGroupDetails/kubernetes/k8s/shop/replicaSet%20shop-api-v003",
            "#/applications/shop/loadBalancers",
            "#/applications/shop/loadBalancers/loadBalancerDetails/aws/prod/us-east-1/shop-frontend",
            "#/applications/shop/firewalls",
            "#/applications/shop/firewalls/firewallDetails/aws/prod/us-east-1/vpc-1/shop",
            "#/applications/shop/bakes",
            "#/applications/shop/canary?run=r1",
            "#/audit?user=rita",
        ],
    )
    assert parsed == [
        ["clusters", ["shop"], {}],
        ["serverGroupDetails", ["shop", "aws", "prod", "us-east-1", "shop-web-v002"], {}],
        ["serverGroupDetails", ["shop", "kubernetes", "k8s", "shop", "replicaSet shop-api-v003"], {}],
        ["loadBalancers", ["shop"], {}],
        ["loadBalancerDetails", ["shop", "aws", "prod", "us-east-1", "shop-frontend"], {}],
        ["firewalls", ["shop"], {}],
        ["firewallDetails", ["shop", "aws", "prod", "us-east-1", "vpc-1", "shop"], {}],
        ["bakes", ["shop"], {}],
        ["canary", ["shop"], {"run": "r1"}],
        ["audit", [], {"user": "rita"}],
    ]


async def test_a_page_that_loads_slowly_never_covers_the_one_asked_for_after_it(
    locked_deck: Deck, browser: Browser
) -> None:
    """The applications list answers late (held 2 s); the admin goes to the audit trail meanwhile. The list, when it
    arrives, must not replace the audit page (it did: each route rendered into <main> whenever it finished)."""
    import asyncio

    from playwright.async_api import Route

    deck = locked_deck
    deck.store.audit.record({"principal": "dana", "via": "proxy", "action": "pipeline.start", "outcome": "success",
                             "status": 202})  # fmt: skip
    admin = {"X-Forwarded-User": "ada", "X-Forwarded-Groups": "admins"}
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, extra_http_headers=admin)
    held = asyncio.Event()

    async def slowly(route: Route) -> None:
        held.set()
        await asyncio.sleep(2)
        await route.continue_()

    await context.route(re.compile(r".*/applications(\?.*)?$"), slowly)
    try:
        page = await context.new_page()
        await page.goto(f"{deck.url}/#/applications")
        await asyncio.wait_for(held.wait(), 10)  # the list is on its way
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
        events = page.get_by_role("table", name="Audit events")
        await expect(events).to_contain_text("pipeline.start")
        await page.wait_for_function("document.body.dataset.ready === 'true'")  # the list's route has ended
        await expect(events).to_be_visible()
        await expect(page.get_by_role("table", name="Applications")).to_have_count(0)
    finally:
        await context.close()

"""Screenshots of the UI's main pages for docs/ui.md, at 1280x800 in Debian's Chromium.

    .venv/bin/python scripts/ui_screenshots.py [--out docs/ui]

The pages are the real UI server's, in front of a made-up Gate on loopback (bench/ui.py's), answering with a small
application's data, so the pictures are the same on every machine and need no stack.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.async_api import async_playwright  # noqa: E402

from bench.ui import CHROMIUM, MadeUpGate  # noqa: E402
from gennaker.localstack import free_port  # noqa: E402
from ui.server import ServedUi  # noqa: E402

T0 = 1_767_000_000_000


def st(
    ref: str, name: str, kind: str, status: str, after: list[str], start: int, took: int | None, **more: Any
) -> dict:
    tasks = [{"id": "1", "name": f"{kind}Task", "status": status, "startTime": T0 + start, "endTime": None}]
    end = T0 + start + took if took is not None else None
    tasks[0]["endTime"] = end
    return {
        "id": f"stage-{ref}", "refId": ref, "name": name, "type": kind, "status": status,
        "requisiteStageRefIds": after, "startTime": T0 + start if status != "NOT_STARTED" else None, "endTime": end,
        "tasks": tasks if status != "NOT_STARTED" else [], "context": more.pop("context", {}), "outputs": {}, **more,
    }  # fmt: skip


def deploy(eid: str, status: str, user: str, start: int) -> dict[str, Any]:
    judging = status == "RUNNING"
    stages = [
        st("1", "Bake", "bake", "SUCCEEDED", [], 0, 240_000, context={"region": "us-east-1", "ami": "ami-0a1b2c"}),
        st("2", "Deploy us-east-1", "deploy", "SUCCEEDED", ["1"], 240_000, 180_000),
        st("3", "Deploy eu-west-1", "deploy", "SUCCEEDED" if status != "TERMINAL" else "TERMINAL", ["1"], 240_000,
           200_000, context={"exception": {"details": {"errors": ["Timed out waiting for 3 instances to be Up"]}}}
           if status == "TERMINAL" else {}),
        st("4", "Approve promotion", "manualJudgment", "RUNNING" if judging else "SUCCEEDED", ["2", "3"], 440_000,
           None if judging else 60_000, context={"instructions": "Check the dashboards, then promote.",
                                                 "judgmentInputs": [{"value": "promote"}, {"value": "hold"}]}),
        st("5", "Promote", "deploy", "NOT_STARTED" if judging else "SUCCEEDED", ["4"], 500_000,
           None if judging else 90_000),
    ]  # fmt: skip
    if status == "TERMINAL":
        stages = stages[:3]
    stages.append(
        {**st("2a", "disableCluster", "disableCluster", "SUCCEEDED", [], 300_000, 20_000),
         "parentStageId": "stage-2", "syntheticStageOwner": "STAGE_AFTER"}
    )  # fmt: skip
    for stage in stages:  # the stages' times are relative to the execution's start
        for item in (stage, *stage["tasks"]):
            for key in ("startTime", "endTime"):
                item[key] = item[key] + start if item.get(key) else item.get(key)
    return {
        "id": eid, "name": "deploy", "application": "shop", "status": status, "pipelineConfigId": "p-deploy",
        "startTime": T0 + start, "endTime": None if judging else T0 + start + 590_000,
        "trigger": {"type": "manual" if user else "cron", "user": user}, "stages": stages,
    }  # fmt: skip


def answers() -> dict[str, Any]:
    apps = [
        {"name": "shop", "email": "shop-team@example.com", "permissions": {"READ": ["shop"], "EXECUTE": ["shop"]}},
        {"name": "payments", "email": "payments@example.com", "permissions": {"WRITE": ["payments"]}},
        {"name": "search", "email": "search@example.com"},
        {"name": "mobile-api", "email": "mobile@example.com"},
    ]
    runs = [
        deploy("01JSHOP000000000000000RUN", "RUNNING", "ana@example.com", 3_600_000),
        deploy("01JSHOP00000000000000OKAY", "SUCCEEDED", "ben@example.com", 0),
        deploy("01JSHOP0000000000000000BAD", "TERMINAL", "", -86_400_000),
        {**deploy("01JSHOP000000000000000TEST", "SUCCEEDED", "ci@example.com", 1_800_000), "name": "integration tests",
         "pipelineConfigId": "p-tests"},
    ]  # fmt: skip
    return {
        "/auth/user": {"username": "ana@example.com", "admin": False, "authenticated": True, "roles": ["shop"]},
        "/authorize/ana@example.com": {
            "applications": [{"name": "shop", "authorizations": ["READ", "WRITE", "EXECUTE"]}]
        },
        "/applications": apps,
        "/applications/shop/pipelineConfigs": [
            DEPLOY_CONFIG,
            {"id": "p-tests", "name": "integration tests", "application": "shop"},
        ],
        "/applications/shop/pipelines": runs,
        **{f"/pipelines/{run['id']}": run for run in runs},
        "/stageTypes": [{"type": t, "aliases": []} for t in ("bake", "deploy", "manualJudgment", "wait", "webhook")],
        **infrastructure(),
    }


def server_group(name: str, region: str, health: list[str], *, disabled: bool = False, account: str = "prod") -> Any:
    """A server group as the cloud cache holds it (providers.base.ServerGroup.to_json's shape)."""
    sequence = int(name.rsplit("-v", 1)[1])
    return {
        "name": name, "account": account, "region": region, "cluster": name.rsplit("-v", 1)[0], "type": "aws",
        "cloudProvider": "aws", "createdTime": T0 - (50 - sequence) * 86_400_000, "isDisabled": disabled,
        "moniker": {"app": "shop", "cluster": name.rsplit("-v", 1)[0], "sequence": sequence},
        "capacity": {"min": 2, "desired": len(health), "max": 6}, "zones": [f"{region}a", f"{region}b"],
        "instances": [{"id": f"i-0{sequence:03d}{n:02d}f3a", "healthState": h, "availabilityZone": f"{region}a",
                       "launchTime": T0 - 3_600_000, "privateIpAddress": f"10.0.{sequence}.{n + 10}"}
                      for n, h in enumerate(health)],
        "image": {"imageId": f"ami-0{sequence}4e1c", "name": f"storefront-1.{sequence}.0-h{sequence}0-noble"},
        "instanceType": "m6i.large", "loadBalancers": ["shop-frontend"], "targetGroups": ["shop-web-tg"],
        "securityGroups": ["shop", "shop-elb"], "tags": {"team": "checkout", "spinnaker:application": "shop"},
        "scalingPolicies": [{"policyName": "cpu-60", "policyType": "TargetTrackingScaling", "targetValue": 60.0}],
    }  # fmt: skip


def infrastructure() -> dict[str, Any]:
    """The clusters page's reads (the made-up Gate sends no cache headers: its freshness reads "never refreshed")."""
    groups = [
        server_group("shop-web-v041", "us-east-1", ["Up", "Up", "Up", "Starting"]),
        server_group("shop-web-v040", "us-east-1", ["Up", "Up"], disabled=True),
        server_group("shop-web-v041", "eu-west-1", ["Up", "Up", "Down"]),
        server_group("shop-worker-v007", "us-east-1", ["Up", "Up", "Unknown"]),
        server_group("shop-web-v012", "us-east-1", ["Up", "Up"], account="staging"),
    ]
    return {
        "/applications/shop/clusters": {"prod": ["shop-web", "shop-worker"], "staging": ["shop-web"]},
        "/applications/shop/serverGroups": groups,
    }


#: the deploy pipeline's config, as the editor shows it
DEPLOY_CONFIG: dict[str, Any] = {
    "id": "p-deploy", "name": "deploy", "application": "shop", "limitConcurrent": True, "keepWaitingPipelines": False,
    "lastModified": T0, "updateTs": str(T0), "lastModifiedBy": "ana@example.com",
    "description": "Bake, deploy to both regions, judge, promote.",
    "triggers": [
        {"type": "git", "enabled": True, "source": "github", "project": "shop", "slug": "storefront", "branch": "main"},
        {"type": "cron", "enabled": False, "cronExpression": "0 0 6 ? * MON-FRI"},
    ],
    "parameterConfig": [{"name": "version", "label": "Version", "required": True, "description": "the package's"}],
    "notifications": [{"type": "slack", "address": "#shop-deploys", "level": "pipeline",
                       "when": ["pipeline.failed", "pipeline.complete"]}],
    "stages": [
        {"refId": "1", "type": "bake", "name": "Bake", "requisiteStageRefIds": [], "package": "storefront",
         "regions": ["us-east-1", "eu-west-1"], "baseOs": "noble", "baseLabel": "release"},
        {"refId": "2", "type": "deploy", "name": "Deploy us-east-1", "requisiteStageRefIds": ["1"], "clusters": []},
        {"refId": "3", "type": "deploy", "name": "Deploy eu-west-1", "requisiteStageRefIds": ["1"], "clusters": []},
        {"refId": "4", "type": "manualJudgment", "name": "Approve promotion", "requisiteStageRefIds": ["2", "3"],
         "instructions": "Check the dashboards, then promote.", "judgmentInputs": [{"value": "promote"}]},
        {"refId": "5", "type": "deploy", "name": "Promote", "requisiteStageRefIds": ["4"], "clusters": []},
    ],
}  # fmt: skip


PAGES = [
    ("applications", "#/applications"),
    ("executions", "#/applications/shop/executions"),
    ("execution-details", "#/applications/shop/executions/details/01JSHOP000000000000000RUN?refId=4"),
    ("execution-failed", "#/applications/shop/executions/details/01JSHOP0000000000000000BAD?refId=3"),
    ("pipeline-editor", "#/applications/shop/executions/configure/p-deploy"),
    ("clusters", "#/applications/shop/clusters/serverGroupDetails/aws/prod/us-east-1/shop-web-v041"),
]


async def shoot(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with MadeUpGate(answers()) as gate, ServedUi(gate.url, port=free_port()) as ui:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            # running durations read the same on every run
            await page.clock.set_fixed_time(datetime.fromtimestamp((T0 + 4_200_000) / 1000, tz=UTC))
            for name, hash_ in PAGES:
                await page.goto(f"{ui.url}/{hash_}")
                await page.wait_for_selector("body[data-ready]")
                await page.wait_for_timeout(300)
                await page.screenshot(path=str(out / f"{name}.png"))
                print(out / f"{name}.png")
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "ui")
    asyncio.run(shoot(parser.parse_args().out))


if __name__ == "__main__":
    main()

"""Dinghy end to end: real git repositories, pushes delivered as GitHub webhooks to the real API (uvicorn, a worker,
Temporal's dev server, the store), the GitHub-status stand-in over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dinghy.github_status import GitHubStatuses
from tests.dinghy.gitrepos import GitRepo, github_push

pytestmark = pytest.mark.temporal
ZERO = "0" * 40

WAIT_MODULE = '{"name": "{{ var "name" ?: "Wait" }}", "refId": "{{ var "refId" ?: "1" }}", "type": "wait", "waitTime": {{ var "waitTime" ?: 10 }}}'  # noqa: E501


def await_schedules(world: World, pipeline_id: str) -> int:
    """Schedules of the pipeline (the API's cron Schedules, ``gennaker-cron:<pipeline id>:<trigger id>``)."""
    import asyncio

    from temporalio.client import Client

    from integrations.schedules import schedule_ids
    from integrations.triggers.schedules import PREFIX

    async def count() -> int:
        client = await Client.connect(world.temporal_host)
        return len(await schedule_ids(client, f"{PREFIX}{pipeline_id}:"))

    return asyncio.run(count())


DINGHYFILE = """{
  "application": "shop",
  "deleteStalePipelines": true,
  "globals": {"waitTime": 5},
  "spec": {"email": "team@shop.example"},
  "pipelines": [
    {"name": "deploy", "stages": [
      {{ module "wait.stage.module" }},
      {"name": "next", "refId": "2", "requisiteStageRefIds": ["1"], "type": "pipeline", "application": "shop",
       "pipeline": "{{ pipelineID "shop" "verify" }}"}
    ]},
    {"name": "verify", "triggers": [{"type": "cron", "enabled": true, "cronExpression": "0 0 3 * * ?"}],
     "stages": [ {{ module "wait.stage.module" "waitTime" 30 }} ]}
    {{- if .RawData.extra }}, {"name": "extra", "stages": []}{{ end }}
  ]
}"""


@dataclass
class World:
    url: str
    store: Any
    app_repo: GitRepo
    templates: GitRepo
    statuses: GitHubStatuses
    polled: GitRepo
    temporal_host: str

    def push(self, repo: GitRepo, slug: str, branch: str, before: str, after: str, secret: str | None = None,
             **extra: Any) -> dict[str, Any]:  # fmt: skip
        body = json.dumps({**github_push("acme", slug, branch, before, after), **extra}).encode()
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4())}
        if secret:
            headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        response = httpx.post(f"{self.url}/webhooks/git/github", content=body, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def wait_sync(self, sync_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = httpx.get(f"{self.url}/dinghy/syncs/{sync_id}", timeout=10)
            if response.status_code == 200 and response.json()["state"] not in ("running",):
                return response.json()  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"sync {sync_id} did not finish: {response.text}"
            time.sleep(0.1)

    def pipelines(self, app: str = "shop") -> dict[str, Any]:
        items = httpx.get(f"{self.url}/applications/{app}/pipelineConfigs", timeout=10).json()
        return {p["name"]: p for p in items}

    def github(self, sha: str) -> list[dict[str, Any]]:
        return httpx.get(f"{self.statuses.url}/repos/acme/shop/commits/{sha}/statuses", timeout=10).json()  # type: ignore[no-any-return]  # noqa: E501


@pytest.fixture
def world(temporal_env: Any, tmp_path: Path, payload_settings: dict[str, Any]) -> Iterator[World]:
    from core.settings import Settings
    from core.store import Store
    from gennaker.localstack import ServedApi

    app_repo, templates = GitRepo(tmp_path / "shop"), GitRepo(tmp_path / "dinghy-templates")
    polled = GitRepo(tmp_path / "polled")
    with GitHubStatuses() as statuses:
        settings = Settings.model_validate(dict(
            state_dir=tmp_path / "state",
            task_queue=f"dinghy-{uuid.uuid4()}",
            temporal={"address": temporal_env.client.service_client.config.target_host},
            payloads=payload_settings,
            dinghy={
                "cache_dir": str(tmp_path / "cache"),
                "templates": {"url": f"file://{templates.path}", "project": "acme", "slug": "dinghy-templates"},
                "sources": [
                    {"name": "shop", "url": str(app_repo.path), "project": "acme", "slug": "shop",
                     "status_api": statuses.url, "status_token": "t0ken"},
                    {"name": "signed", "url": str(app_repo.path), "project": "acme", "slug": "signed",
                     "webhook_secret": "s3cret"},
                    {"name": "polled", "url": f"file://{polled.path}", "provider": "gitlab", "project": "acme",
                     "slug": "polled", "poll_interval_s": 1},
                ],
            },
        ))  # fmt: skip
        store = Store(settings.store_url)
        store.migrate()
        with ServedApi(settings, store) as served:
            host = temporal_env.client.service_client.config.target_host
            yield World(served.url, store, app_repo, templates, statuses, polled, host)
        store.close()


def test_pushes_render_apply_lock_validate_and_follow_modules(world: World) -> None:
    t1 = world.templates.commit({"wait.stage.module": WAIT_MODULE})
    c1 = world.app_repo.commit({"dinghyfile": DINGHYFILE, "README": "shop"})

    # first push of a new app: app created, pipelineID resolves a pipeline created in the same push
    answer = world.push(world.app_repo, "shop", "main", ZERO, c1)
    (started,) = answer["dinghy"]["syncs"]
    assert started["workflow_id"] == f"dinghy-shop-{c1}" and started["started"] is True
    sync = world.wait_sync(started["workflow_id"])
    assert sync["state"] == "succeeded" and sync["mode"] == "live", sync
    assert sorted(sync["summary"]["created"]) == ["shop/deploy", "shop/verify"]
    pipes = world.pipelines()
    assert pipes["deploy"]["stages"][1]["pipeline"] == pipes["verify"]["id"]
    assert pipes["deploy"]["stages"][0]["waitTime"] == 5 and pipes["verify"]["stages"][0]["waitTime"] == 30
    assert pipes["deploy"]["locked"]["ui"] is True
    app = httpx.get(f"{world.url}/applications/shop", timeout=10).json()
    assert app["attributes"]["email"] == "team@shop.example"
    # one status per push: pending, then success; the token sent as GitHub expects
    assert [(s["state"], s["context"], s["description"]) for s in world.github(c1)] == [
        ("success", "dinghy", "Pipeline definitions updated!"),
        ("pending", "dinghy", "Updating pipeline definitions..."),
    ]
    assert world.github(c1)[0]["auth"] == "token t0ken"

    # a cron trigger written by Dinghy gets its Temporal Schedule, as an API save gives it
    assert pipes["verify"]["triggers"][0]["id"]
    verify_id = pipes["verify"]["id"]
    assert await_schedules(world, verify_id) == 1

    # the same delivery again starts nothing new
    again = world.push(world.app_repo, "shop", "main", ZERO, c1)
    assert again["dinghy"]["syncs"][0]["started"] is False
    assert len(world.github(c1)) == 2

    # locked: an edit through the API is refused unless it unlocks the pipeline
    edited = {**pipes["verify"], "description": "hand edit"}
    refused = httpx.post(f"{world.url}/pipelines", json=edited, timeout=10)
    assert refused.status_code == 400 and "locked" in refused.json()["message"], refused.text
    gone = httpx.delete(f"{world.url}/pipelines/shop/deploy", timeout=10)
    assert gone.status_code == 400 and "locked" in gone.json()["message"], gone.text
    unlocked = {k: v for k, v in pipes["verify"].items() if k != "locked"}
    assert httpx.post(f"{world.url}/pipelines", json=unlocked, timeout=10).status_code == 200
    # a pipeline made in the UI is not this source's: deleteStalePipelines keeps it
    ui = httpx.post(
        f"{world.url}/pipelines", json={"application": "shop", "name": "made-in-ui", "stages": []}, timeout=10
    )
    assert ui.status_code == 200

    # a push that drops 'verify': deleted (this source made it); 'made-in-ui' is kept, and pipelineID finds it
    dropped = DINGHYFILE.replace(
        ',\n    {"name": "verify", "triggers": [{"type": "cron", "enabled": true, "cronExpression": "0 0 3 * * ?"}],\n'
        '     "stages": [ {{ module "wait.stage.module" "waitTime" 30 }} ]}',
        "",
    ).replace('pipelineID "shop" "verify"', 'pipelineID "shop" "made-in-ui"')
    c2 = world.app_repo.commit({"dinghyfile": dropped})
    sync = world.wait_sync(world.push(world.app_repo, "shop", "main", c1, c2)["dinghy"]["syncs"][0]["workflow_id"])
    assert sync["state"] == "succeeded", sync
    assert sync["summary"]["deleted"] == ["shop/verify"] and sync["summary"]["updated"] == ["shop/deploy"]
    pipes = world.pipelines()
    assert set(pipes) == {"deploy", "made-in-ui"}
    assert pipes["deploy"]["stages"][1]["pipeline"] == ui.json()["id"]
    assert await_schedules(world, verify_id) == 0  # its cron Schedule went with it

    # another branch: validated only; a JSON error names the file, line and column of the source
    world.app_repo.checkout("feature", create=True)
    c3 = world.app_repo.commit({"dinghyfile": dropped.replace('"name": "deploy",', '"name": "deploy"')})
    sync = world.wait_sync(world.push(world.app_repo, "shop", "feature", c2, c3)["dinghy"]["syncs"][0]["workflow_id"])
    assert sync["mode"] == "validate" and sync["state"] == "failed"
    line = dropped.splitlines().index('    {"name": "deploy", "stages": [') + 1
    assert sync["errors"][0].startswith(f"dinghyfile:{line}:"), sync["errors"]
    assert [(s["state"], s["description"]) for s in world.github(c3)][1] == (
        "pending",
        "Validating pipeline definitions...",
    )
    assert [s["state"] for s in world.github(c3)] == ["failure", "pending"]
    c4 = world.app_repo.commit({"dinghyfile": dropped.replace('"waitTime": 5', '"waitTime": 6')})
    sync = world.wait_sync(world.push(world.app_repo, "shop", "feature", c3, c4)["dinghy"]["syncs"][0]["workflow_id"])
    assert sync["mode"] == "validate" and sync["state"] == "succeeded" and sync["summary"] == {}
    assert world.pipelines()["deploy"]["stages"][0]["waitTime"] == 5  # nothing written from a branch
    world.app_repo.checkout("main")

    # a module change re-renders the dinghyfiles that use it (the graph in the store)
    t2 = world.templates.commit(
        {"wait.stage.module": WAIT_MODULE.replace('"type": "wait"', '"type": "wait", "comments": "v2"')}
    )
    answer = world.push(
        world.templates, "dinghy-templates", "main", t1, t2, commits=[{"id": t2, "modified": ["wait.stage.module"]}]
    )
    module_sync = next(s for s in answer["dinghy"]["syncs"] if s["source"] == "shop")
    sync = world.wait_sync(module_sync["workflow_id"])
    assert sync["state"] == "succeeded" and "shop/deploy" in sync["summary"]["updated"], sync
    assert world.pipelines()["deploy"]["stages"][0]["comments"] == "v2"
    assert len(world.github(c2)) == 2  # the re-render puts no status on the app's commit

    # listed, newest first, and in the audit trail
    listed = httpx.get(f"{world.url}/dinghy/syncs", params={"source": "shop"}, timeout=10).json()
    assert {s["id"] for s in listed} >= {f"dinghy-shop-{c1}", f"dinghy-shop-{c2}", module_sync["workflow_id"]}
    audit = world.store.audit.query({"action": "dinghy.sync"}, 50)
    assert any(e.get("executionId") == f"dinghy-shop-{c1}" and e["outcome"] == "success" for e in audit), audit


def test_all_or_nothing_and_signatures(world: World) -> None:
    world.templates.commit({"wait.stage.module": WAIT_MODULE})
    good = '{"application": "multi", "pipelines": [{"name": "one", "stages": [ {{ module "wait.stage.module" }} ]}]}'
    bad = '{"application": "multi2", "pipelines": [{"name": "two", "stages": [ {{ module "missing.module" }} ]}]}'
    c1 = world.app_repo.commit({"a/dinghyfile": good, "b/dinghyfile": bad})
    sync = world.wait_sync(world.push(world.app_repo, "shop", "main", ZERO, c1)["dinghy"]["syncs"][0]["workflow_id"])
    assert sync["state"] == "failed"
    assert any("missing.module not found" in e and e.startswith("b/dinghyfile:1:") for e in sync["errors"]), sync
    assert world.pipelines("multi") == {}  # the good file was not written either
    assert [s["state"] for s in world.github(c1)] == ["error", "pending"]

    # the next push fixes only b: a's change, unwritten by the failed push, is applied with it
    c2 = world.app_repo.commit({"b/dinghyfile": bad.replace("missing.module", "wait.stage.module")})
    sync = world.wait_sync(world.push(world.app_repo, "shop", "main", c1, c2)["dinghy"]["syncs"][0]["workflow_id"])
    assert sync["state"] == "succeeded" and sorted(sync["summary"]["created"]) == ["multi/one", "multi2/two"], sync

    # a source with a secret: unsigned or wrongly signed pushes start nothing
    refused = world.push(world.app_repo, "signed", "main", ZERO, c1)
    assert refused["dinghy"]["syncs"] == [] and refused["dinghy"]["refused"][0]["source"] == "signed"
    assert world.push(world.app_repo, "signed", "main", ZERO, c1, secret="wrong")["dinghy"]["syncs"] == []
    ok = world.push(world.app_repo, "signed", "main", ZERO, c1, secret="s3cret")
    assert ok["dinghy"]["syncs"][0]["workflow_id"] == f"dinghy-signed-{c1}"
    world.wait_sync(f"dinghy-signed-{c1}")


def test_poll_schedule_and_gitlab_push_sync_each_commit_once(world: World) -> None:
    world.templates.commit({"wait.stage.module": WAIT_MODULE})
    text = '{"application": "polledapp", "pipelines": [{"name": "p", "stages": [ {{ module "wait.stage.module" }} ]}]}'
    c1 = world.polled.commit({"dinghyfile": text})
    # the poll Schedule (made when the API started) notices the new head and syncs it
    sync = world.wait_sync(f"dinghy-polled-{c1}")
    assert sync["state"] == "succeeded" and sync["summary"]["created"] == ["polledapp/p"], sync
    # a GitLab push of the same commit finds its sync already there
    body = {
        "object_kind": "push",
        "ref": "refs/heads/main",
        "before": ZERO,
        "after": c1,
        "project": {"namespace": "acme", "name": "polled", "path_with_namespace": "acme/polled"},
        "commits": [],
    }
    answer = httpx.post(
        f"{world.url}/webhooks/git/gitlab", json=body, headers={"X-Gitlab-Event": "Push Hook"}, timeout=30
    )
    assert answer.status_code == 200 and answer.json()["dinghy"]["syncs"][0]["started"] is False, answer.text
    # a later commit pushed through GitLab's webhook: synced once, whichever of push and poll comes first
    c2 = world.polled.commit({"dinghyfile": text.replace('"name": "p"', '"name": "q"')})
    body.update(before=c1, after=c2)
    httpx.post(f"{world.url}/webhooks/git/gitlab", json=body, headers={"X-Gitlab-Event": "Push Hook"}, timeout=30)
    sync = world.wait_sync(f"dinghy-polled-{c2}")
    assert sync["state"] == "succeeded" and sync["summary"]["created"] == ["polledapp/q"], sync
    ids = [s["id"] for s in httpx.get(f"{world.url}/dinghy/syncs", params={"source": "polled"}, timeout=10).json()]
    assert sorted(ids) == sorted({f"dinghy-polled-{c1}", f"dinghy-polled-{c2}"}), ids

    # by hand: what a poll does; the head is already synced, so nothing new starts
    now = httpx.post(f"{world.url}/dinghy/sources/polled/sync", timeout=60).json()
    assert now == {"source": "polled", "commit": c2, "started": False, "syncId": f"dinghy-polled-{c2}"}
    assert httpx.post(f"{world.url}/dinghy/sources/nope/sync", timeout=10).status_code == 404
    sources = {s["name"]: s for s in httpx.get(f"{world.url}/dinghy/sources", timeout=10).json()}
    assert sources["signed"]["signed"] is True and "s3cret" not in json.dumps(sources)
    # a deleted branch starts nothing
    gone = {**body, "ref": "refs/heads/old", "before": c2, "after": ZERO}
    answer = httpx.post(
        f"{world.url}/webhooks/git/gitlab", json=gone, headers={"X-Gitlab-Event": "Push Hook"}, timeout=30
    )
    assert answer.status_code == 200 and "dinghy" not in answer.json(), answer.text

"""The terraform tests' stack: Gate on uvicorn (serving the http state backend), a worker whose terraform reaches
it, the store, Temporal; configurations in git repositories made in temporary directories (no provider download:
``terraform_data``, ``local-exec``, variables, outputs)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parents[2]
DONE = {"SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED"}

#: the configuration most tests apply: a resource, a variable, an output; optionally a slow resource that leaves
#: a line in a marker file when its provisioner starts (so a test can act while terraform applies)
MAIN_TF = """
terraform {
  backend "http" {}
}

variable "name" {
  type    = string
  default = "world"
}

variable "slow" {
  type    = bool
  default = false
}

variable "marker" {
  type    = string
  default = "/dev/null"
}

resource "terraform_data" "greeting" {
  input = var.name
}

resource "terraform_data" "slow" {
  count = var.slow ? 1 : 0
  provisioner "local-exec" {
    command = "echo started >> ${var.marker} && sleep 90"
  }
}

output "greeting" {
  value = "hello ${terraform_data.greeting.output}"
}
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd), "PATH": "/usr/bin:/bin"},
    )
    return done.stdout.strip()


def make_repo(root: Path, files: dict[str, str], branch: str = "main") -> Path:
    """A git repository with ``files`` committed on ``branch``."""
    repo = root / f"repo-{uuid.uuid4().hex[:6]}"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", branch)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "config")
    return repo


def repo_artifact(repo: Path, version: str = "refs/heads/main") -> dict[str, Any]:
    return {"type": "git/repo", "reference": f"file://{repo}", "version": version}


@dataclass
class TfStack:
    url: str
    settings: Any
    store: Any
    client: Any
    tmp: Path

    async def run(self, stages: list[dict[str, Any]], app: str = "tfapp", wait: bool = True) -> dict[str, Any]:
        execution_id = await self.start(stages, app)
        return await self.finished(execution_id) if wait else {"id": execution_id}

    async def start(self, stages: list[dict[str, Any]], app: str = "tfapp") -> str:
        from workflows import operations

        config = {"application": app, "name": f"tf-{uuid.uuid4().hex[:6]}", "id": str(uuid.uuid4()), "stages": stages}
        return await operations.start_pipeline(self.client, config, {"type": "manual"}, task_queue=self.queue)

    @property
    def queue(self) -> str:
        return str(self.settings.task_queue)

    async def get(self, execution_id: str) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            answer = await http.get(f"/pipelines/{execution_id}")
            return answer.json() if answer.status_code == 200 else {}

    async def until(
        self, execution_id: str, check: Callable[[dict[str, Any]], bool], timeout: float = 90
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        body: dict[str, Any] = {}
        while asyncio.get_running_loop().time() < deadline:
            body = await self.get(execution_id)
            if body and check(body):
                return body
            await asyncio.sleep(0.2)
        raise AssertionError(f"condition not reached: {body}")

    async def finished(self, execution_id: str, timeout: float = 100) -> dict[str, Any]:
        return await self.until(execution_id, lambda b: b.get("status") in DONE, timeout)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


def stage(execution: dict[str, Any], ref_id: str) -> dict[str, Any]:
    return next(s for s in execution["stages"] if s.get("refId") == ref_id)


def tf_settings(tmp: Path, **more: Any) -> dict[str, Any]:
    return {"work_root": str(tmp / "work"), **more}


@pytest.fixture
def tf_stack(temporal_env: WorkflowEnvironment, tmp_path: Path, payload_settings: dict[str, Any]) -> Iterator[TfStack]:
    from core.settings import Settings
    from core.store import Store
    from gennaker.localstack import ServedApi

    settings = Settings(
        state_dir=tmp_path / "state",
        task_queue=f"tf-{uuid.uuid4()}",
        temporal={"address": temporal_env.client.service_client.config.target_host},
        payloads=payload_settings,
        # the operator's opt-in for repositories made in temporary directories (a fresh install refuses file://)
        outbound={"allowed_schemes": ["http", "https", "file"]},
        terraform=tf_settings(
            tmp_path,
            versions={"1.11": "/usr/local/bin/terraform"},
            profiles=[
                {
                    "name": "team",
                    "applications": ["tfapp"],
                    "variables": {"name": "from-the-profile-s3cr3t"},
                    "env": {"TEAM_TOKEN": "tok-very-secret-value"},
                }
            ],
        ),
    )
    store = Store(settings.store_url)
    store.migrate()
    served = ServedApi(settings, store)
    settings.terraform.state_url = served.url  # terraform's http backend is this API
    with served:
        yield TfStack(served.url, settings, store, temporal_env.client, tmp_path)
    store.close()

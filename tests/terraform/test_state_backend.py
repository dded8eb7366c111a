"""Terraform's ``http`` backend served by Gennaker: locks by id, refused writes, bad input naming the field,
and Fiat's permissions for terraform itself (its Basic password is an API token) with authentication on."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.terraform.conftest import MAIN_TF, TfStack

pytestmark = pytest.mark.temporal

STATE = {"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "abc", "outputs": {}, "resources": []}


def test_locks_are_held_by_id_and_writes_need_the_holders_id(tf_stack: TfStack) -> None:
    with tf_stack.http() as http:
        path = "/terraform/state/lockapp/default"
        assert http.get(path).status_code == 404
        assert (
            http.request(
                "LOCK", path, json={"ID": "one", "Who": "a@host", "Operation": "OperationTypeApply"}
            ).status_code
            == 200
        )
        taken = http.request("LOCK", path, json={"ID": "two"})
        assert taken.status_code == 423 and taken.json()["ID"] == "one" and taken.json()["Who"] == "a@host"
        refused = http.post(path, params={"ID": "two"}, json=STATE)
        assert refused.status_code == 423 and http.get(path).status_code == 404
        assert http.post(path, params={"ID": "one", "execution": "E1"}, json=STATE).status_code == 200
        assert http.request("UNLOCK", path, json={"ID": "two"}).status_code == 423
        assert http.request("UNLOCK", path, json={"ID": "one"}).status_code == 200
        assert http.get(path).json()["lineage"] == "abc"
        versions = http.get(path + "/versions").json()
        assert [(v["version"], v["serial"], v["executionId"]) for v in versions] == [(1, 1, "E1")]
        assert http.get(path + "/versions/1").json()["state"]["serial"] == 1
        assert http.delete(path).status_code == 200
        assert http.get(path).status_code == 404
        assert len(http.get(path + "/versions").json()) == 2  # the history stays

        bad = http.post(path, content=b"not json")
        assert bad.status_code == 400 and bad.json()["field"] == "body"
        bad = http.post(path, json={"serial": "x"})
        assert bad.status_code == 400 and bad.json()["field"] == "body"
        bad = http.request("LOCK", path, json={"Who": "x"})
        assert bad.status_code == 400 and bad.json()["field"] == "ID"
        bad = http.get("/terraform/state/lockapp/..%2Fetc")
        assert bad.status_code in (400, 404)
        bad = http.get("/terraform/state/lockapp/a b")
        assert bad.status_code == 400 and bad.json()["field"] == "workspace"
        missing = http.post(path + "/force-unlock", json={})
        assert missing.status_code == 400 and missing.json()["field"] == "id"
        assert http.post(path + "/force-unlock", json={"id": "one"}).status_code == 404  # not locked


@pytest.fixture
def secured(temporal_env: WorkflowEnvironment, tmp_path: Path, payload_settings: dict[str, Any]) -> Iterator[Any]:
    """The API with authentication on; application 'infra' writable by role 'ops', readable by 'dev' too."""
    from api.auth import tokens
    from core.settings import Settings
    from core.store import Store
    from gennaker.localstack import ServedApi

    settings = Settings(
        state_dir=tmp_path / "state",
        task_queue=f"tfsec-{uuid.uuid4()}",
        temporal={"address": temporal_env.client.service_client.config.target_host},
        payloads=payload_settings,
        auth={"enabled": True},
    )
    store = Store(settings.store_url)
    store.migrate()
    store.applications.save(
        {"name": "infra", "email": "a@b.c", "permissions": {"READ": ["dev", "ops"], "WRITE": ["ops"]}}, "setup"
    )
    ops, _ = tokens.issue(store, "olga", ["ops"], expires=None, by="setup")
    dev, _ = tokens.issue(store, "dave", ["dev"], expires=None, by="setup")
    with ServedApi(settings, store) as served:
        yield served.url, ops, dev
    store.close()


def _terraform(cwd: Path, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(cwd),
        "TF_CLI_CONFIG_FILE": "/dev/null",
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_HTTP_USERNAME": "gennaker",
        "TF_HTTP_PASSWORD": password,
    }
    return subprocess.run(
        ["terraform", *args, "-no-color", "-input=false"], cwd=cwd, env=env, capture_output=True, text=True, timeout=90
    )


def test_terraform_itself_authenticates_with_an_api_token_and_fiat_decides(secured: Any, tmp_path: Path) -> None:
    url, ops, dev = secured
    work = tmp_path / "cfg"
    work.mkdir()
    (work / "main.tf").write_text(MAIN_TF)
    address = f"{url}/terraform/state/infra/default"
    backend = [f"-backend-config={k}={address}" for k in ("address", "lock_address", "unlock_address")]
    assert _terraform(work, "init", *backend, password=ops).returncode == 0

    refused = _terraform(work, "apply", "-auto-approve", password=dev)  # dev may read, not lock or write
    assert refused.returncode == 1 and "invalid auth" in refused.stderr  # terraform's words for a 403
    wrong = _terraform(work, "apply", "-auto-approve", password="gnk_not-a-real-token")
    assert wrong.returncode == 1 and "requires auth" in wrong.stderr  # ... and for a 401

    done = _terraform(work, "apply", "-auto-approve", password=ops)
    assert done.returncode == 0, done.stderr
    basic_dev = httpx.BasicAuth("gennaker", dev)
    state = httpx.get(address, auth=basic_dev)
    assert state.status_code == 200 and json.loads(state.text)["outputs"]["greeting"]["value"] == "hello world"
    versions = httpx.get(address + "/versions", headers={"Authorization": f"Bearer {dev}"}).json()
    assert versions[0]["writtenBy"] == "olga"
    assert httpx.get(address).status_code == 403  # anonymous
    assert httpx.get(f"{address}/lock", auth=basic_dev).json() == {"locked": False, "lock": None}

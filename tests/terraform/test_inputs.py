"""The stage's inputs: bad ones refused naming the field; var files, targets, show and planForDestroy; named
profiles (secrets kept out of logs and history, only for the applications allowed); repository URLs judged
by the outbound policy; a git daemon as the repository's server."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.conftest import MAIN_TF, TfStack, make_repo, repo_artifact, stage

pytestmark = pytest.mark.temporal


async def test_terraform_gets_only_the_environment_the_operator_configures(
    tf_stack: TfStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENNAKER_WORKER_ONLY_SECRET", "worker-secret-value")
    dump = tf_stack.tmp / "env.txt"
    config = MAIN_TF + (
        '\nresource "terraform_data" "env" {\n'
        '  provisioner "local-exec" {\n    command = "env > ${var.marker}"\n  }\n}\n'
    )
    repo = make_repo(tf_stack.tmp, {"main.tf": config})
    stages = [
        {"refId": "a", "type": "terraform", "action": "apply", "artifacts": [repo_artifact(repo)],
         "overrides": {"marker": str(dump)}},
    ]  # fmt: skip
    done = await tf_stack.run(stages, app="envapp")
    assert done["status"] == "SUCCEEDED", stage(done, "a")["context"].get("exception")
    seen = dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)
    assert "GENNAKER_WORKER_ONLY_SECRET" not in seen and "worker-secret-value" not in dump.read_text()
    assert seen["PATH"] == "/usr/local/bin:/usr/bin:/bin" and seen["TF_IN_AUTOMATION"] == "1"
    assert not any(k.startswith("GENNAKER_") for k in seen)


def _error(execution: dict[str, Any], ref: str) -> str:
    return str(stage(execution, ref)["context"]["exception"]["details"]["error"])


async def test_bad_input_is_refused_naming_the_field(tf_stack: TfStack) -> None:
    repo = make_repo(tf_stack.tmp, {"main.tf": MAIN_TF})
    base = {"type": "terraform", "continuePipeline": True}
    stages = [
        {**base, "refId": "action", "action": "frobnicate", "artifacts": [repo_artifact(repo)]},
        {**base, "refId": "two", "action": "plan", "artifacts": [repo_artifact(repo), repo_artifact(repo)]},
        {**base, "refId": "none", "action": "plan", "artifacts": []},
        {**base, "refId": "version", "action": "plan", "terraformVersion": "0.9.1", "artifacts": [repo_artifact(repo)]},
        {**base, "refId": "dir", "action": "plan", "dir": "../../etc", "artifacts": [repo_artifact(repo)]},
        {**base, "refId": "ws", "action": "plan", "workspace": "a/b", "artifacts": [repo_artifact(repo)]},
        {**base, "refId": "profile", "action": "plan", "profile": "nobody", "artifacts": [repo_artifact(repo)]},
        {**base, "refId": "show", "action": "show", "artifacts": [repo_artifact(repo)]},
    ]
    done = await tf_stack.run(stages)
    assert {s["refId"]: s["status"] for s in done["stages"]} == {s["refId"]: "FAILED_CONTINUE" for s in stages}
    assert _error(done, "action").startswith("action: unknown action 'frobnicate' (one of plan, apply, destroy")
    assert _error(done, "two") == "artifacts: exactly one git/repo artifact is required, 2 given"
    assert _error(done, "none") == "artifacts: exactly one git/repo artifact is required, 0 given"
    assert _error(done, "version") == "terraformVersion: version '0.9.1' is not installed (installed: 1.11)"
    assert _error(done, "dir").startswith("dir: must be a path inside the repository")
    assert _error(done, "ws").startswith("workspace: 'a/b' is not a workspace name")
    assert _error(done, "profile") == "profile: unknown profile 'nobody' (known: team)"
    assert _error(done, "show") == "artifacts: show needs the planfile artifact of a plan stage"


async def test_var_files_targets_show_and_plan_for_destroy(tf_stack: TfStack) -> None:
    two = MAIN_TF + '\nresource "terraform_data" "other" {\n  input = "x"\n}\n'
    repo = make_repo(tf_stack.tmp, {"main.tf": two})
    var_file = {
        "type": "embedded/base64",
        "name": "prod.tfvars",
        "reference": base64.b64encode(b'name = "vf"\n').decode(),
    }
    stages = [
        {
            "refId": "apply",
            "type": "terraform",
            "action": "apply",
            "artifacts": [repo_artifact(repo), var_file],
            "targets": ["terraform_data.greeting"],
        },
        {
            "refId": "plan",
            "requisiteStageRefIds": ["apply"],
            "name": "PlanDestroy",
            "type": "terraform",
            "action": "plan",
            "planForDestroy": True,
            "artifacts": [repo_artifact(repo)],
        },
        {
            "refId": "show",
            "requisiteStageRefIds": ["plan"],
            "type": "terraform",
            "action": "show",
            "artifacts": [repo_artifact(repo), "${#stage('PlanDestroy')['outputs']['artifacts'][0]}"],
        },
    ]
    done = await tf_stack.run(stages, app="files")
    assert done["status"] == "SUCCEEDED", [s.get("context", {}).get("exception") for s in done["stages"]]
    applied = stage(done, "apply")["outputs"]["status"]
    assert applied["outputs"]["greeting"]["value"] == "hello vf"
    assert "Resources: 1 added" in applied["logs"]["apply_stdout"]  # only the target, not terraform_data.other
    summary = stage(done, "plan")["outputs"]["status"]["planSummary"]
    assert (summary["add"], summary["change"], summary["destroy"]) == (0, 0, 1)
    shown = stage(done, "show")["outputs"]["status"]["outputs"]["show"]["planfile_json"]
    assert [c["change"]["actions"] for c in shown["resource_changes"]] == [["delete"]]


async def test_profiles_keep_secrets_out_and_other_applications_away(tf_stack: TfStack) -> None:
    echo = MAIN_TF + (
        '\nresource "terraform_data" "echo" {\n'
        '  provisioner "local-exec" {\n    command = "echo token=$TEAM_TOKEN"\n  }\n}\n'
    )
    repo = make_repo(tf_stack.tmp, {"main.tf": echo})
    stages = [
        {
            "refId": "apply",
            "type": "terraform",
            "action": "apply",
            "profile": "team",
            "artifacts": [repo_artifact(repo)],
        }
    ]
    done = await tf_stack.run(stages, app="tfapp")
    assert done["status"] == "SUCCEEDED", stage(done, "apply")["context"].get("exception")
    status = stage(done, "apply")["outputs"]["status"]
    assert "token=****" in status["logs"]["apply_stdout"]  # the provisioner saw it; the log does not show it
    assert status["outputs"]["greeting"]["value"] == "hello ****"
    assert "tok-very-secret-value" not in json.dumps(done) and "s3cr3t" not in json.dumps(done)
    for workflow_id in (done["id"], f"{done['id']}.stage-apply"):
        history = await tf_stack.client.get_workflow_handle(workflow_id).fetch_history()
        text = json.dumps(history.to_json_dict())
        assert "tok-very-secret-value" not in text and "s3cr3t" not in text

    refused = await tf_stack.run(stages, app="otherapp")
    assert refused["status"] == "TERMINAL"
    assert _error(refused, "apply") == "profile: application 'otherapp' may not use profile 'team'"


async def test_repository_urls_are_judged_by_the_outbound_policy(tf_stack: TfStack) -> None:
    stages = [
        {
            "refId": "git",
            "type": "terraform",
            "action": "plan",
            "continuePipeline": True,
            "artifacts": [{"type": "git/repo", "reference": "git://127.0.0.1:1/x.git", "version": "main"}],
        },
        {
            "refId": "meta",
            "type": "terraform",
            "action": "plan",
            "continuePipeline": True,
            "artifacts": [{"type": "git/repo", "reference": "http://169.254.169.254/repo.git"}],
        },
    ]
    done = await tf_stack.run(stages)
    assert "scheme 'git' is not allowed" in _error(done, "git") and _error(done, "git").startswith("artifacts:")
    assert "169.254.169.254 is link-local (outbound.reject_link_local)" in _error(done, "meta")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_repository_served_by_git_daemon(tmp_path: Path) -> None:
    """The runner on its own (no engine): a checkout over git:// from a local ``git daemon`` at a tag, when the
    operator allows the scheme and loopback."""
    from core.settings.terraform import TerraformSettings
    from core.store import Store
    from integrations.outbound import OutboundPolicy, OutboundSettings
    from integrations.terraform.context import parse
    from integrations.terraform.runner import RunRequest, TerraformRunner
    from tests.terraform.conftest import git

    local = MAIN_TF.replace('backend "http" {}', "")
    repo = make_repo(tmp_path, {"infra/main.tf": local})
    git(repo, "tag", "v1")
    port = _free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={tmp_path}", "--listen=127.0.0.1",
         f"--port={port}", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    try:
        policy = OutboundPolicy(OutboundSettings(allowed_schemes=["git"], allow_cidrs=["127.0.0.0/8"]))
        runner = TerraformRunner(TerraformSettings(work_root=tmp_path / "work"), store, policy, tmp_path)
        context = {
            "action": "plan",
            "dir": "infra",
            "workspace": "staging",
            "artifacts": [{"type": "git/repo", "reference": f"git://127.0.0.1:{port}/{repo.name}", "version": "v1"}],
        }
        result = None
        for _ in range(50):  # the daemon accepts connections once it listens
            result = await runner.run(parse(context), RunRequest(f"e-{uuid.uuid4().hex[:6]}", "app", "s1"))
            if result.ok or "Connection refused" not in str(result.error):
                break
            import asyncio

            await asyncio.sleep(0.1)
        assert result is not None and result.ok, result and result.error
        assert result.status["planSummary"]["add"] == 1
        assert 'Created and switched to workspace "staging"' in result.status["logs"]["workspace_stdout"]
        assert not any((tmp_path / "work").iterdir())  # the working directory is gone
    finally:
        daemon.terminate()
        daemon.wait(10)
        store.close()


async def test_a_backend_artifact_configures_another_backend(tf_stack: TfStack) -> None:
    """``backendArtifact`` → ``init -backend-config=<file>``: a local backend at a path of the operator's, shared
    by two stages (Gennaker's http backend is then not used)."""
    state = tf_stack.tmp / "elsewhere.tfstate"
    config = MAIN_TF.replace('backend "http" {}', 'backend "local" {}')
    repo = make_repo(tf_stack.tmp, {"main.tf": config})
    backend = {"type": "embedded/base64", "reference": base64.b64encode(f'path = "{state}"\n'.encode()).decode()}
    stages = [
        {"refId": "a", "type": "terraform", "action": "apply", "artifacts": [repo_artifact(repo)],
         "backendArtifact": backend, "overrides": {"name": "local"}},
        {"refId": "o", "requisiteStageRefIds": ["a"], "type": "terraform", "action": "output",
         "artifacts": [repo_artifact(repo)], "backendArtifact": backend},
    ]  # fmt: skip
    done = await tf_stack.run(stages, app="localbackend")
    assert done["status"] == "SUCCEEDED", [s.get("context", {}).get("exception") for s in done["stages"]]
    assert stage(done, "o")["outputs"]["status"]["outputs"]["greeting"]["value"] == "hello local"
    assert json.loads(state.read_text())["outputs"]["greeting"]["value"] == "hello local"
    with tf_stack.http() as http:
        assert http.get("/terraform/state/localbackend/default").status_code == 404

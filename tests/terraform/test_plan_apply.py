"""Plan, judge, apply the saved plan; the state kept by Gennaker's http backend; outputs into later stages;
an apply refused when the state moved since its plan; destroy; workspaces. All through the real engine,
the real API and the real terraform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.terraform.conftest import MAIN_TF, TfStack, make_repo, repo_artifact, stage

pytestmark = pytest.mark.temporal

PLAN_EXPECTED = {"id": "plan-out", "matchArtifact": {"type": "embedded/base64", "name": "planfile"}}


def plan_stage(repo: Path, ref: str = "plan", **context: Any) -> dict[str, Any]:
    return {
        "refId": ref,
        "name": "Plan",
        "type": "terraform",
        "action": "plan",
        "terraformVersion": "1.11",
        "artifacts": [repo_artifact(repo)],
        "expectedArtifacts": [PLAN_EXPECTED],
        **context,
    }


async def _judge(stack: TfStack, execution_id: str, ref_id: str, decision: str = "continue") -> dict[str, Any]:
    running = await stack.until(  # running, with its instructions evaluated
        execution_id,
        lambda b: stage(b, ref_id)["status"] == "RUNNING" and "${" not in str(stage(b, ref_id)["context"]),
    )
    judgment = stage(running, ref_id)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        answer = await http.patch(
            f"/pipelines/{execution_id}/stages/{judgment['id']}", json={"judgmentStatus": decision}
        )
        assert answer.status_code == 200, answer.text
    return judgment


async def test_plan_then_judgment_then_apply_of_exactly_the_saved_plan(tf_stack: TfStack) -> None:
    repo = make_repo(tf_stack.tmp, {"main.tf": MAIN_TF})
    stages = [
        plan_stage(repo, overrides={"name": "${trigger.type}-ops"}),
        {
            "refId": "judge",
            "requisiteStageRefIds": ["plan"],
            "name": "Review",
            "type": "manualJudgment",
            "instructions": "${#stage('Plan')['outputs']['status']['planSummary']['text']}",
        },
        {
            "refId": "apply",
            "requisiteStageRefIds": ["judge"],
            "name": "Apply",
            "type": "terraform",
            "action": "apply",
            "artifacts": [repo_artifact(repo), {"id": "plan-out", "account": "embedded-artifact"}],
        },
        {
            "refId": "use",
            "requisiteStageRefIds": ["apply"],
            "name": "Use",
            "type": "evaluateVariables",
            "variables": [
                {"key": "greeting", "value": "${#stage('Apply')['outputs']['status']['outputs']['greeting']['value']}"}
            ],
        },
    ]
    execution_id = await tf_stack.start(stages)
    judgment = await _judge(tf_stack, execution_id, "judge")
    assert judgment["context"]["instructions"] == "Plan: 1 to add, 0 to change, 0 to destroy."
    done = await tf_stack.finished(execution_id)
    assert done["status"] == "SUCCEEDED", [s.get("context", {}).get("exception") for s in done["stages"]]

    plan = stage(done, "plan")["outputs"]
    assert plan["status"]["planExitCode"] == 2
    assert plan["status"]["planSummary"]["resources"]["add"] == ["terraform_data.greeting"]
    assert set(plan["status"]["logs"]) >= {"init_stdout", "init_stderr", "plan_stdout", "plan_stderr"}
    artifact = plan["artifacts"][0]
    assert artifact["type"] == "gennaker/terraform-plan" and artifact["name"] == "planfile"
    assert plan["resolvedExpectedArtifacts"][0]["boundArtifact"] == artifact
    # the plan file itself is kept by Gennaker, not in the execution
    assert len(str(plan)) < 64 * 1024 and "PK\x03\x04" not in str(plan)

    applied = stage(done, "apply")["outputs"]["status"]
    assert applied["state"] == "SUCCEEDED" and applied["code"] == 0
    assert applied["outputs"]["greeting"]["value"] == "hello manual-ops"
    assert "Apply complete! Resources: 1 added" in applied["logs"]["apply_stdout"]
    assert stage(done, "use")["outputs"]["greeting"] == "hello manual-ops"

    with tf_stack.http() as http:
        versions = http.get("/terraform/state/tfapp/default/versions").json()
        assert versions[0]["executionId"] == execution_id and versions[0]["serial"] >= 1
        outputs = http.get("/terraform/state/tfapp/default/outputs").json()
        assert outputs["greeting"]["value"] == "hello manual-ops"
        assert http.get("/terraform/state/tfapp/default/lock").json() == {"locked": False, "lock": None}


async def test_an_apply_is_refused_when_the_state_moved_since_its_plan(tf_stack: TfStack) -> None:
    repo = make_repo(tf_stack.tmp, {"main.tf": MAIN_TF})
    stages = [
        plan_stage(repo, overrides={"name": "first"}),
        {
            "refId": "other",
            "requisiteStageRefIds": ["plan"],
            "name": "Someone else applies",
            "type": "terraform",
            "action": "apply",
            "artifacts": [repo_artifact(repo)],
            "overrides": {"name": "second"},
        },
        {
            "refId": "apply",
            "requisiteStageRefIds": ["other"],
            "name": "Apply",
            "type": "terraform",
            "action": "apply",
            "artifacts": [repo_artifact(repo), "${#stage('Plan')['outputs']['artifacts'][0]}"],
        },
    ]
    done = await tf_stack.run(stages, app="moved")
    assert done["status"] == "TERMINAL"
    assert stage(done, "other")["status"] == "SUCCEEDED"
    refused = stage(done, "apply")
    error = refused["context"]["exception"]["details"]["error"]
    assert "the state moved since the plan" in error
    assert "serial 0" in error and "serial 1" in error
    assert "apply_stdout" not in refused["outputs"]["status"]["logs"]  # nothing was applied
    with tf_stack.http() as http:
        outputs = http.get("/terraform/state/moved/default/outputs").json()
    assert outputs["greeting"]["value"] == "hello second"


async def test_destroy_and_workspaces_keep_separate_states(tf_stack: TfStack) -> None:
    repo = make_repo(tf_stack.tmp, {"main.tf": MAIN_TF})

    def apply(ref: str, workspace: str, name: str, after: list[str]) -> dict[str, Any]:
        return {
            "refId": ref,
            "requisiteStageRefIds": after,
            "type": "terraform",
            "action": "apply",
            "workspace": workspace,
            "artifacts": [repo_artifact(repo)],
            "overrides": {"name": name},
        }

    stages = [
        apply("blue", "blue", "blue", []),
        apply("green", "green", "green", []),
        {
            "refId": "out",
            "requisiteStageRefIds": ["blue", "green"],
            "name": "Outputs",
            "type": "terraform",
            "action": "output",
            "workspace": "blue",
            "artifacts": [repo_artifact(repo)],
        },
        {
            "refId": "destroy",
            "requisiteStageRefIds": ["out"],
            "type": "terraform",
            "action": "destroy",
            "workspace": "green",
            "artifacts": [repo_artifact(repo)],
        },
    ]
    done = await tf_stack.run(stages, app="colors")
    assert done["status"] == "SUCCEEDED", [s.get("context", {}).get("exception") for s in done["stages"]]
    assert stage(done, "out")["outputs"]["status"]["outputs"]["greeting"]["value"] == "hello blue"
    assert (
        "Destroy complete! Resources: 1 destroyed"
        in stage(done, "destroy")["outputs"]["status"]["logs"]["destroy_stdout"]
    )
    with tf_stack.http() as http:
        blue = http.get("/terraform/state/colors/blue").json()
        green = http.get("/terraform/state/colors/green").json()
        green_versions = http.get("/terraform/state/colors/green/versions").json()
    assert [r["type"] for r in blue["resources"]] == ["terraform_data"]
    assert green["resources"] == []
    assert blue["lineage"] != green["lineage"]
    assert len(green_versions) >= 2 and all(v["executionId"] == done["id"] for v in green_versions)


async def test_a_kept_plan_applies_only_in_its_application_and_unchanged(tf_stack: TfStack) -> None:
    repo = make_repo(tf_stack.tmp, {"main.tf": MAIN_TF})
    planned = await tf_stack.run([plan_stage(repo)], app="alpha")
    artifact = stage(planned, "plan")["outputs"]["artifacts"][0]

    def apply(given: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"refId": "apply", "type": "terraform", "action": "apply", "artifacts": [repo_artifact(repo), given]}]

    elsewhere = await tf_stack.run(apply(artifact), app="beta")
    error = stage(elsewhere, "apply")["context"]["exception"]["details"]["error"]
    assert error == f"artifacts: plan file '{artifact['reference']}' was made by application 'alpha', not 'beta'"
    forged = {**artifact, "metadata": {**artifact["metadata"], "sha256": "0" * 64}}
    changed = await tf_stack.run(apply(forged), app="alpha")
    error = stage(changed, "apply")["context"]["exception"]["details"]["error"]
    assert error == f"artifacts: plan file '{artifact['reference']}' does not match its sha256"
    with tf_stack.http() as http:
        assert http.get("/terraform/state/beta/default").status_code == 404
        assert http.get("/terraform/state/alpha/default").status_code == 404


async def test_a_plan_larger_than_the_log_cap_is_summarised_and_applied(tf_stack: TfStack) -> None:
    """``show -json``, ``state pull`` and ``output -json`` are read whole; only the logs are capped."""
    many = MAIN_TF + '\nresource "terraform_data" "many" {\n  count = 60\n  input = "${var.name}-${count.index}"\n}\n'
    repo = make_repo(tf_stack.tmp, {"main.tf": many})
    tf_stack.settings.terraform.log_cap_bytes = 4096
    stages = [
        plan_stage(repo),
        {
            "refId": "apply",
            "requisiteStageRefIds": ["plan"],
            "type": "terraform",
            "action": "apply",
            "artifacts": [repo_artifact(repo), {"id": "plan-out"}],
        },
    ]
    done = await tf_stack.run(stages, app="big")
    assert done["status"] == "SUCCEEDED", [s.get("context", {}).get("exception") for s in done["stages"]]
    plan = stage(done, "plan")["outputs"]["status"]
    assert plan["planSummary"]["add"] == 61
    assert "earlier characters dropped" in plan["logs"]["plan_stdout"] and len(plan["logs"]["plan_stdout"]) < 4200
    assert "Resources: 61 added" in stage(done, "apply")["outputs"]["status"]["logs"]["apply_stdout"]

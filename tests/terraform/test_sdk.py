"""The SDK's ``Terraform`` builder: a plan → judgment → apply pipeline written in Python runs through the engine,
and bad fields are refused naming them."""

from __future__ import annotations

import httpx
import pytest

from gennaker.pipelines import ManualJudgment, Pipeline, PipelineBuildError, Terraform
from tests.terraform.conftest import MAIN_TF, TfStack, make_repo, stage


def test_bad_fields_are_refused_naming_them() -> None:
    with pytest.raises(PipelineBuildError, match=r"Terraform\('Terraform'\)\.action: must be one of"):
        Terraform("frobnicate", repo="file:///x")
    with pytest.raises(
        PipelineBuildError, match=r"planfile_from: must be a Terraform plan stage with produce_planfile"
    ):
        Terraform("apply", repo="file:///x", planfile_from=Terraform("plan", repo="file:///x"))
    with pytest.raises(PipelineBuildError, match=r"show needs the plan stage"):
        Terraform("show", repo="file:///x")


@pytest.mark.temporal
async def test_a_pipeline_built_with_the_sdk_plans_is_judged_and_applies(tf_stack: TfStack) -> None:
    repo = make_repo(tf_stack.tmp, {"main.tf": MAIN_TF})
    url = f"file://{repo}"
    plan = Terraform(
        "plan", repo=url, ref="refs/heads/main", name="Plan", version="1.11", overrides={"name": "sdk"},
        var_files=['name = "ignored-by-the-override"\n'], produce_planfile=True,
    )  # fmt: skip
    review = ManualJudgment("Review", instructions=plan.summary_expression())
    apply = Terraform("apply", repo=url, ref="refs/heads/main", name="Apply", planfile_from=plan)
    stages = Pipeline("tf", application="sdkapp", stages=[plan, review, apply]).to_json()["stages"]
    execution_id = await tf_stack.start(stages, app="sdkapp")
    waiting = await tf_stack.until(
        execution_id,
        lambda b: stage(b, "2")["status"] == "RUNNING" and "${" not in stage(b, "2")["context"]["instructions"],
    )
    assert stage(waiting, "2")["context"]["instructions"] == "Plan: 1 to add, 0 to change, 0 to destroy."
    async with httpx.AsyncClient(base_url=tf_stack.url, timeout=30) as http:
        answer = await http.patch(
            f"/pipelines/{execution_id}/stages/{stage(waiting, '2')['id']}", json={"judgmentStatus": "continue"}
        )
        assert answer.status_code == 200, answer.text
    done = await tf_stack.finished(execution_id)
    assert done["status"] == "SUCCEEDED", [s.get("context", {}).get("exception") for s in done["stages"]]
    assert stage(done, "3")["outputs"]["status"]["outputs"]["greeting"]["value"] == "hello sdk"

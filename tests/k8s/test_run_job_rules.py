"""Table tests of runJobManifest's pure rules: Job → state → our status, log → properties, the manifest."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from activities.run_job import job_manifest_of
from core.status import ExecutionStatus
from providers import kubernetes_jobs as kj


def job(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "j"}, "spec": spec, "status": status}


def cond(kind: str, value: str = "True", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "status": value, **extra}


@pytest.mark.parametrize(
    ("doc", "state"),
    [
        (job(None), kj.RUNNING),
        (job({}), kj.RUNNING),
        (job({"active": 1}), kj.RUNNING),
        (job({"succeeded": 1}), kj.SUCCEEDED),
        (job({"succeeded": 1}, completions=2), kj.RUNNING),
        (job({"succeeded": 2}, completions=2), kj.SUCCEEDED),
        (job({"conditions": [cond("Complete")]}), kj.SUCCEEDED),
        (job({"conditions": [cond("Complete", "False")]}), kj.RUNNING),
        (job({"conditions": [cond("Failed")]}), kj.FAILED),
        (job({"conditions": [cond("failed", "true")]}), kj.FAILED),  # Clouddriver compares ignoring case
        (job({"conditions": [cond("Failed", "False")]}), kj.RUNNING),
        (job({"failed": 6}), kj.RUNNING),  # default backoffLimit 6: a 7th failure fails it
        (job({"failed": 7}), kj.FAILED),
        (job({"failed": 1}, backoffLimit=0), kj.FAILED),
        (job({"succeeded": 1, "conditions": [cond("Failed")]}), kj.SUCCEEDED),  # succeeded count first
    ],
)
def test_job_state(doc: dict[str, Any], state: str) -> None:
    assert kj.job_state(doc) == state


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (kj.RUNNING, ExecutionStatus.RUNNING),
        (kj.SUCCEEDED, ExecutionStatus.SUCCEEDED),
        (kj.FAILED, ExecutionStatus.TERMINAL),
        ("Unknown", ExecutionStatus.RUNNING),
    ],
)
def test_execution_status(state: str, status: ExecutionStatus) -> None:
    assert kj.execution_status(state) == status


@pytest.mark.parametrize(
    ("log", "want"),
    [
        ("", {}),
        ("nothing here\n", {}),
        ("SPINNAKER_PROPERTY_VERSION=1.2.3\n", {"version": "1.2.3"}),
        ("  SPINNAKER_PROPERTY_Color = Blue  \n", {"color": "Blue"}),  # trimmed, key lower-cased
        ("echo SPINNAKER_PROPERTY_X=1", {"echo x": "1"}),  # anywhere in the line, as Clouddriver
        ("SPINNAKER_PROPERTY_URL=http://x?a=b", {}),  # more than one '=': skipped
        ("SPINNAKER_PROPERTY_EMPTY=", {}),  # empty parts dropped: one part, skipped
        ("SPINNAKER_PROPERTY_A=1\r\nSPINNAKER_PROPERTY_A=2\n", {"a": "2"}),  # later lines win
        ('SPINNAKER_CONFIG_JSON={"Key": "v", "n": 2, "l": [1]}', {"Key": "v", "n": 2, "l": [1]}),  # case kept
        ('   SPINNAKER_CONFIG_JSON={"a": true}', {"a": True}),
        ('x SPINNAKER_CONFIG_JSON={"a": 1}', {}),  # JSON only at the start of a line
        ('SPINNAKER_PROPERTY_A=1\nSPINNAKER_CONFIG_JSON={"b": "2"}', {"a": "1", "b": "2"}),
    ],
)
def test_extract_properties_from_log(log: str, want: dict[str, Any]) -> None:
    assert kj.extract_properties_from_log(log) == want


@pytest.mark.parametrize("line", ["SPINNAKER_CONFIG_JSON={not json", "SPINNAKER_CONFIG_JSON=[1, 2]"])
def test_bad_config_json_is_an_error(line: str) -> None:
    with pytest.raises(kj.PropertyParseError, match="SPINNAKER_CONFIG_JSON"):
        kj.extract_properties_from_log(line)


JOB: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "pi"},
    "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}},
}
YAML = "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: pi-}\nspec:\n  template: {spec: {containers: []}}\n"


@pytest.mark.parametrize(
    "context",
    [
        {"manifest": JOB},
        {"manifests": [JOB]},
        {"source": "text", "manifests": [JOB]},
        {
            "source": "artifact",
            "manifestArtifact": {"type": "embedded/base64", "reference": base64.b64encode(YAML.encode()).decode()},
        },
    ],
)
def test_job_manifest_sources(context: dict[str, Any]) -> None:
    found = job_manifest_of(context, None)
    assert found["kind"] == "Job" and found["apiVersion"] == "batch/v1"
    if "manifest" in context:
        found["metadata"]["name"] = "changed"
        assert JOB["metadata"]["name"] == "pi"  # a copy


@pytest.mark.parametrize(
    ("context", "field", "text"),
    [
        ({}, "manifest", "needs a Job manifest"),
        ({"manifests": [JOB, JOB]}, "manifests", "exactly one"),
        ({"manifests": {"kind": "Job"}}, "manifests", "must be a list"),
        ({"manifest": {**JOB, "kind": "Deployment"}}, "manifest", "only kind Job"),
        ({"manifest": {**JOB, "apiVersion": "batch/v2"}}, "manifest", "apiVersion"),
        ({"manifest": {**JOB, "metadata": {}}}, "manifest.metadata", "metadata.name"),
        ({"manifest": {**JOB, "spec": {}}}, "manifest.spec", "spec.template"),
        ({"source": "artifact"}, "manifestArtifact", "give manifestArtifact or manifestArtifactId"),
        ({"source": "artifact", "manifestArtifactId": "a1"}, "manifestArtifactId", "no artifact 'a1'"),
        ({"source": "artifact", "manifestArtifact": {"type": "gcs/object"}}, "manifestArtifact.type", "cannot be read"),
        (
            {"source": "artifact", "manifestArtifact": {"type": "embedded/base64"}},
            "manifestArtifact",
            "holds no manifest",
        ),
        (
            {"source": "artifact", "manifestArtifact": {"type": "embedded/base64", "reference": "//79"}},
            "manifestArtifact.reference",
            "not base64 text",
        ),
    ],
)
def test_bad_manifests_name_the_field(context: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(kj.JobManifestError, match=text) as caught:
        job_manifest_of(context, None)
    assert caught.value.field == field and str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("metadata", "want"),
    [({"name": "pi"}, "pi-abcde"), ({"generateName": "calc-"}, "calc-abcde"), ({"name": "x" * 70}, "x" * 58 + "abcde")],
)
def test_job_name(metadata: dict[str, Any], want: str) -> None:
    assert kj.job_name({"metadata": metadata}, "abcde") == want


def test_job_names_are_random_and_valid() -> None:
    names = {kj.job_name({"metadata": {"name": "pi"}}) for _ in range(20)}
    assert len(names) == 20
    assert all(n.startswith("pi-") and len(n) == 8 and n[3:].isalnum() and n == n.lower() for n in names)


@pytest.mark.parametrize(
    ("manifest", "context", "want"),
    [
        ({"metadata": {}}, {}, "default"),
        ({"metadata": {"namespace": "jobs"}}, {}, "jobs"),
        ({"metadata": {}}, {"namespace": "ctx"}, "ctx"),
        ({"metadata": {"namespace": "jobs"}}, {"namespaceOverride": "over"}, "over"),
    ],
)
def test_namespace_of(manifest: dict[str, Any], context: dict[str, Any], want: str) -> None:
    assert kj.namespace_of(manifest, context) == want


def test_completion_details_from_the_failed_condition_and_the_newest_pod() -> None:
    failed = job({"conditions": [cond("Failed", reason="BackoffLimitExceeded", message="limit")]})
    pods: list[dict[str, Any]] = [
        {"metadata": {"creationTimestamp": "2026-01-01T00:00:02Z"}, "status": {"containerStatuses": [
            {"state": {"terminated": {"exitCode": 3, "reason": "Error"}}}]}},
        {"metadata": {"creationTimestamp": "2026-01-01T00:00:01Z"}, "status": {"containerStatuses": [
            {"state": {"terminated": {"exitCode": 9, "signal": 9}}}]}},
    ]  # fmt: skip
    details = kj.completion_details(failed, pods)
    assert details == {"exitCode": "3", "signal": "", "message": "limit", "reason": "BackoffLimitExceeded"}
    assert kj.failure_message("pi-x", details) == (
        "Job pi-x failed; reason: BackoffLimitExceeded; message: limit; exit code 3"
    )
    assert kj.completion_details(job({}), []) == {"exitCode": "", "signal": "", "message": "", "reason": ""}


def test_sdk_builder_artifact_source_and_refusals() -> None:
    from gennaker.pipelines import PipelineBuildError
    from gennaker.pipelines.jobs import RunJobManifest

    artifact = {"type": "embedded/base64", "reference": "eA=="}
    fields = RunJobManifest("k8s", manifest_artifact=artifact, consume_artifact_source="propertyFile")._fields()
    assert fields["source"] == "artifact" and fields["manifestArtifact"] == artifact and "manifest" not in fields
    assert fields["consumeArtifactSource"] == "propertyFile"
    with pytest.raises(PipelineBuildError, match="exactly one of manifest and manifest_artifact"):
        RunJobManifest("k8s")._fields()
    with pytest.raises(PipelineBuildError, match="consume_artifact_source"):
        RunJobManifest("k8s", JOB, consume_artifact_source="artifact")._fields()


def test_job_manifest_from_a_bound_expected_artifact() -> None:
    bound = {"type": "embedded/base64", "reference": base64.b64encode(YAML.encode()).decode()}
    trigger = {"resolvedExpectedArtifacts": [{"id": "other"}, {"id": "a1", "boundArtifact": bound}]}
    found = job_manifest_of({"source": "artifact", "manifestArtifactId": "a1"}, trigger)
    assert found["metadata"] == {"generateName": "pi-"}


def test_artifact_manifests_are_evaluated_unless_skipped() -> None:
    """As deployManifest (and Orca) read them: expressions in an artifact's manifest see the trigger's parameters."""
    text = YAML.replace("metadata: {generateName: pi-}", "metadata:\n  generateName: ${parameters.prefix}-")
    artifact = {"type": "embedded/base64", "reference": base64.b64encode(text.encode()).decode()}
    trigger = {"parameters": {"prefix": "nightly"}}
    context: dict[str, Any] = {"source": "artifact", "manifestArtifact": artifact}
    assert job_manifest_of(context, trigger)["metadata"] == {"generateName": "nightly-"}
    skipped = job_manifest_of({**context, "skipExpressionEvaluation": True}, trigger)
    assert skipped["metadata"] == {"generateName": "${parameters.prefix}-"}

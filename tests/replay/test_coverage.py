"""The replay corpus of the current build runs every stage type of the catalog (issue 12: "a replay corpus with at
least one stored history for every stage type").

A type is covered when a stored stage history of ``tests/replay/histories/<BUILD_ID>/`` runs it: as its own stage
(``stage-<type>.json``) or as a synthetic stage inside its parent's workflow (a deploy strategy's ``shrinkCluster``,
a canary's ``runCanary``...: kept in the parent's history, ``synthetic-<type>.json`` when the parent's kept history
does not run it; see recorder.py). A failure names the types without one: add the test file that runs them to
REPLAY_TESTS in the Makefile and run ``make replay-record`` (docs/operations.md, "The replay corpus").
"""

from __future__ import annotations

import base64
import json

from workflows.stages.catalog import STAGES

from .recorder import HISTORIES, JSON_PLAIN, stage_types_run, types_in_directory
from .test_replay import BUILD_ID

#: Stage types that cannot run here, each with the reason; none today: every type of the catalog runs against the
#: stand-ins of the tests (moto, the GCE stand-in, the kube-apiserver, the Jenkins/Travis/GitHub/GitLab stand-ins,
#: packer, terraform, the canary's Prometheus stand-in). A type added here must say why it cannot run.
CANNOT_RUN_HERE: dict[str, str] = {}


def test_every_stage_type_of_the_catalog_has_a_history_of_this_build() -> None:
    catalog = {stage.type for stage in STAGES}
    assert set(CANNOT_RUN_HERE) <= catalog, "an exception names a type the catalog no longer has"
    missing = sorted(catalog - types_in_directory(HISTORIES / BUILD_ID) - set(CANNOT_RUN_HERE))
    assert not missing, (
        f"no stored history of build {BUILD_ID} runs {missing}: add a test running them to REPLAY_TESTS "
        "(Makefile) and run `make replay-record`"
    )


def _payload(value: object) -> dict[str, object]:
    return {"metadata": {"encoding": JSON_PLAIN}, "data": base64.b64encode(json.dumps(value).encode()).decode()}


def test_the_types_a_history_runs_include_its_synthetic_stages() -> None:
    """What the coverage rests on: a stage workflow's history runs its own stage (its input) and, once completed,
    every stage of its result (its synthetic stages); a failed or canceled one only its own as far as we know."""
    started = {
        "workflowExecutionStartedEventAttributes": {
            "input": {
                "payloads": [
                    _payload(
                        {"executionId": "e", "stage": {"refId": "1", "type": "deploy", "clusters": [{"type": "aws"}]}}
                    )
                ]
            }
        }
    }
    stages = [
        {"refId": "1", "type": "deploy"},
        {"refId": "1<1", "type": "shrinkCluster"},
        {"refId": "1<2", "type": "scaleDownCluster"},
        {"type": None},
    ]
    completed = {"workflowExecutionCompletedEventAttributes": {"result": {"payloads": [_payload({"stages": stages})]}}}
    assert stage_types_run({"events": [started, {}, completed]}) == {"deploy", "shrinkCluster", "scaleDownCluster"}
    assert stage_types_run({"events": [started, {}]}) == {"deploy"}
    other = {"metadata": {"encoding": base64.b64encode(b"binary/null").decode()}}
    assert (
        stage_types_run({"events": [{"workflowExecutionStartedEventAttributes": {"input": {"payloads": [other]}}}]})
        == set()
    )

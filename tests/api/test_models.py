"""The API's models keep what they are given: Spinnaker's fixtures round-trip unchanged, nothing is coerced, and
a document whose known keys do not fit their types is kept as sent (the route's own rules then answer it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from api.models import Application, Execution, PipelineConfig, TaskRequest, Trigger, document
from core.status import ExecutionStatus
from tests.conftest import FIXTURES

DECK = FIXTURES / "deck"


def _documents(pattern: str) -> list[Any]:
    found: list[Any] = []
    for path in sorted(DECK.glob(pattern)):
        loaded = json.loads(path.read_text())
        found.extend(loaded if isinstance(loaded, list) else [loaded])
    return found


@pytest.mark.parametrize("config", _documents("*pipelineConfigs.json"), ids=lambda c: str(c.get("name")))
def test_deck_pipeline_configs_round_trip_typed(config: dict[str, Any]) -> None:
    parsed = PipelineConfig.model_validate(config)
    assert parsed.model_fields_set  # typed, not kept aside
    assert document(parsed) == config


@pytest.mark.parametrize(
    "execution",
    [*_documents("core_manual_execution_pipelines.*.json"), *_documents("core_manual_execution_01*.json")],
    ids=lambda e: str(e.get("id")),
)
def test_deck_executions_round_trip_with_their_statuses(execution: dict[str, Any]) -> None:
    parsed = Execution.model_validate(execution)
    assert document(parsed) == execution
    assert isinstance(parsed.status, ExecutionStatus)
    assert all(isinstance(s.status, ExecutionStatus) for s in parsed.stages or [])


@pytest.mark.parametrize(
    ("model", "sent"),
    [
        (PipelineConfig, {"name": "p", "triggers": [{"type": "cron", "enabled": 1}]}),  # 1 stays 1, not True
        (PipelineConfig, {"triggers": [{"type": "jenkins", "status": "SUCCEEDED"}]}),  # a string, not a list
        (Execution, {"id": "x", "stages": [{"id": "s", "status": "SUCCEEDED", "tasks": [{"status": "NOPE"}]}]}),
        (PipelineConfig, {"name": 5, "application": "a"}),  # a number where a string is declared
        (PipelineConfig, {"name": "p", "stages": ["not an object"]}),
        (PipelineConfig, {"name": "p", "limitConcurrent": "false", "index": "3"}),
        (Application, {"name": "a", "cloudProviders": ["aws", "gce"]}),
        (Execution, {"id": "x", "status": "NOT_A_STATUS"}),
    ],
)
def test_a_document_that_does_not_fit_is_kept_as_sent(model: Any, sent: dict[str, Any]) -> None:
    parsed = model.model_validate(sent)
    assert not parsed.model_fields_set and parsed.model_extra == sent
    assert document(parsed) == sent


def test_typed_fields_read_by_their_python_names_and_dump_in_camel_case() -> None:
    parsed = PipelineConfig.model_validate(
        {"name": "p", "keepWaitingPipelines": True, "parameterConfig": [{"name": "env", "hasOptions": False}]}
    )
    assert parsed.keep_waiting_pipelines is True
    assert parsed.parameter_config is not None and parsed.parameter_config[0].has_options is False
    assert document(parsed) == {
        "name": "p",
        "keepWaitingPipelines": True,
        "parameterConfig": [{"name": "env", "hasOptions": False}],
    }


def test_unset_keys_stay_out_and_explicit_nulls_stay_in() -> None:
    assert document(TaskRequest.model_validate({"job": [], "description": None})) == {"job": [], "description": None}


def test_a_part_that_does_not_fit_is_refused_on_its_own() -> None:
    """Parts (a trigger, a stage) keep nothing aside: the document that holds one is kept whole instead."""
    with pytest.raises(ValidationError):
        Trigger.model_validate({"type": "cron", "enabled": 1})


@pytest.mark.parametrize("sent", [[1, 2], "text", 3, None])
def test_a_body_that_is_not_an_object_is_refused_with_its_kind(sent: Any) -> None:
    with pytest.raises(ValidationError, match="must be a JSON object"):
        PipelineConfig.model_validate(sent)

"""Which notification an end sends: the word of Orca's Echo event for that end (``orca:<kind>:<word>``), so a
notification and the event a REST listener receives never disagree (core.status.end_event_word)."""

from __future__ import annotations

import pytest

from core.status import ExecutionStatus as S
from core.status import end_event_word
from workflows.notifications import pipeline_event, stage_event


@pytest.mark.parametrize(
    ("status", "pipeline", "stage"),
    [
        (S.SUCCEEDED, "pipeline.complete", "stage.complete"),
        (S.STOPPED, "pipeline.complete", "stage.failed"),  # a successful end for an execution, a failure for a stage
        (S.SKIPPED, "pipeline.complete", "stage.skipped"),
        (S.FAILED_CONTINUE, "pipeline.failed", "stage.failed"),
        (S.TERMINAL, "pipeline.failed", "stage.failed"),
        (S.CANCELED, "pipeline.failed", "stage.failed"),
    ],
)
def test_an_end_notifies_as_orca_names_its_event(status: S, pipeline: str, stage: str) -> None:
    assert pipeline_event(status) == pipeline
    assert stage_event(status) == stage
    assert pipeline == f"pipeline.{end_event_word(status, 'pipeline')}"  # the outbox's word for the same end
    assert stage == f"stage.{end_event_word(status.value, 'stage')}"

"""The SDK's builders and the engine read a field by the same rules: what a builder accepts, the engine accepts
and reads as the builder meant; what the engine refuses, the builder refuses when it is written."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from activities.webhook_rules import parse_status_codes
from core import fields
from gennaker.pipelines import CronTrigger, DisableCluster, Pipeline, PipelineBuildError, Stage, Trigger, Wait, Webhook
from integrations.triggers.cron import CronError
from integrations.triggers.schedules import check_cron_triggers
from workflows.stages.wait import wait_seconds

ROOT = Path(__file__).resolve().parents[2]


def written(stage: Stage) -> dict[str, Any]:
    """The stage as the pipeline JSON holds it."""
    stages: list[dict[str, Any]] = Pipeline("p", application="a", stages=[stage]).to_json()["stages"]
    return stages[0]


# (expression, trigger id): valid and invalid Quartz, Echo's H, the forms Gennaker refuses on purpose
CRON_TABLE: list[tuple[str, str]] = [
    ("0 0 12 ? * MON-FRI", ""),
    ("0 0 12 ? * mon-fri", ""),
    ("0 0 12 ? * 5#3", ""),
    ("0 0 12 ? * 6L", ""),
    ("0 0 12 ? * FRI-MON", ""),
    ("0 0 0 L * ?", ""),
    ("0 0 0 LW * ?", ""),
    ("0 0 0 L-3 * ?", ""),
    ("0 0 0 15W * ?", ""),
    ("0 0 0 1W 1/1 ? *", "cron-1"),
    ("0 0 12 * * ?", ""),
    ("0 0 12 ? * *", ""),
    ("*/15 * * ? * *", ""),
    ("/5 0 12 ? * *", ""),
    ("0 0 12 ? * MON 2027", ""),
    ("0 0 0 29 2 ? 2028", ""),
    ("H H/15 * * * ?", "a1b2"),
    ("0 H(0-29) 9 ? * MON", "trigger-7"),
    ("0 H(0-29)/10 9 ? * MON", ""),
    # refused
    ("0 12 * * 1-5", ""),  # Unix cron: five fields
    ("0 0 12 * * MON-FRI", ""),  # neither day field is '?'
    ("0 0 12 ? * ?", ""),  # both are
    ("0 0 25 ? * *", ""),  # hour out of range
    ("*/61 * * ? * *", ""),  # step too large
    ("0 0 12 ? JAN/2 *", ""),  # a named month with a step: Quartz drops the step
    ("0 0 12 ? * 2#6", ""),  # no sixth Monday
    ("0 0 12 1-5W * ?", ""),  # W needs a single day
    ("0 0 12 L-28W * ?", ""),  # Quartz loops on it
    ("0 0 12 H * ?", ""),  # H only in seconds, minutes and hours
    ("0 H(50-70) 12 ? * *", ""),  # H's range outside the field
    ("0 0 12 ? * MON 2101", ""),  # after Temporal's last year
    ("0 0 12 ? * MON 1999", ""),  # no year Temporal schedules
    ("0 0 12 30 2 ?", ""),  # never fires
    ("0 0 0 29 2 ? 2027", ""),  # never fires: 2027 is no leap year
    ("0 0 12 ? * XYZ", ""),  # not a day name
    ("0 0 12 ? * MON 2027 extra", ""),  # eight fields
]


def engine_refusal(expression: str, trigger_id: str) -> str | None:
    """What a pipeline save says of the expression (api/routes/pipeline_configs runs check_cron_triggers)."""
    pipeline = {"triggers": [{"type": "cron", "id": trigger_id, "cronExpression": expression}]}
    try:
        check_cron_triggers(pipeline, "America/Los_Angeles")
    except CronError as err:
        return str(err)
    return None


def sdk_refusal(expression: str, trigger_id: str) -> str | None:
    try:
        CronTrigger(expression, id=trigger_id or None)
    except PipelineBuildError as err:
        return str(err)
    return None


@pytest.mark.parametrize(("expression", "trigger_id"), CRON_TABLE)
def test_the_sdk_refuses_a_cron_expression_exactly_when_a_pipeline_save_does(expression: str, trigger_id: str) -> None:
    engine, sdk = engine_refusal(expression, trigger_id), sdk_refusal(expression, trigger_id)
    assert (engine is None) == (sdk is None), f"engine: {engine!r}, sdk: {sdk!r}"
    assert sdk is None or sdk.startswith("CronTrigger('cron').cron_expression: ")


def test_the_table_holds_both_answers() -> None:
    refused = [e for e, t in CRON_TABLE if engine_refusal(e, t) is not None]
    assert 10 < len(refused) < len(CRON_TABLE) - 10


def test_past_the_sdk_own_hints_the_refusal_is_the_engine_words() -> None:
    engine = engine_refusal("0 0 12 ? * 2#6", "")
    sdk = sdk_refusal("0 0 12 ? * 2#6", "")
    assert engine is not None and sdk is not None
    reason = engine.removeprefix("triggers[0].cronExpression: ")
    assert reason in sdk
    assert "the occurrence after # must be 1-5" in sdk


def test_a_cron_trigger_builds_without_temporal() -> None:
    """The SDK checks with the engine's pure reader: no Temporal client library needed to build a pipeline."""
    code = (
        "import sys; sys.modules['temporalio'] = None; sys.modules['workflows'] = None\n"
        "from gennaker.pipelines import CronTrigger\n"
        "print(CronTrigger('0 0 12 ? * 5#3').to_json()['cronExpression'])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0 0 12 ? * 5#3"


BOOLEANS: list[Any] = [True, False, "true", "TRUE", " false ", "yes", "1", "on", 1, 0, 1.0, None, [], {}]


@pytest.mark.parametrize("value", BOOLEANS)
def test_a_boolean_field_is_what_the_engine_validates_and_reads(value: Any) -> None:
    """A builder takes a boolean where Front50's validation does (core.fields.boolean), and the engine's
    lenient read (truthy) of what it writes is the same boolean."""
    expected = fields.boolean(value)
    try:
        written = Trigger("webhook", source="x", enabled=value).to_json()["enabled"]
    except PipelineBuildError as err:
        assert expected is None, err
        return
    assert written is expected
    assert fields.truthy(written) is expected


STATUS_CODES: list[Any] = [503, "503", " 429 ", 503.0, 100, 599, 42, 600, 503.5, "x", "", True, None]


@pytest.mark.parametrize("code", STATUS_CODES)
def test_a_status_code_is_written_as_the_webhook_activity_reads_it(code: Any) -> None:
    try:
        codes = written(Webhook("https://x", fail_fast_status_codes=[code]))["failFastStatusCodes"]
    except PipelineBuildError:
        number = fields.integer(code)
        assert number is None or not 100 <= number <= 599
        return
    assert parse_status_codes(codes) == codes == [fields.integer(code)]


DURATIONS: list[Any] = [10, "10", 10.0, timedelta(seconds=10), timedelta(minutes=1), 0, -1, "x", 1.5, True]


@pytest.mark.parametrize("value", DURATIONS)
def test_a_duration_is_whole_seconds_the_engine_reads_back(value: Any) -> None:
    try:
        stage = written(Webhook("https://x", wait_for_completion=True, wait_before_monitor=value))
    except PipelineBuildError:
        seconds = value.total_seconds() if isinstance(value, timedelta) else fields.integer(value)
        assert seconds is None or seconds < 0 or seconds != int(seconds)
        return
    expected = value.total_seconds() if isinstance(value, timedelta) else fields.integer(value)
    assert fields.seconds(stage["waitBeforeMonitor"]) == expected


WAIT_TIMES: list[Any] = [30, 2.5, "30", " 2.5 ", timedelta(seconds=30), "${parameters.wait}", -1, "-1", "soon", True]


@pytest.mark.parametrize("value", WAIT_TIMES)
def test_a_wait_time_the_sdk_writes_is_one_the_wait_stage_runs(value: Any) -> None:
    try:
        wait_time = written(Wait(value))["waitTime"]
    except PipelineBuildError:
        with pytest.raises(ValueError):
            wait_seconds(value)
        return
    if isinstance(wait_time, str) and "${" in wait_time:
        return  # evaluated when the stage runs
    expected = value.total_seconds() if isinstance(value, timedelta) else float(value)
    assert wait_seconds(wait_time) == expected


COUNTS: list[Any] = [2, "2", 2.0, 0, -1, 1.5, True, "x", None]


@pytest.mark.parametrize("value", COUNTS)
def test_a_count_is_a_whole_number_as_the_engine_reads_one(value: Any) -> None:
    try:
        stage = written(DisableCluster("myapp-prod", account="prod", regions=["us-east-1"], remaining=value))
    except PipelineBuildError:
        number = fields.integer(value)
        assert number is None or number < 0
        return
    assert stage["remainingEnabledServerGroups"] == fields.integer(value)
    assert type(stage["remainingEnabledServerGroups"]) is int

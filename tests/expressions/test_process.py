"""process(): walking JSON, whole-string vs embedded expressions, the evaluation summary, and
evaluate_condition()."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from workflows.errors import ExpressionError
from workflows.expressions import (
    EvaluationContext,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    ProcessResult,
    UrlFetchUnavailable,
    evaluate_condition,
    process,
    scan_template,
)
from workflows.expressions.process import Piece

ROOT: dict[str, Any] = {
    "app": "shop",
    "replicas": 3,
    "enabled": True,
    "ratio": 0.25,
    "regions": ["us-east-1", "eu-west-1"],
    "labels": {"team": "core"},
    "nothing": None,
    "trigger": {"user": "ann", "parameters": {"env": "prod", "flag": "TRUE"}},
    "parameters": {"env": "prod", "flag": "TRUE"},
}


def ctx(**kw: Any) -> EvaluationContext:
    return EvaluationContext(root=kw.pop("root", ROOT), timestamp_ms=kw.pop("timestamp_ms", 1700000000000), **kw)


def run(value: Any, **kw: Any) -> ProcessResult:
    return process(value, ctx(**kw))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("${replicas}", 3),
        ("${ replicas }", 3),
        ("${enabled}", True),
        ("${ratio}", 0.25),
        ("${regions}", ["us-east-1", "eu-west-1"]),
        ("${labels}", {"team": "core"}),
        ("${ {'a': 1}['a'] }", 1),
        ("${ 'x}' + 'y' }", "x}y"),
        ('${ "}" }', "}"),
        ("${ {1, {2, 3}}[1][0] }", 2),
        ("${ regions.![#this.length()] }", [9, 9]),
        ("plain text", "plain text"),
        ("$notAnExpression {x}", "$notAnExpression {x}"),
        ("cost: $5", "cost: $5"),
    ],
)
def test_whole_string_expressions_keep_their_type(source: str, expected: Any) -> None:
    result = run(source)
    assert result.value == expected
    assert type(result.value) is type(expected)
    assert result.summary == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("app-${app}", "app-shop"),
        ("${app}-${parameters.env}", "shop-prod"),
        ("${replicas} replicas", "3 replicas"),
        ("on=${enabled} ratio=${ratio}", "on=true ratio=0.25"),
        ("regions: ${regions}", "regions: us-east-1,eu-west-1"),
        ("labels: ${labels}", "labels: {team=core}"),
        ("x${ {'a': '}'}['a'] }y", "x}y"),
        ("${'$'}{literal}", "${literal}"),
        (" ${app} ", " shop "),
    ],
)
def test_embedded_expressions_are_concatenated(source: str, expected: str) -> None:
    result = run(source)
    assert result.value == expected
    assert result.summary == {}


def test_walks_dicts_and_lists_and_leaves_other_values() -> None:
    source = {
        "name": "${app}",
        "count": "${replicas}",
        "nested": {"list": ["${regions[0]}", 5, None, True, {"deep": "${labels.team}"}]},
        "number": 7,
        "${app}": "keys are not evaluated",
    }
    original = copy.deepcopy(source)
    result = run(source)
    assert result.value == {
        "name": "shop",
        "count": 3,
        "nested": {"list": ["us-east-1", 5, None, True, {"deep": "core"}]},
        "number": 7,
        "${app}": "keys are not evaluated",
    }
    assert source == original  # input untouched
    assert result.summary == {}


def test_skip_expression_evaluation_at_its_own_level() -> None:
    source = {
        "manifest": {"skipExpressionEvaluation": True, "spec": "${app}", "inner": {"x": "${app}"}},
        "other": "${app}",
        "notSkipped": {"skipExpressionEvaluation": "true", "spec": "${app}"},
    }
    result = run(source)
    assert result.value["manifest"] == source["manifest"]
    assert result.value["other"] == "shop"
    assert result.value["notSkipped"]["spec"] == "shop"  # only the boolean true skips


def test_failed_expression_leaves_the_string_and_records_an_error() -> None:
    result = run({"image": "${nope.deeper}", "ok": "${app}"})
    assert result.value == {"image": "${nope.deeper}", "ok": "shop"}
    assert list(result.summary) == ["${nope.deeper}"]
    [entry] = result.summary["${nope.deeper}"]
    assert entry["level"] == "ERROR"
    assert entry["exceptionType"] == "org.springframework.expression.spel.SpelEvaluationException"
    assert entry["timestamp"] == 1700000000000
    assert entry["description"].startswith("Failed to evaluate [image] EL1008E")
    assert "nope" in entry["description"]
    assert set(entry) == {"description", "exceptionType", "level", "timestamp"}


def test_failure_in_an_embedded_expression_leaves_the_whole_string() -> None:
    source = "pre-${app}-${1/0}-post"
    result = run({"f": source})
    assert result.value == {"f": source}
    [entry] = result.summary["${1/0}"]
    assert entry["level"] == "ERROR" and "/ by zero" in entry["description"]


def test_summary_entry_kinds() -> None:
    result = run(
        {
            "syntax": "${1 +}",
            "security": "${T(java.lang.Runtime).getRuntime()}",
            "function": "${#stage('missing')}",
            "limit": "${'a' * 1000}",
            "unterminated": "value ${app",
        }
    )
    types = {key: entries[0]["exceptionType"] for key, entries in result.summary.items()}
    assert types == {
        "${1 +}": "org.springframework.expression.spel.SpelParseException",
        "${T(java.lang.Runtime).getRuntime()}": "ExpressionSecurityError",
        "${#stage('missing')}": "com.netflix.spinnaker.kork.expressions.SpelHelperFunctionException",
        "${'a' * 1000}": "ExpressionLimitError",
        "${app": "org.springframework.expression.spel.SpelParseException",
    }
    assert result.value["unterminated"] == "value ${app"
    assert all(e["level"] == "ERROR" for entries in result.summary.values() for e in entries)
    # descriptions have '$' stripped, as Orca does
    assert all("$" not in e["description"] for entries in result.summary.values() for e in entries)


def test_null_results_keep_the_text_and_record_info() -> None:
    result = run({"a": "${trigger.missing}", "b": "x-${nothing}-y"})
    assert result.value == {"a": "${trigger.missing}", "b": "x-${nothing}-y"}
    assert result.summary["${trigger.missing}"] == [
        {
            "description": "Failed to evaluate [a] : trigger.missing not found",
            "exceptionType": None,
            "level": "INFO",
            "timestamp": 1700000000000,
        }
    ]
    assert result.summary["${nothing}"][0]["level"] == "INFO"


def test_identical_failures_are_recorded_once() -> None:
    result = run({"a": ["${nope}", "${nope}"]})
    assert len(result.summary["${nope}"]) == 1


def test_url_fetch_unavailable_propagates() -> None:
    with pytest.raises(UrlFetchUnavailable):
        run({"a": "${app}", "cfg": "${#jsonFromUrl('https://cfg.example/x.json')}"})
    with pytest.raises(UrlFetchUnavailable):
        run({"cfg": "prefix ${#fromUrl('https://cfg.example/x')}"})


def test_url_functions_work_in_process_with_a_fetcher() -> None:
    result = run({"cfg": "${#jsonFromUrl('https://cfg.example/x.json').size}"}, url_fetcher=lambda url: '{"size": 10}')
    assert result.value == {"cfg": 10}


def test_top_level_values() -> None:
    assert run("${replicas + 1}").value == 4
    assert run(["${app}", 1]).value == ["shop", 1]
    assert run(5).value == 5
    assert run(None).value is None


def test_deep_documents_are_not_walked_forever() -> None:
    deep: Any = "${app}"
    for _ in range(500):
        deep = {"x": deep}
    result = run(deep)
    assert any("nested more than" in e["description"] for es in result.summary.values() for e in es)


def test_scan_template() -> None:
    assert scan_template("a${b}c${ {'x': '}'} }d") == [
        "a",
        Piece("${b}", "b"),
        "c",
        Piece("${ {'x': '}'} }", " {'x': '}'} "),
        "d",
    ]
    assert scan_template("no expressions") == ["no expressions"]
    assert scan_template("${a}") == [Piece("${a}", "a")]
    with pytest.raises(ExpressionSyntaxError, match="No ending suffix"):
        scan_template("${a")
    with pytest.raises(ExpressionSyntaxError, match="unterminated string"):
        scan_template("${'a}")
    with pytest.raises(ExpressionSyntaxError, match="unbalanced"):
        scan_template("${a)}")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("true", True),
        ("false", False),
        ("${true}", True),
        ("  ${ replicas > 2 }  ", True),
        ("parameters.env == 'prod'", True),
        ("parameters.env == 'dev'", False),
        ("parameters.flag", True),  # the string "TRUE"
        ("'False'", False),
        ("trigger.user == 'ann' and enabled", True),
    ],
)
def test_evaluate_condition(expression: str, expected: bool) -> None:
    assert evaluate_condition(expression, ctx()) is expected


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("replicas", ExpressionEvaluationError),
        ("'yes'", ExpressionEvaluationError),
        ("nothing", ExpressionEvaluationError),
        ("regions", ExpressionEvaluationError),
        ("nope == 1", ExpressionEvaluationError),
        ("1 +", ExpressionSyntaxError),
        ("", ExpressionSyntaxError),
    ],
)
def test_evaluate_condition_errors(expression: str, error: type[ExpressionError]) -> None:
    with pytest.raises(error):
        evaluate_condition(expression, ctx())

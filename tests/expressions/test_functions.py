"""The #helper functions, against a small fake execution."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from workflows.errors import ExpressionError
from workflows.expressions import (
    FUNCTION_NAMES,
    EvaluationContext,
    ExpressionFunctionError,
    ExpressionLimitError,
    UrlFetchUnavailable,
    evaluate,
)
from workflows.expressions.functions import parse_properties

EXECUTION: dict[str, Any] = {
    "id": "01EXEC",
    "stages": [
        {
            "id": "s1",
            "refId": "1",
            "name": "Bake",
            "type": "bake",
            "status": "SUCCEEDED",
            "context": {"ami": "ami-123"},
            "outputs": {"deploymentDetails": [{"ami": "ami-123"}]},
        },
        {
            "id": "s2",
            "refId": "2",
            "name": "Approve",
            "type": "manualJudgment",
            "status": "SUCCEEDED",
            "context": {"judgmentInput": "Ship it", "judgmentStatus": "continue"},
            "outputs": {},
        },
        {
            "id": "s3",
            "refId": "3",
            "name": "Deploy",
            "type": "deploy",
            "status": "TERMINAL",
            "context": {},
            "outputs": {},
        },
        {
            "id": "s4",
            "refId": "4",
            "name": "Flaky",
            "type": "wait",
            "status": "FAILED_CONTINUE",
            "context": {},
            "outputs": {},
        },
        {
            "id": "s5",
            "refId": "5",
            "name": "NoInput",
            "type": "manualJudgment",
            "status": "RUNNING",
            "context": {},
            "outputs": {},
        },
        {"id": "s6", "refId": 6, "name": "Numeric", "type": "wait", "status": "NOT_STARTED", "context": {}},
    ],
    "trigger": {
        "type": "manual",
        "resolvedExpectedArtifacts": [
            {"id": "e1", "boundArtifact": {"name": "gcr.io/app", "type": "docker/image", "reference": "gcr.io/app:1"}},
            {"id": "e2", "boundArtifact": None},
        ],
    },
}


def ctx(**kw: Any) -> EvaluationContext:
    root = kw.pop("root", {"execution": EXECUTION, "trigger": EXECUTION["trigger"], "parameters": {}})
    kw.setdefault("execution", EXECUTION)
    return EvaluationContext(root=root, **kw)


def ev(expression: str, **kw: Any) -> Any:
    return evaluate(expression, ctx(**kw))


def test_function_names_lists_everything() -> None:
    expected = {
        "stage",
        "stageByRefId",
        "stageExists",
        "currentStage",
        "judgment",
        "judgement",
        "toJson",
        "readJson",
        "readYaml",
        "readAllYaml",
        "toInt",
        "toFloat",
        "toBoolean",
        "toBase64",
        "fromBase64",
        "alphanumerical",
        "currentUser",
        "fromUrl",
        "jsonFromUrl",
        "yamlFromUrl",
        "propertiesFromUrl",
        "doNotEval",
        "triggerResolvedArtifact",
        "triggerResolvedArtifactByType",
        "canaryConfigNameToId",
    }
    assert set(FUNCTION_NAMES) == expected
    assert list(FUNCTION_NAMES) == sorted(FUNCTION_NAMES)
    assert isinstance(FUNCTION_NAMES, tuple)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("#stage('Bake').context.ami", "ami-123"),
        ("#stage('s1').name", "Bake"),
        ("#stage('Bake').status", "SUCCEEDED"),
        ("#stage('Bake').hasSucceeded", True),
        ("#stage('Bake').hasFailed", False),
        ("#stage('Deploy').hasFailed", True),
        ("#stage('Deploy').hasSucceeded", False),
        ("#stage('Flaky').hasFailed", False),  # orca: hasFailed is TERMINAL only
        ("#stage('Bake').outputs.deploymentDetails[0].ami", "ami-123"),
        ("#stage(#root.execution, 'Bake').name", "Bake"),  # Orca's rewritten spelling
        ("#stageByRefId('3').name", "Deploy"),
        ("#stageByRefId(6).name", "Numeric"),
        ("#stageByRefId('6').name", "Numeric"),
        ("#stageExists('Deploy')", True),
        ("#stageExists('s2')", True),
        ("#stageExists('Nope')", False),
        ("#judgment('Approve')", "Ship it"),
        ("#judgement('Approve')", "Ship it"),
        ("#judgment('Approve') == 'Ship it' ? 'go' : 'stop'", "go"),
        ("#triggerResolvedArtifact('gcr.io/app').reference", "gcr.io/app:1"),
        ("#triggerResolvedArtifactByType('docker/image').name", "gcr.io/app"),
        ("execution.stages.?[type == 'manualJudgment'].size()", 2),
    ],
)
def test_stage_functions(expression: str, expected: Any) -> None:
    assert ev(expression) == expected


def test_stage_returns_a_copy_with_computed_keys() -> None:
    stage = ev("#stage('Bake')")
    assert stage["hasSucceeded"] is True and stage["hasFailed"] is False
    assert "hasSucceeded" not in EXECUTION["stages"][0]


def test_current_stage() -> None:
    assert ev("#currentStage().name", current_stage_id="s3") == "Deploy"
    assert ev("#currentStage().name", current_stage_id="S3") == "Deploy"  # case-insensitive like orca
    with pytest.raises(ExpressionFunctionError, match="needs a current stage"):
        ev("#currentStage()")
    with pytest.raises(ExpressionFunctionError, match="No stage found with id 'zz'"):
        ev("#currentStage()", current_stage_id="zz")


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("#stage('Missing')", r"Unable to locate \[Missing\] using #stage\(Missing\) in execution 01EXEC"),
        ("#stage(null)", "Unable to locate"),
        ("#stageByRefId('99')", r"#stageByRefId\(99\)"),
        ("#stageByRefId(null)", "must not be null"),
        ("#judgment('Bake')", "Unable to locate manual Judgment stage"),  # not a manual judgment
        ("#judgment('NoInput')", "doesn't contain judgmentInput"),
        ("#judgment('approve')", "Unable to locate"),  # case-sensitive
        ("#triggerResolvedArtifact('other')", "Unable to locate resolved artifact other"),
        ("#stage()", "takes 1 argument"),
        ("#stage('a', 'b')", "takes 1 argument"),
        ("#nosuch('x')", "unknown function #nosuch.*available functions: .*#stage"),
    ],
)
def test_function_errors(expression: str, fragment: str) -> None:
    with pytest.raises(ExpressionFunctionError, match=fragment):
        ev(expression)


def test_functions_without_an_execution() -> None:
    c = EvaluationContext(root={})
    assert evaluate("#stageExists('Bake')", c) is False
    with pytest.raises(ExpressionFunctionError, match="Unable to locate"):
        evaluate("#stage('Bake')", c)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("#toJson({a: 1, b: {true, null, 'x'}})", '{"a":1,"b":[true,null,"x"]}'),
        ("#toJson('héllo')", '"héllo"'),
        ("#toJson(1.5)", "1.5"),
        ("#toJson(#stage('Bake').context)", '{"ami":"ami-123"}'),
        ('#readJson(\'{"a": [1, 2.5, "x", null, true]}\')', {"a": [1, 2.5, "x", None, True]}),
        ("#readJson('[1,2]')[1]", 2),
        ("#readJson('\"s\"')", "s"),
        ("#readYaml('a: 1\nb: [x, y]')", {"a": 1, "b": ["x", "y"]}),
        ("#readYaml('when: 2024-01-02')", {"when": "2024-01-02"}),
        ("#readYaml('2: two\ntrue: yes')", {"2": "two", "true": True}),
        ("#readAllYaml('a: 1\n---\nb: 2')", [{"a": 1}, {"b": 2}]),
        ("#toInt('42')", 42),
        ("#toInt('-7')", -7),
        ("#toInt('+7')", 7),
        ("#toInt(5)", 5),
        ("#toInt(parameters.n)", 12),
        ("#toFloat('1.5')", 1.5),
        ("#toFloat(' 2 ')", 2.0),
        ("#toFloat('1e3')", 1000.0),
        ("#toFloat('2.5f')", 2.5),
        ("#toBoolean('true')", True),
        ("#toBoolean('TRUE')", True),
        ("#toBoolean('yes')", False),
        ("#toBoolean(null)", False),
        ("#toBoolean(true)", True),
        ("#toBase64('hello')", base64.b64encode(b"hello").decode()),
        ("#fromBase64('aGVsbG8=')", "hello"),
        ("#fromBase64('aGVsbG8')", "hello"),
        ("#fromBase64(#toBase64('ünï'))", "ünï"),
        ("#alphanumerical('my-app_v1.2!')", "myappv12"),
        ("#doNotEval({a: '${x}'})", {"a": "${x}"}),
        ("#currentUser()", "anonymous"),
    ],
)
def test_value_functions(expression: str, expected: Any) -> None:
    c = EvaluationContext(root={"parameters": {"n": "12"}}, execution=EXECUTION)
    result = evaluate(expression, c)
    assert result == expected
    assert type(result) is type(expected)


def test_current_user() -> None:
    assert ev("#currentUser()", user="alice@example.com") == "alice@example.com"


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("#toJson({a: '${x}'})", "cannot contain an expression"),
        ("#toJson('${x}')", "cannot contain an expression"),
        ("#readJson('{bad')", "could not parse JSON"),
        ("#readJson('NaN')", "could not parse JSON"),
        ("#readJson(null)", "needs a string argument"),
        ("#readYaml('a: [')", "could not parse YAML"),
        ("#readYaml('!!python/object:os.system x')", "could not parse YAML"),
        ("#readYaml('x: .nan')", "non-finite"),
        ("#toInt('1.5')", "For input string"),
        ("#toInt('abc')", "For input string"),
        ("#toInt('')", "For input string"),
        ("#toInt('3000000000')", "out of int range"),
        ("#toInt(1.5)", "For input string"),
        ("#toFloat('abc')", "For input string"),
        ("#toFloat('NaN')", "For input string"),
        ("#toFloat('1_000')", "For input string"),
        ("#toFloat('1e999')", "not a finite number"),
        ("#fromBase64('a')", "bad length"),
        ("#fromBase64('!!!!')", "not valid base64"),
        ("#toBase64({1})", "needs a string argument"),
    ],
)
def test_value_function_errors(expression: str, fragment: str) -> None:
    with pytest.raises(ExpressionFunctionError, match=fragment):
        ev(expression)


def test_yaml_alias_bomb_is_bounded() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    prev = "a"
    for name in "bcdefghij":
        bomb += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
        prev = name
    c = EvaluationContext(root={"doc": bomb})
    with pytest.raises(ExpressionLimitError, match="expands to more than|step budget"):
        evaluate("#readYaml(doc)", c)


def test_deeply_nested_documents_are_refused() -> None:
    c = EvaluationContext(root={"deep": "[" * 5000 + "]" * 5000, "deepy": "[" * 150 + "]" * 150})
    with pytest.raises(ExpressionError):
        evaluate("#readJson(deep)", c)
    with pytest.raises(ExpressionLimitError, match="nested more than"):
        evaluate("#readYaml(deepy)", c)


def test_document_size_limit() -> None:
    c = EvaluationContext(root={"huge": '"' + "x" * 1_000_001 + '"'})
    with pytest.raises(ExpressionLimitError, match="limit is"):
        evaluate("#readJson(huge)", c)


def test_url_functions_without_a_fetcher_raise_unavailable() -> None:
    for fn in ("fromUrl", "jsonFromUrl", "yamlFromUrl", "propertiesFromUrl"):
        with pytest.raises(UrlFetchUnavailable, match=f"#{fn} needs network access"):
            ev(f"#{fn}('https://config.example/x')")


def test_url_functions_with_a_fetcher() -> None:
    bodies = {
        "https://c.example/text": "plain body",
        "https://c.example/json": '{"replicas": 3, "tags": ["a"]}',
        "https://c.example/yaml": "replicas: 4\nregions: [us-east-1]\n",
        "https://c.example/props": "# comment\nreplicas=5\nname : app\\\n  one\nempty\n",
    }
    seen: list[str] = []

    def fetch(url: str) -> str:
        seen.append(url)
        return bodies[url]

    assert ev("#fromUrl('https://c.example/text')", url_fetcher=fetch) == "plain body"
    assert ev("#jsonFromUrl('https://c.example/json').replicas", url_fetcher=fetch) == 3
    assert ev("#yamlFromUrl('https://c.example/yaml').regions[0]", url_fetcher=fetch) == "us-east-1"
    assert ev("#propertiesFromUrl('https://c.example/props')", url_fetcher=fetch) == {
        "replicas": "5",
        "name": "appone",
        "empty": "",
    }
    assert seen == list(bodies)


def test_fetcher_failures_become_expression_errors() -> None:
    def broken(url: str) -> str:
        raise OSError("connection refused")

    with pytest.raises(ExpressionFunctionError, match="OSError: connection refused"):
        ev("#fromUrl('https://x.example/')", url_fetcher=broken)

    class Refused(ExpressionError):
        pass

    def refusing(url: str) -> str:
        raise Refused("not allowed")

    with pytest.raises(Refused):
        ev("#fromUrl('https://x.example/')", url_fetcher=refusing)

    with pytest.raises(ExpressionFunctionError, match="not text"):
        ev("#fromUrl('https://x.example/')", url_fetcher=lambda u: b"bytes")  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a=1\nb = 2\nc:3\nd 4", {"a": "1", "b": "2", "c": "3", "d": "4"}),
        ("# c\n! c\n\n  key = value with spaces  ", {"key": "value with spaces  "}),
        ("multi = one \\\n    two", {"multi": "one two"}),
        ("esc\\=key = tab\\there\\u0041", {"esc=key": "tab\there" + "A"}),
        ("win=1\r\nmac=2\rlast=3", {"win": "1", "mac": "2", "last": "3"}),
        ("dup=1\ndup=2", {"dup": "2"}),
    ],
)
def test_properties_parser(text: str, expected: dict[str, str]) -> None:
    assert parse_properties(text) == expected

"""Evaluator: every operator, literal and access form, selection/projection, the method allow-list,
refusals and bounds."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.errors import ExpressionError
from workflows.expressions import (
    EvaluationContext,
    ExpressionEvaluationError,
    ExpressionLimitError,
    ExpressionSecurityError,
    evaluate,
)

ROOT: dict[str, Any] = {
    "name": "deploy",
    "count": 3,
    "ratio": 0.5,
    "flag": True,
    "nothing": None,
    "empty": "",
    "tags": ["a", "b", "c"],
    "nums": [5, 1, 4, 2],
    "servers": [
        {"name": "web", "region": "us-east-1", "size": 3},
        {"name": "api", "region": "us-west-2", "size": 5},
        {"name": "db", "region": "us-east-1", "size": 1},
    ],
    "regions": {"us-east-1": 2, "us-west-2": 7},
    "trigger": {"user": "ann", "parameters": {"env": "prod", "replicas": "4"}},
    "parameters": {"env": "prod", "replicas": "4"},
    "execution": {"id": "01EXEC", "stages": []},
}


def ctx(**kw: Any) -> EvaluationContext:
    return EvaluationContext(root=kw.pop("root", ROOT), **kw)


def ev(expression: str, **kw: Any) -> Any:
    return evaluate(expression, ctx(**kw))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # literals
        ("42", 42),
        ("10L", 10),
        ("0x10", 16),
        ("1.25", 1.25),
        ("1e2", 100.0),
        ("'text'", "text"),
        ('"dq"', "dq"),
        ("'it''s'", "it's"),
        ("true", True),
        ("false", False),
        ("null", None),
        ("{1, 2, 3}", [1, 2, 3]),
        ("{}", []),
        ("{:}", {}),
        ("{a: 1, 'b': 2}", {"a": 1, "b": 2}),
        ("{1: 'x'}", {"1": "x"}),
        ("{a: {b: {1, 2}}}", {"a": {"b": [1, 2]}}),
        # arithmetic (Java semantics)
        ("1 + 2", 3),
        ("7 - 10", -3),
        ("6 * 7", 42),
        ("7 / 2", 3),
        ("-7 / 2", -3),
        ("7 / -2", -3),
        ("7 % 3", 1),
        ("-7 % 3", -1),
        ("7 % -3", 1),
        ("2 ^ 10", 1024),
        ("2 ^ -1", 0),
        ("1 ^ -3", 1),
        ("(-1) ^ -3", -1),
        ("7.0 / 2", 3.5),
        ("1 + 0.5", 1.5),
        ("5.5 % 2", 1.5),
        ("2.0 ^ 0.5", 2.0**0.5),
        ("7 div 2", 3),
        ("7 mod 2", 1),
        ("-count", -3),
        ("+count", 3),
        ("count * ratio", 1.5),
        ("1 + 2 * 3 - 4 / 2", 5),
        ("(1 + 2) * 3", 9),
        ("2 ^ 3 ^ 2", 64),
        # string +
        ("'a' + 'b'", "ab"),
        ("'n=' + 1", "n=1"),
        ("1 + 'x'", "1x"),
        ("'x' + true", "xtrue"),
        ("'x' + null", "xnull"),
        ("'x' + 1.5", "x1.5"),
        ("'x' + 1e10", "x1.0E10"),
        ("'x' + 1.0", "x1.0"),
        ("'x' + tags", "xa,b,c"),
        ("'x' + {a: 1, b: {1, 2}}", "x{a=1, b=[1, 2]}"),
        ("'ab' * 3", "ababab"),
        # comparison
        ("1 == 1", True),
        ("1 == 1.0", True),
        ("1 == '1'", False),
        ("'a' == 'a'", True),
        ("null == null", True),
        ("nothing == null", True),
        ("true == 1", False),
        ("{1, 2} == {1, 2}", True),
        ("{a: 1} == {a: 1}", True),
        ("1 != 2", True),
        ("1 < 2", True),
        ("2 > 1", True),
        ("2 <= 2", True),
        ("3 >= 4", False),
        ("'a' < 'b'", True),
        ("null < 1", True),
        ("false < true", True),
        ("1 eq 1", True),
        ("1 ne 1", False),
        ("1 lt 2", True),
        ("1 gt 2", False),
        ("2 le 2", True),
        ("2 ge 3", False),
        # logical
        ("true and false", False),
        ("true && true", True),
        ("false or true", True),
        ("false || false", False),
        ("!true", False),
        ("not false", True),
        ("NOT flag", False),
        ("'true' and 'yes'", True),
        ("false and nothing.x", False),
        ("true or nothing.x", True),
        # matches / between
        ("'release-12' matches 'release-[0-9]+'", True),
        ("'xrelease-1' matches 'release-[0-9]+'", False),
        ("'ABC' matches '(?i)abc'", True),
        ("3 between {1, 5}", True),
        ("7 between {1, 5}", False),
        ("'m' between {'a', 'z'}", True),
        # ternary / elvis
        ("flag ? 'y' : 'n'", "y"),
        ("count > 5 ? 'big' : 'small'", "small"),
        ("'true' ? 1 : 2", 1),
        ("nothing ?: 'dflt'", "dflt"),
        ("empty ?: 'dflt'", "dflt"),
        ("name ?: 'dflt'", "deploy"),
        ("false ?: 'dflt'", False),
    ],
)
def test_values(expression: str, expected: Any) -> None:
    result = ev(expression)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("name", "deploy"),
        ("trigger.user", "ann"),
        ("trigger['user']", "ann"),
        ('trigger["parameters"]["env"]', "prod"),
        ("trigger[parameters].env", "prod"),  # map[name] means map['name']
        ("tags[0]", "a"),
        ("tags['2']", "c"),
        ("servers[1].name", "api"),
        ("servers[count - 1].name", "db"),
        ("'hello'[1]", "e"),
        ("regions['us-west-2']", 7),
        ("trigger.missing", None),
        ("trigger['missing']", None),
        ("nothing?.foo", None),
        ("nothing?.foo()", None),
        ("trigger?.user", "ann"),
        ("#root.name", "deploy"),
        ("#this.count", 3),
        ("parameters.env == 'prod'", True),
        ("execution.id", "01EXEC"),
    ],
)
def test_access(expression: str, expected: Any) -> None:
    assert ev(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("nums.?[#this > 2]", [5, 4]),
        ("nums.^[#this > 2]", 5),
        ("nums.$[#this > 2]", 4),
        ("nums.^[#this > 100]", None),
        ("nums.$[#this > 100]", None),
        ("nums.![#this * 10]", [50, 10, 40, 20]),
        ("servers.?[region == 'us-east-1'].![name]", ["web", "db"]),
        ("servers.?[size > 2].size()", 2),
        ("servers.![name + ':' + size]", ["web:3", "api:5", "db:1"]),
        ("servers.^[name.startsWith('a')].region", "us-west-2"),
        ("regions.?[value > 5]", {"us-west-2": 7}),
        ("regions.^[value > 0]", {"us-east-1": 2}),
        ("regions.$[value > 0]", {"us-west-2": 7}),
        ("regions.![key]", ["us-east-1", "us-west-2"]),
        ("regions.![#this.value * 2]", [4, 14]),
        ("tags.![toUpperCase()]", ["A", "B", "C"]),
        ("tags.?[#this != 'b']", ["a", "c"]),
        ("servers.?[#root.name == 'deploy'].size()", 3),
        ("servers.?[missingKey == null].size()", 3),
        ("nothing?.?[true]", None),
        ("{}.![#this]", []),
    ],
)
def test_selection_and_projection(expression: str, expected: Any) -> None:
    assert ev(expression) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # strings
        ("name.contains('plo')", True),
        ("name.startsWith('de')", True),
        ("name.startsWith('pl', 2)", True),
        ("name.endsWith('oy')", True),
        ("name.toUpperCase()", "DEPLOY"),
        ("'MiXed'.toLowerCase()", "mixed"),
        ("'  pad \t'.trim()", "pad"),
        ("'a,b,,c,,'.split(',')", ["a", "b", "", "c"]),
        ("'a1b22c'.split('[0-9]+')", ["a", "b", "c"]),
        ("'a,b,c'.split(',', 2)", ["a", "b,c"]),
        ("'a,b,,'.split(',', -1)", ["a", "b", "", ""]),
        ("''.split(',')", [""]),
        ("'abc'.split('')", ["a", "b", "c"]),
        ("name.substring(2)", "ploy"),
        ("name.substring(1, 3)", "ep"),
        ("name.length()", 6),
        ("'a-b-c'.replace('-', '+')", "a+b+c"),
        ("'v1.2.3'.replaceAll('[^0-9]', '')", "123"),
        ("'release-42'.replaceAll('release-(\\d+)', 'r$1')", "r42"),
        ("'aaa'.replaceFirst('a', 'b')", "baa"),
        ("'x$y'.replaceAll('\\$', '-')", "x-y"),
        ("'a'.replaceAll('a', '\\$')", "$"),
        ("'ab'.replaceAll('(?<first>a)', '${first}${first}')", "aab"),
        ("'banana'.indexOf('an')", 1),
        ("'banana'.indexOf('an', 2)", 3),
        ("'banana'.lastIndexOf('an')", 3),
        ("'banana'.indexOf('zz')", -1),
        ("''.isEmpty()", True),
        ("'  '.isBlank()", True),
        ("'a'.equals('a')", True),
        ("'a'.equals(1)", False),
        ("'AbC'.equalsIgnoreCase('abc')", True),
        ("'abc'.charAt(1)", "b"),
        ("'release-1'.matches('release-\\d')", True),
        ("'a'.concat('b')", "ab"),
        ("'x'.toString()", "x"),
        ("'a'.compareTo('c')", -2),
        ("'abc'.compareTo('ab')", 1),
        # lists
        ("tags.size()", 3),
        ("tags.isEmpty()", False),
        ("tags.contains('b')", True),
        ("tags.get(2)", "c"),
        ("tags.indexOf('c')", 2),
        ("tags.indexOf('z')", -1),
        ("tags.subList(1, 3)", ["b", "c"]),
        ("{1, 2}.contains(2.0)", True),
        ("{1, 2}.toString()", "[1, 2]"),
        # maps
        ("regions.size()", 2),
        ("regions.isEmpty()", False),
        ("regions.containsKey('us-east-1')", True),
        ("regions.containsValue(7)", True),
        ("regions.get('us-west-2')", 7),
        ("regions.keySet()", ["us-east-1", "us-west-2"]),
        ("regions.values()", [2, 7]),
        ("regions.getOrDefault('eu', 0)", 0),
        ("{a: 1}.toString()", "{a=1}"),
        ("containsKey('name')", True),
        # numbers / booleans
        ("ratio.intValue()", 0),
        ("count.doubleValue()", 3.0),
        ("count.longValue()", 3),
        ("count.toString()", "3"),
        ("1e10.toString()", "1.0E10"),
        ("flag.toString()", "true"),
        ("flag.booleanValue()", True),
        ("count.equals(3)", True),
        ("count.equals(3.0)", False),
    ],
)
def test_allowed_methods(expression: str, expected: Any) -> None:
    result = ev(expression)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("name.getClass()", "method 'getClass' is not allowed on a string"),
        ("tags.getClass()", "method 'getClass' is not allowed on a list"),
        ("regions.getClass()", "method 'getClass' is not allowed on a map"),
        ("count.getClass()", "method 'getClass' is not allowed on a number"),
        ("flag.getClass()", "method 'getClass' is not allowed on a boolean"),
        ("name.class", "property 'class' is not allowed on a string"),
        ("name.getBytes()", "method 'getBytes' is not allowed"),
        ("tags.clear()", "method 'clear' is not allowed on a list"),
        ("tags.add('x')", "method 'add' is not allowed on a list"),
        ("regions.put('k', 1)", "method 'put' is not allowed on a map"),
        ("regions.remove('us-east-1')", "method 'remove' is not allowed on a map"),
        ("name.wait()", "method 'wait' is not allowed"),
        ("getClass()", "method 'getClass' is not allowed on a map"),
        ("T(java.lang.Runtime).getRuntime().exec('touch /tmp/pwned')", "type references"),
        ("''.getClass().forName('java.lang.Runtime')", "getClass"),
        ("new java.lang.ProcessBuilder({'id'}).start()", "constructors"),
        ("@environment.getProperty('x')", "bean references"),
        ("name = 'x'", "assignment"),
        ("__class__", "'__'"),
        ("name.__class__", "'__'"),
        ("tags.__len__()", "'__'"),
        ("'x' instanceof T(String)", "instanceof"),
        ("String.valueOf(1)", "Java classes"),
        ("Math.max(1, 2)", "Java classes"),
        ("java.lang.Runtime.getRuntime()", "Java classes"),
        ("System.getenv('HOME')", "Java classes"),
    ],
)
def test_refusals(expression: str, fragment: str) -> None:
    with pytest.raises(ExpressionSecurityError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        ev(expression)


def test_python_attributes_are_never_reached() -> None:
    # a dict key that looks like a Python attribute is just a (missing) key
    assert ev("trigger.items") is None
    assert ev("trigger.keys") is None
    with pytest.raises(ExpressionSecurityError):
        ev("trigger.items()")  # not in the map allow-list


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("unknownName", "EL1008E: Property or field 'unknownName' cannot be found"),
        ("nothing.foo", "EL1007E"),
        ("nothing[0]", "EL1012E"),
        ("nothing.size()", "EL1011E"),
        ("tags[5]", "EL1025E"),
        ("tags[-1]", "EL1025E"),
        ("'abc'[3]", "EL1025E"),
        ("count[0]", "EL1027E"),
        ("name.foo", "cannot be found on a value of type string"),
        ("name.length", r"use length\(\)"),
        ("tags.size", r"use size\(\)"),
        ("1 / 0", "/ by zero"),
        ("1 % 0", "/ by zero"),
        ("1.0 / 0", "not a finite number"),
        ("0 ^ -1", "negative power"),
        ("2 ^ 100", "overflow"),
        ("9223372036854775807 + 1", "overflow"),
        ("-9223372036854775807 - 2", "overflow"),
        ("10.0 ^ 400", "not a finite number"),
        ("(-8.0) ^ 0.5", "not a finite number"),
        ("1 + true", "EL1030E"),
        ("tags + tags", "EL1030E"),
        ("'a' - 1", "EL1030E"),
        ("-'a'", "needs a number"),
        ("'a' < 1", "cannot compare"),
        ("nothing and true", "must be a boolean"),
        ("!'maybe'", "must be a boolean"),
        ("1 ? 2 : 3", "ternary condition must be a boolean"),
        ("nums.?[#this]", "EL1079E"),
        ("count.?[true]", "need a list or map"),
        ("nothing.?[true]", "EL1002E"),
        ("1 matches 'x'", "needs a string on both sides"),
        ("3 between 4", "between"),
        ("#nope", "unknown variable #nope"),
        ("name.substring(9)", "out of range"),
        ("name.substring(3, 1)", "after end"),
        ("tags.get(9)", "out of range"),
        ("name.charAt('x')", "must be an integer"),
        ("name.contains()", "takes 1 argument"),
        ("name.contains(1)", "needs a string argument"),
        ("'x'.replaceAll('(', '')", "missing closing parenthesis"),
        ("'x'.replaceAll('[', '')", "unclosed character class"),
        ("'x' matches '\\p{Alpha}'", "invalid regular expression"),
        ("'x'.replaceAll('x', '$2')", "no group 2"),
        ("'x' matches '\\1'", "backreferences"),
        ("'x' matches '(?=x)x'", "lookahead and lookbehind"),
        ("'x' matches 'x*+'", "possessive"),
        ("'a' matches '[a-z&&[^b]]'", "set operations"),
        ("'a' matches '*a'", "nothing to repeat"),
        ("'ab' * 1000", "at most 256"),
        ("'ab' * -1", "at most 256"),
    ],
)
def test_evaluation_errors(expression: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment) as info:
        ev(expression)
    assert not isinstance(info.value, ExpressionSecurityError)


def test_fallback_reads_ancestor_outputs_nearest_first() -> None:
    c = EvaluationContext(
        root={"own": 1, "shared": "root"},
        fallback=[{"deploymentDetails": [{"ami": "ami-1"}], "shared": "near"}, {"deploymentDetails": "far", "x": 9}],
    )
    assert evaluate("deploymentDetails[0].ami", c) == "ami-1"
    assert evaluate("x", c) == 9
    assert evaluate("shared", c) == "root"
    assert evaluate("#root.deploymentDetails[0].ami", c) == "ami-1"
    assert evaluate("#root.x + own", c) == 10
    with pytest.raises(ExpressionEvaluationError, match="cannot be found"):
        evaluate("nowhere", c)


def test_values_are_not_mutated() -> None:
    data = {"tags": ["b", "a"], "m": {"k": 1}}
    evaluate("tags.![#this + 'x']", EvaluationContext(root=data))
    evaluate("m.?[value > 0]", EvaluationContext(root=data))
    assert data == {"tags": ["b", "a"], "m": {"k": 1}}


def test_step_budget_stops_runaway_evaluation() -> None:
    big = {"items": list(range(5000))}
    c = EvaluationContext(root=big)
    with pytest.raises(ExpressionLimitError, match="step budget"):
        evaluate("items.![#root.items.![#this].size()].size()", c)


def test_string_size_limit() -> None:
    c = EvaluationContext(root={"s": "x" * 600_000})
    with pytest.raises(ExpressionLimitError, match="longer than the limit"):
        evaluate("s + s", c)
    with pytest.raises(ExpressionLimitError, match="longer than the limit"):
        evaluate("s.replace('x', 'yy')", c)
    with pytest.raises(ExpressionLimitError, match="longer than the limit"):
        evaluate("s.concat(s)", c)


def test_regex_subject_and_cost_limits() -> None:
    c = EvaluationContext(root={"s": "a" * 5000, "big": "a" * 200_000})
    with pytest.raises(ExpressionLimitError, match="subject"):
        evaluate("big matches 'a+'", c)
    # RE2 runs in linear time, so the shapes the old cost estimator refused now just give Java's answer
    assert evaluate("s.replaceAll('.*.*.*x', '')", c) == "a" * 5000
    for pattern in ("(a+)+b", "(a|aa)*b", "((a|aa))*b"):
        assert evaluate(f"s matches '{pattern}'", c) is False
    assert evaluate("s matches '(?:a*)+'", c) is True
    assert evaluate("s matches 'a*'", c) is True
    assert evaluate("s.replaceAll('a', 'b').length()", c) == 5000
    with pytest.raises(ExpressionLimitError, match="characters long"):
        evaluate("s matches '" + "a" * 600 + "'", c)


def test_results_are_plain_json_types() -> None:
    result = ev("{servers.![name], regions, {k: 1.5, n: null, b: true}}")
    assert result == [["web", "api", "db"], {"us-east-1": 2, "us-west-2": 7}, {"k": 1.5, "n": None, "b": True}]


def test_status_enum_values_compare_as_strings() -> None:
    from core.status import ExecutionStatus

    c = EvaluationContext(root={"stage": {"status": ExecutionStatus.SUCCEEDED}})
    assert evaluate("stage.status == 'SUCCEEDED'", c) is True
    assert evaluate("'status: ' + stage.status", c) == "status: SUCCEEDED"


def test_non_string_expressions_are_syntax_errors() -> None:
    from workflows.expressions import ExpressionSyntaxError

    for bad in (None, 42, ["a"], {"a": 1}):
        with pytest.raises(ExpressionSyntaxError, match="must be a string"):
            evaluate(bad, ctx())  # type: ignore[arg-type]


def test_java_class_names_are_ordinary_keys_when_present() -> None:
    assert evaluate("String.length()", EvaluationContext(root={"String": "abc"})) == 3

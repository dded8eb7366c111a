"""Property tests: whatever the input, evaluation ends, raises only ExpressionError subclasses (never a
Python exception such as RecursionError, TypeError, ZeroDivisionError or IndexError), never reports an
internal error, and only ever returns plain JSON values."""

from __future__ import annotations

import math
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.errors import ExpressionError
from workflows.expressions import (
    EvaluationContext,
    ExpressionInternalError,
    UrlFetchUnavailable,
    evaluate,
    evaluate_condition,
    process,
)
from workflows.expressions.methods import BOOLEAN_METHODS, LIST_METHODS, MAP_METHODS, NUMBER_METHODS, STRING_METHODS

ROOT: dict[str, Any] = {
    "s": "Hello, World",
    "n": 7,
    "f": 2.5,
    "b": True,
    "z": None,
    "e": "",
    "l": [3, 1, 2, "x", None, {"k": "v"}],
    "m": {"a": 1, "b": [1, 2], "c": {"d": "deep"}},
    "big": 9223372036854775807,
    "trigger": {"parameters": {"env": "prod"}, "user": "ann"},
    "parameters": {"env": "prod"},
}
EXECUTION = {
    "id": "E1",
    "stages": [
        {"id": "s1", "refId": "1", "name": "Bake", "type": "bake", "status": "SUCCEEDED", "context": {"x": 1}},
        {
            "id": "s2",
            "refId": "2",
            "name": "MJ",
            "type": "manualJudgment",
            "status": "SUCCEEDED",
            "context": {"judgmentInput": "yes"},
        },
    ],
    "trigger": {},
}
CTX = EvaluationContext(root=ROOT, fallback=[{"up": [1, 2]}], execution=EXECUTION, current_stage_id="s1")
MAX_SECONDS = 5.0  # a single evaluation must never take longer than this

NAMES = [
    "s",
    "n",
    "f",
    "b",
    "z",
    "e",
    "l",
    "m",
    "big",
    "trigger",
    "parameters",
    "up",
    "missing",
    "k",
    "a",
    "key",
    "value",
    "class",
    "T",
    "new",
    "execution",
]
METHODS = sorted(
    set(STRING_METHODS + LIST_METHODS + MAP_METHODS + NUMBER_METHODS + BOOLEAN_METHODS)
    | {"getClass", "exec", "forName", "clear", "put"}
)
FUNCTIONS = [
    "stage",
    "stageExists",
    "stageByRefId",
    "judgment",
    "currentStage",
    "toJson",
    "readJson",
    "readYaml",
    "toInt",
    "toFloat",
    "toBoolean",
    "toBase64",
    "fromBase64",
    "alphanumerical",
    "currentUser",
    "doNotEval",
    "fromUrl",
    "nosuch",
]
BINARY = [
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "==",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "and",
    "or",
    "&&",
    "||",
    "matches",
    "between",
    "div",
    "mod",
    "eq",
    "lt",
    "?:",
]


def is_json(value: Any, depth: int = 0) -> bool:
    if depth > 200:
        return False
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(is_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json(v, depth + 1) for k, v in value.items())
    return False


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


literals = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(lambda i: f"({i})"),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda x: f"({x!r})"),
    st.text(max_size=12).map(quote),
    st.sampled_from(["true", "false", "null", "{}", "{:}", "#this", "#root", "10L", "0xFF", "1e3"]),
    st.sampled_from(NAMES),
    st.sampled_from(
        [
            "'[a-z]+'",
            "'(a+)+'",
            "'.*.*x'",
            "'\\d'",
            "'('",
            "'${x}'",
            "'{\"a\": 1}'",
            "'a: [1]'",
            "'[a&&b]'",
            "'[[x]'",
            "'(?<n>a)'",
            "'$1'",
            "'(?i)x'",
            "'a{2,}'",
            "'\\'",
        ]
    ),
)


def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["!", "-", "+", "not "]), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(children, st.sampled_from([".", "?."]), st.sampled_from(NAMES)).map(lambda t: f"{t[0]}{t[1]}{t[2]}"),
        st.tuples(children, children).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(children, st.sampled_from(METHODS), st.lists(children, max_size=3)).map(
            lambda t: f"{t[0]}.{t[1]}({', '.join(t[2])})"
        ),
        st.tuples(children, st.sampled_from([".?[", ".^[", ".$[", ".!["]), children).map(
            lambda t: f"{t[0]}{t[1]}{t[2]}]"
        ),
        st.lists(children, max_size=4).map(lambda items: "{" + ", ".join(items) + "}"),
        st.lists(st.tuples(st.sampled_from(["a", "'b'", "1"]), children), min_size=1, max_size=3).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
        ),
        st.tuples(st.sampled_from(FUNCTIONS), st.lists(children, max_size=2)).map(
            lambda t: f"#{t[0]}({', '.join(t[1])})"
        ),
    )


expressions = st.recursive(literals, extend, max_leaves=25)

SPEL_ALPHABET = st.sampled_from(
    list("abnsmlz0129.'\"()[]{}#?:!=<>+-*/%^,@&$ ")
    + ["T(", "new ", " and ", " or ", "matches", ".?[", ".![", "#this", "#stage(", "?.", "?:", "''", "${", "}"]
)


def check_outcome(fn: Any, *args: Any) -> Any:
    start = time.perf_counter()
    try:
        result = fn(*args)
    except ExpressionInternalError as e:  # a Python exception leaked from the implementation
        raise AssertionError(f"internal error for {args[0]!r}: {e}") from e
    except ExpressionError:
        result = None
    assert time.perf_counter() - start < MAX_SECONDS, f"too slow: {args[0]!r}"
    return result


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_generated_expressions(expression: str) -> None:
    result = check_outcome(evaluate, expression, CTX)
    assert is_json(result), f"{expression!r} returned a non-JSON value {result!r}"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_text(expression: str) -> None:
    assert is_json(check_outcome(evaluate, expression, CTX))


@settings(max_examples=400, deadline=None)
@given(st.lists(SPEL_ALPHABET, max_size=40).map("".join))
def test_random_token_soup(expression: str) -> None:
    assert is_json(check_outcome(evaluate, expression, CTX))
    outcome = check_outcome(evaluate_condition, expression, CTX)
    assert outcome is None or isinstance(outcome, bool)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(max_size=10),
            st.lists(SPEL_ALPHABET, max_size=15).map(lambda x: "${" + "".join(x) + "}"),
            expressions.map(lambda e: "pre ${" + e + "} post"),
        ),
        lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=5), kids, max_size=3)),
        max_leaves=10,
    )
)
def test_process_never_raises_and_keeps_json(document: Any) -> None:
    start = time.perf_counter()
    try:
        result = process(document, CTX)
    except UrlFetchUnavailable:
        return  # the one error process lets through, by design
    assert time.perf_counter() - start < MAX_SECONDS * 4
    assert is_json(result.value)
    for key, entries in result.summary.items():
        assert isinstance(key, str) and entries
        for entry in entries:
            assert set(entry) == {"description", "exceptionType", "level", "timestamp"}
            assert entry["level"] in ("ERROR", "INFO")
            assert "internal error" not in entry["description"], entry


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(["(", ")", "[", "]", "{", "}", "!", "-", "a", ".", "1", "+", "?", ":", ","]),
        min_size=200,
        max_size=2000,
    ).map("".join)
)
def test_pathological_nesting_never_overflows_the_stack(expression: str) -> None:
    assert is_json(check_outcome(evaluate, expression, CTX))


# --- well-typed arithmetic, checked against a small model of Java long arithmetic ---------------

int_trees = st.recursive(
    st.integers(min_value=-1000, max_value=1000),
    lambda kids: st.tuples(st.sampled_from(["+", "-", "*", "/", "%"]), kids, kids),
    max_leaves=12,
)


class _ModelError(Exception):
    pass


def model(tree: Any) -> int:
    if isinstance(tree, int):
        return tree
    op, left, right = tree
    a, b = model(left), model(right)
    if op in "/%" and b == 0:
        raise _ModelError
    if op == "+":
        r = a + b
    elif op == "-":
        r = a - b
    elif op == "*":
        r = a * b
    else:
        q = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
        r = q if op == "/" else a - b * q
    if not -(2**63) <= r < 2**63:
        raise _ModelError
    return r


def render(tree: Any) -> str:
    if isinstance(tree, int):
        return f"({tree})"
    op, left, right = tree
    return f"({render(left)} {op} {render(right)})"


@settings(max_examples=300, deadline=None)
@given(int_trees)
def test_integer_arithmetic_matches_java_semantics(tree: Any) -> None:
    text = render(tree)
    try:
        expected = model(tree)
    except _ModelError:
        try:
            evaluate(text, CTX)
        except ExpressionError as e:
            assert not isinstance(e, ExpressionInternalError)
            return
        raise AssertionError(f"{text} should have failed (division by zero or overflow)") from None
    assert evaluate(text, CTX) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=8), st.integers(-99, 99), st.booleans(), st.none()), min_size=1, max_size=6))
def test_string_concatenation_uses_java_stringification(parts: list[Any]) -> None:
    def java(v: Any) -> str:
        return "null" if v is None else ("true" if v is True else "false" if v is False else str(v))

    text = "''" + "".join(" + " + (quote(p) if isinstance(p, str) else java(p)) for p in parts)
    assert evaluate(text, CTX) == "".join(java(p) for p in parts)

"""Property tests of the paths users feed regexes and expressions into, each example under a wall-clock bound
(hypothesis' ``deadline``): random Java-style patterns (including the nested-quantifier shapes that make
backtracking engines explode) on adversarial subjects, and random documents of many ``${}``.

Whatever the input: an answer or an ``ExpressionError`` (never another exception), within the bound, and the
answer agrees with Python's backtracking engine wherever that engine is safe to run (short subjects)."""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.errors import ExpressionError
from workflows.expressions import Budget, EvaluationContext, process
from workflows.expressions.errors import MAX_DOCUMENT_STEPS
from workflows.expressions.jregex import java_matches, java_replace, java_split, translate

BOUND = timedelta(seconds=5)  # per example; a backtracking engine needs hours on the long subjects below

atoms = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", "\\w", "\\d", "x", "a?", "(?:a|b)", "(a|aa)", "()"])


def _grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    quantifiers = st.sampled_from(["*", "+", "?", "{1,3}", "{2}", "*?", "+?", ""])
    return st.one_of(
        st.tuples(children, children).map("".join),
        st.tuples(children, children).map(lambda t: f"{t[0]}|{t[1]}"),
        st.tuples(children, quantifiers).map(lambda t: f"({t[0]}){t[1]}"),
        st.tuples(children, quantifiers).map(lambda t: f"(?:{t[0]}){t[1]}"),
    )


#: patterns Python's re and RE2 read the same way (no features RE2 refuses)
plain_patterns = st.recursive(atoms, _grow, max_leaves=8)
#: anything, including what must be refused: lookaround, backreferences, possessive, broken syntax
hostile_patterns = st.one_of(
    plain_patterns,
    st.tuples(
        plain_patterns, st.sampled_from(["(?=a)", "(?<!b)", "\\1", "a++", "(?>a)", "(", ")", "[", "\\", "{2}"])
    ).map("".join),
    st.text(alphabet="ab()[]{}|*+?.^$\\-:=!<>&,0123456789kQEpPuxc", max_size=20),
)
short_subjects = st.text(alphabet="ab", max_size=8)
long_subjects = st.sampled_from(["a" * 9_000 + "!", "ab" * 4_000 + "c", "a" * 5_000 + "b" * 4_000 + "!", ""])


@settings(deadline=BOUND, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=hostile_patterns, subject=long_subjects)
def test_any_pattern_on_adversarial_subjects_answers_or_refuses_within_the_bound(pattern: str, subject: str) -> None:
    for call in (
        lambda: java_matches(subject, pattern, Budget()),
        lambda: java_split(subject, pattern, 0, Budget()),
        lambda: java_replace(subject, pattern, "-", False, Budget()),
    ):
        with contextlib.suppress(ExpressionError):  # a clear refusal is fine; any other exception is not
            call()


@settings(deadline=BOUND, max_examples=300)
@given(pattern=plain_patterns, subject=short_subjects)
def test_translation_agrees_with_a_backtracking_engine_on_short_subjects(pattern: str, subject: str) -> None:
    translate(pattern)  # everything in plain_patterns is accepted
    assert java_matches(subject, pattern) is (re.fullmatch(pattern, subject) is not None)
    if re.fullmatch(pattern, "") is None:  # after an empty match Java moves on a character; Python retries in place
        assert java_replace(subject, pattern, "-") == re.sub(pattern, "-", subject)


documents = st.lists(
    st.tuples(hostile_patterns, st.sampled_from(["long", "short"]), st.integers(0, 5)),
    min_size=1,
    max_size=40,
)
SHAPES = [
    "${{s} matches '{p}'}",
    "${{s}.replaceAll('{p}', 'x').length()}",
    "${{s}.split('{p}').size()}",
    "${{1,2,3,4,5,6,7,8,9,10}.![{1,2,3,4,5,6,7,8,9,10}.![#this * 2]].size()}",
    "${#toJson(#readJson('[' + long.length() + ']'))}",
    "${long.substring(0, 10) + (long.contains('b') ? 'b' : 'a')}",
]
ROOT: dict[str, Any] = {"long": "a" * 9_000 + "!", "short": "aab"}


@settings(deadline=BOUND, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=documents, repeat=st.integers(1, 30))
def test_a_document_of_many_expressions_stays_within_one_budget(
    pieces: list[tuple[str, str, int]], repeat: int
) -> None:
    texts = [
        SHAPES[shape].replace("{s}", name).replace("{p}", pattern.replace("'", "''")) for pattern, name, shape in pieces
    ]
    document = {"stage": {"values": texts * repeat, "joined": "-".join(texts)}}
    budget = Budget(MAX_DOCUMENT_STEPS)
    result = process(document, EvaluationContext(root=ROOT), budget)
    # one budget for the whole document: the work done never runs far past it (a tick may overshoot once)
    assert budget.steps <= MAX_DOCUMENT_STEPS + 20_000
    for entries in result.summary.values():
        for entry in entries:
            assert entry["level"] in ("ERROR", "INFO") and entry["description"]


HEAVY_ROOT: dict[str, Any] = {
    "long": "ab" * 4_500 + "!",
    "items": list(range(2_000)),
    "words": ["w" * 50] * 500,
    "bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"l{i}: &l{i} [" + ", ".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 10) + "]\n" for i in range(1, 9)),
}
heavy_leaves = st.sampled_from(
    ["long", "items", "words", "bomb", "'(a+)+$'", "'(a|ab)*c'", "'a'", "''", "1", "#this", "#root", "#readYaml(bomb)"]
)


def _heavy(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map(lambda t: f"{t[0]}.![{t[1]}]"),
        st.tuples(children, children).map(lambda t: f"{t[0]}.?[{t[1]} != null]"),
        st.tuples(children, children).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(children, children).map(lambda t: f"({t[0]} matches {t[1]})"),
        st.tuples(children, children).map(lambda t: f"{t[0]}.split({t[1]})"),
        st.tuples(children, children, children).map(lambda t: f"{t[0]}.replaceAll({t[1]}, {t[2]})"),
        st.tuples(children, st.sampled_from(["size()", "length()", "toString()", "toUpperCase()"])).map(
            lambda t: f"{t[0]}.{t[1]}"
        ),
        children.map(lambda c: f"#toJson({c})"),
        children.map(lambda c: f"#readJson(#toJson({c}))"),
        children.map(lambda c: f"#readYaml({c})"),
    )


heavy_expressions = st.recursive(heavy_leaves, _heavy, max_leaves=6)


@settings(deadline=BOUND, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(expressions=st.lists(heavy_expressions, min_size=1, max_size=8), repeat=st.integers(1, 20))
def test_heavy_random_expressions_end_within_the_bound(expressions: list[str], repeat: int) -> None:
    """Projections over thousands of items, regexes, JSON/YAML round trips, alias bombs: each document of them
    ends within the bound, with values or recorded failures, never another exception."""
    document = [f"${{{text}}}" for text in expressions] * repeat
    result = process(document, EvaluationContext(root=HEAVY_ROOT))
    assert len(result.value) == len(document)

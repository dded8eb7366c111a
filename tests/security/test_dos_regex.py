"""Regexes users write run in linear time (RE2 behind the Java translation): expression methods, webhook and
Jenkins payloadConstraints, git branch patterns. Patterns that make a backtracking engine run for hours on
these inputs end at once; features RE2 lacks are refused with an error naming the pattern.

The bounds below are not performance measurements: a backtracking engine needs more than 2**40 steps on
these inputs, so any finish within seconds shows the linear engine is in use."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from integrations.jenkins.triggers import constraints_met
from integrations.triggers.constraints import compile_pattern, payload_constraints_match
from integrations.triggers.events import make_event, match_event
from workflows.errors import ExpressionError
from workflows.expressions import EvaluationContext, evaluate
from workflows.expressions.jregex import java_matches, java_replace, java_split, pattern_error, translate

BOUND_S = 2.0
CATASTROPHIC = [
    "(a+)+$",
    "(a+)+b",
    "(a|aa)*c",
    "(a|a?)+b",
    "(.*a){25}x",
    "^(([a-z])+.)+[A-Z]([a-z])+$",
    "(\\w+\\s?)*$",
    "(x+x+)+y",
    "(?:a*)*b",
]
SUBJECT = "a" * 9_000 + "!"


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_finish_at_once_in_every_method(pattern: str) -> None:
    started = time.monotonic()
    assert java_matches(SUBJECT, pattern) is False
    small = re.sub(pattern, "-", "aaaaaa!")  # Python's backtracking engine, on a subject short enough for it
    assert java_replace(SUBJECT, pattern, "-") == small.replace("aaaaaa", "a" * 9_000)
    java_split(SUBJECT, pattern)
    ctx = EvaluationContext(root={"s": SUBJECT, "p": pattern})
    assert evaluate("s matches p", ctx) is False
    evaluate("s.replaceAll(p, 'x').length()", ctx)
    evaluate("s.split(p).size()", ctx)
    assert time.monotonic() - started < BOUND_S


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_constraints_and_branches_finish_at_once(pattern: str) -> None:
    big = "a" * 1_000_000 + "!"  # trigger payloads have no subject cap: RE2 needs none
    started = time.monotonic()
    assert payload_constraints_match({"text": pattern}, {"text": big}) is (re.search(pattern, "!") is not None)
    assert constraints_met({"payloadConstraints": {"text": pattern}}, {"text": big}) is (
        re.search(pattern, "!") is not None
    )
    payloads = Path(__file__).parents[1] / "integrations" / "triggers" / "payloads"
    branch = "a" * 50_000 + "!"
    body = (payloads / "github_push.json").read_text().replace('"refs/heads/main"', f'"refs/heads/{branch}"')
    trigger = {"type": "git", "enabled": True, "source": "github", "project": "example-org", "slug": "demo-service"}
    event = make_event("git", "github", body.encode(), {})
    result = match_event(event, [{"id": "p1", "triggers": [{**trigger, "branch": pattern}]}])
    assert result.matches == []
    assert time.monotonic() - started < BOUND_S


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        ("(a)\\1", "backreferences"),
        ("(?<n>a)\\k<n>", "backreferences"),
        ("a(?=b)", "lookahead and lookbehind"),
        ("a(?!b)", "lookahead and lookbehind"),
        ("(?<=a)b", "lookahead and lookbehind"),
        ("(?<!a)b", "lookahead and lookbehind"),
        ("(?>a+)b", "atomic groups"),
        ("a++b", "possessive"),
        ("a{2,}+", "possessive"),
        ("\\Ga", "\\G"),
        ("(?x) a", "inline flag 'x'"),
    ],
)
def test_features_re2_lacks_are_refused_naming_the_pattern(pattern: str, what: str) -> None:
    with pytest.raises(ExpressionError) as info:
        java_matches("ab", pattern)
    assert what in str(info.value) and repr(pattern) in str(info.value)
    assert pattern_error(pattern) == str(info.value)
    assert compile_pattern(pattern) is None  # triggers: a pattern that cannot be used never matches
    assert payload_constraints_match({"k": pattern}, {"k": "ab"}) is False


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("release-\\d+", "release-12", True),
        ("(?<v>\\d+)\\.(?<m>\\d+)", "1.2", True),
        ("\\Qa.b\\E", "a.b", True),
        ("\\Qa.b\\E", "axb", False),
        ("\\Q(\\E", "(", True),
        ("\\u0041", "A", True),
        ("\\0101", "A", True),
        ("\\cI", "\t", True),
        ("\\e", "\x1b", True),
        ("(?i)abc", "ABC", True),
        ("(?iu)abc", "ABC", True),
        ("(?u)x", "x", True),
        ("(?i:a)b", "Ab", True),
        ("(?i:a)b", "AB", False),
        ("[\\]a]+", "]a]", True),
        ("[^\\d]+", "abc", True),
        ("a.c", "a\nc", False),
        ("(?s)a.c", "a\nc", True),
        ("\\w+", "héllo", False),  # Java's \w is ASCII unless UNICODE_CHARACTER_CLASS: so is RE2's
        ("\\p{L}+", "héllo", True),
        ("x*?y", "xxy", True),
        ("a{2,3}", "aaa", True),
        ("a{2,3}", "aaaa", False),
    ],
)
def test_java_syntax_is_translated(pattern: str, subject: str, expected: bool) -> None:
    assert java_matches(subject, pattern) is expected


def test_translation_of_named_groups_and_replacements() -> None:
    assert translate("(?<year>\\d{4})") == "(?P<year>\\d{4})"
    assert java_replace("2024-05", "(?<y>\\d+)-(?<m>\\d+)", "${m}/$1") == "05/2024"
    assert java_replace("abxd", "x*", "-") == "-a-b--d-"  # Java's (and Perl's) empty-match rule
    assert java_split("a1b22c", "[0-9]+") == ["a", "b", "c"]
    assert java_split("abc", "", -1) == ["a", "b", "c", ""]


def test_subjects_with_unpaired_surrogates_are_an_error_not_a_crash() -> None:
    with pytest.raises(ExpressionError, match="surrogate"):
        java_matches("a\ud800", "a.")
    assert payload_constraints_match({"k": "a"}, {"k": "a\ud800"}) is False

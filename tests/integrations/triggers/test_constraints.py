"""``payloadConstraints``: regex *search* on top-level keys, JSONPath for the rest, Java's text for non-strings."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.triggers.constraints import java_str, payload_constraints_match, regex_full_match

FLAT = {"one": "one", "two": "two", "three": "three"}

# The shape of Echo's own ArtifactMatcherSpec payload, with our values.
NESTED: dict[str, Any] = {
    "one": {
        "test1": {
            "title": "test",
            "modified": ["folder1/file1.txt", "folder1/file2.txt", "folder2/file1.yml"],
            "isValid": True,
            "author": {"name": "edgar", "username": "edgar42"},
        },
        "test2": {
            "title": "another test",
            "changes": [{"id": 1, "value": "foo"}, {"id": 2, "value": "bar"}],
        },
    },
    "two": {"test3": {"count": 3, "ratio": 0.5, "ref": None, "isActive": False}},
    "release": {"version": "2.0.1", "env": "prod"},
    "nothing": None,
}


@pytest.mark.parametrize(
    ("constraints", "payload", "expected"),
    [
        ({}, FLAT, True),
        ({"one": "one"}, FLAT, True),
        ({"one": "o"}, FLAT, True),  # a search, not a full match
        ({"one": "^o$"}, FLAT, False),
        ({"one": "^one$", "two": "t.o"}, FLAT, True),
        ({"one": "one", "two": "nope"}, FLAT, False),  # every constraint must hold
        ({"four": "four"}, FLAT, False),  # missing key
        ({"one": None}, FLAT, True),  # no value: the key only has to be there
        ({"one": "[one,two"}, FLAT, False),  # a regex that does not compile never matches
        ({"one": ["uno", "one"]}, FLAT, True),  # Java prints the list as "[uno, one]": a character class
        ({"one": ["x", "y"]}, FLAT, False),
        ({"one": "['uno', 'one']"}, {"one": ["one"]}, True),
        ({"count": "^3$"}, {"count": 3}, True),  # numbers compare as their text
        ({"count": "^3.0$"}, {"count": 3.0}, True),  # ... a double prints as Java's Double.toString
        ({"flag": "^true$"}, {"flag": True}, True),
        ({"flag": "^True$"}, {"flag": True}, False),
        ({"tags": "^\\[a, b\\]$"}, {"tags": ["a", "b"]}, True),
        ({"obj": "^\\{k=v\\}$"}, {"obj": {"k": "v"}}, True),
        ({"nothing": ".*"}, NESTED, False),  # a null value counts as absent
        ({"n": "^3$"}, {"n": "3"}, True),
    ],
)
def test_top_level_keys(constraints: dict[str, Any], payload: dict[str, Any], expected: bool) -> None:
    assert payload_constraints_match(constraints, payload) is expected


@pytest.mark.parametrize(
    ("constraints", "expected"),
    [
        ({"$.one.test1.title": "st"}, True),
        ({"$.one.test2.title": "no match"}, False),
        ({"$.one.test1.isValid": "true"}, True),  # boolean
        ({"$.two.test3.count": "3"}, True),  # number
        ({"$.two.test3.ratio": "^0.5$"}, True),
        ({"$.two.test3.isActive": "false"}, True),
        ({"$.one.test1.modified": ".yml"}, True),  # a list of strings: any item may match
        ({"$.one.test1.modified": ".xml"}, False),
        ({"$.one.test1.author": "edgar"}, False),  # an object never matches
        ({"$.two.test2.changes": "bar"}, False),  # nor a missing path
        ({"$.one.test2.changes": "bar"}, False),  # nor a list of objects
        ({"$.one.test2.changes[*].value": "^bar$"}, True),  # but the strings inside it do
        ({"$..title": "^another"}, True),  # deep scan
        ({"$..title": "^zzz"}, False),
        ({"$.two.test3.ref": ".*"}, False),  # null
        ({"$.one.test2.changes[a].value": "bar"}, False),  # a bad path never matches
        ({"$.one.test1.title": "st", "$.one.test2.title": "no match"}, False),
        ({"release.version": "^2\\."}, True),  # a dotted key that is not a top-level key is a path
        ({"release.version": "^3\\."}, False),
        ({"$.release.env": None}, True),  # no value: the path only has to be there
        ({"$.release.missing": None}, False),
        ({"release": "env=prod"}, True),  # a top-level object is matched as Java prints it
    ],
)
def test_json_path_keys(constraints: dict[str, Any], expected: bool) -> None:
    assert payload_constraints_match(constraints, NESTED) is expected


def test_a_top_level_key_with_dots_wins_over_the_path() -> None:
    payload = {"a.b": "flat", "a": {"b": "nested"}}
    assert payload_constraints_match({"a.b": "^flat$"}, payload)
    assert payload_constraints_match({"$.a.b": "^nested$"}, payload)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (7, "7"),
        (3.0, "3.0"),
        (0.5, "0.5"),
        (1e20, "1.0E20"),
        (1.5e-5, "1.5E-5"),
        (12345678.0, "1.2345678E7"),
        (0.0, "0.0"),
        ("s", "s"),
        ([1, "a", None], "[1, a, null]"),
        ({"k": [1]}, "{k=[1]}"),
    ],
)
def test_java_str(value: Any, text: str) -> None:
    assert java_str(value) == text


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("main", "main", True),
        ("main", "main2", False),
        ("release/.*", "release/1.0", True),
        ("release/.*", "hotfix/release/1.0", False),
        ("ma", "main", False),
        ("(", "(", False),
    ],
)
def test_regex_full_match(pattern: str, text: str, expected: bool) -> None:
    assert regex_full_match(pattern, text) is expected

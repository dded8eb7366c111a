"""Spinnaker's field rules, one table per reader (core.fields)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.errors import FieldError, GennakerError
from core.fields import (
    boolean,
    duration,
    flag,
    integer,
    items,
    java_string,
    nonblank,
    number,
    parse_boolean,
    seconds,
    strings,
    text,
    truthy,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (None, False),
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("tRuE", True),  # Boolean.parseBoolean is case-insensitive; Jackson alone takes true/True/TRUE
        ("  true \n", True),
        ("false", False),
        ("", False),
        ("1", False),  # Jackson rejects "1" for a boolean and Boolean.parseBoolean("1") is false
        ("yes", False),
        ("on", False),
        ("t", False),
        (1, True),  # Jackson's scalar coercion: any integer but 0
        (-2, True),
        (0, False),
        (1.0, False),  # Jackson has no float-to-boolean coercion
        (0.5, False),
        ([True], False),
        ({"a": 1}, False),
    ],
)
def test_truthy_reads_a_boolean_field_as_orca_does(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("FALSE", False),
        (" false ", False),
        (None, None),
        ("", None),
        ("1", None),
        ("yes", None),
        (1, None),
        (0, None),
        ([], None),
    ],
)
def test_boolean_reads_strictly_and_leaves_the_error_to_the_caller(value: Any, expected: bool | None) -> None:
    assert boolean(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        (" true", False),  # Boolean.parseBoolean does not trim
        (1, False),  # String.valueOf(1) is "1"
        (0, False),
        (None, False),
        ("yes", False),
        (False, False),
    ],
)
def test_parse_boolean_is_javas(value: Any, expected: bool) -> None:
    assert parse_boolean(value) is expected


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [(None, True, True), (None, False, False), (False, True, False), ("true", False, True), ("no", True, False)],
)
def test_flag_takes_its_default_only_when_absent(value: Any, default: bool, expected: bool) -> None:
    assert flag(value, default) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", ""),
        (" a ", " a "),
        (True, "true"),
        (False, "false"),
        (8, "8"),
        (1.5, "1.5"),
        (1.0, "1.0"),
        (1e7, "1.0E7"),
        (1.5e-5, "1.5E-5"),
    ],
)
def test_text_reads_scalars_as_java_text(value: Any, expected: str | None) -> None:
    assert text(value) == expected


@pytest.mark.parametrize("value", [[], ["a"], {}, {"a": "b"}])
def test_text_refuses_objects_and_lists_naming_the_field(value: Any) -> None:
    with pytest.raises(FieldError, match="^branch: must be a string$") as caught:
        text(value, "branch")
    assert caught.value.field == "branch"
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, GennakerError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        ([1, "a", None], "[1, a, null]"),
        ({"a": [True]}, "{a=[true]}"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
        (0.001, "0.001"),
        (-123456789.0, "-1.23456789E8"),
    ],
)
def test_java_string_is_what_tostring_prints(value: Any, expected: str) -> None:
    assert java_string(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("x", "x"), ("  x  ", "x"), ("", None), ("   ", None), (None, None), (5, None), (["x"], None)],
)
def test_nonblank_counts_only_set_strings(value: Any, expected: str | None) -> None:
    assert nonblank(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        (2.5, 2.5),
        ("30", 30.0),
        (" 1.5 ", 1.5),
        ("-2", -2.0),
        (True, None),
        (False, None),
        (None, None),
        ("", None),
        ("abc", None),
        ("nan", None),
        (float("nan"), None),
        ([1], None),
    ],
)
def test_number_reads_numbers_and_numeric_strings(value: Any, expected: float | None) -> None:
    assert number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (-1, -1),
        (3.0, 3),
        (3.5, None),
        (" 42 ", 42),
        ("+7", 7),
        ("4.0", None),
        ("x", None),
        (True, None),
        (None, None),
    ],
)
def test_integer_reads_whole_numbers_only(value: Any, expected: int | None) -> None:
    assert integer(value) == expected


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [(30, 0.0, 30.0), ("45", 0.0, 45.0), ("1.5", 0.0, 1.5), (None, 0.0, 0.0), ("soon", 5.0, 5.0), (True, 0.0, 0.0)],
)
def test_seconds_falls_back_to_its_default(value: Any, default: float, expected: float) -> None:
    assert seconds(value, default) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (90, "seconds", timedelta(seconds=90)),
        ("2.5", "seconds", timedelta(seconds=2.5)),
        (1500, "milliseconds", timedelta(milliseconds=1500)),
        (None, "seconds", None),
        ("later", "seconds", None),
        (float("inf"), "seconds", None),
    ],
)
def test_duration_is_a_timedelta_in_the_fields_unit(value: Any, unit: str, expected: timedelta | None) -> None:
    assert duration(value, unit) == expected


def test_items_reads_a_list_field_and_refuses_a_single_value() -> None:
    assert items(None) == []
    assert items([1, "a"]) == [1, "a"]
    with pytest.raises(FieldError, match="^regions: must be a list, got str$"):
        items("us-east-1", "regions")


def test_strings_reads_each_item_as_text() -> None:
    assert strings(["us-east-1", 5, True, None]) == ["us-east-1", "5", "true"]
    assert strings(None) == []
    with pytest.raises(FieldError, match=r"^zones\[1\]: must be a string$"):
        strings(["a", {"b": 1}], "zones")

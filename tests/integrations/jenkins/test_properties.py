"""Property files (the stage's ``propertyFile``) as Igor reads them: Java properties, YAML, JSON."""

from __future__ import annotations

import pytest

from integrations.jenkins.properties import PropertyFileError, parse_java_properties, parse_property_file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("a=1\nb = 2\nc:3\nd 4\n", {"a": "1", "b": "2", "c": "3", "d": "4"}),
        ("# comment\n! also a comment\n\n   \nkey=value\n", {"key": "value"}),
        ("   indented = yes", {"indented": "yes"}),
        ("trailing=kept  ", {"trailing": "kept  "}),
        ("empty=\nbare\n", {"empty": "", "bare": ""}),
        ("a=1\na=2", {"a": "2"}),  # later keys win
        ("long = one \\\n    two \\\n    three", {"long": "one two three"}),
        ("end=\\\\", {"end": "\\"}),  # an even number of backslashes does not continue
        ("key\\ with\\ spaces = v", {"key with spaces": "v"}),
        ("a\\=b=c", {"a=b": "c"}),
        ("tab=a\\tb\\nc", {"tab": "a\tb\nc"}),
        ("unicode=caf\\u00e9", {"unicode": "café"}),
        ("url=https://example.com/x?y=1", {"url": "https://example.com/x?y=1"}),
        ("x = = y", {"x": "= y"}),
        ("#not = a comment \\\nnext=1", {"next": "1"}),  # comment lines do not continue
        ("a=1\r\nb=2\rc=3", {"a": "1", "b": "2", "c": "3"}),
        ("f=a\fb", {"f": "a\fb"}),  # a form feed is a blank, not a line break
    ],
)
def test_java_properties(text: str, expected: dict[str, str]) -> None:
    assert parse_java_properties(text) == expected


def test_malformed_unicode_escape_is_an_error() -> None:
    with pytest.raises(PropertyFileError, match=r"line 2: malformed \\uxxxx escape"):
        parse_java_properties("ok=1\nbad=\\u12")


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("build.properties", b"version=1.2.3\nimage=app:1.2.3\n", {"version": "1.2.3", "image": "app:1.2.3"}),
        ("build.properties", "name=caf\u00e9\n".encode(), {"name": "café"}),
        ("build.properties", "name=caf\u00e9\n".encode("latin-1"), {"name": "café"}),  # Java's encoding
        ("out.txt", b"a=1", {"a": "1"}),  # any other extension is a properties file
        (
            "build.yml",
            b"version: 1.2.3\ncount: 3\nnested: {a: [1, 2]}\n",
            {"version": "1.2.3", "count": 3, "nested": {"a": [1, 2]}},
        ),
        ("build.yaml", b"when: 2024-01-02\n1: one\n", {"when": "2024-01-02", "1": "one"}),
        ("build.yml", b"", {}),
        (
            "build.json",
            b'{"version": "1.2.3", "ok": true, "artifacts": [{"type": "docker/image"}]}',
            {"version": "1.2.3", "ok": True, "artifacts": [{"type": "docker/image"}]},
        ),
        ("build.json", b"  ", {}),
    ],
)
def test_property_files(name: str, data: bytes, expected: dict[str, object]) -> None:
    assert parse_property_file(name, data) == expected


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("build.yml", b"- a\n- b\n", "the YAML document must be a map of names to values, not a list"),
        ("build.yml", b"a: [1\n", "invalid YAML"),
        ("build.json", b"[1, 2]", "the JSON document must be a map of names to values, not a list"),
        ("build.json", b"{nope", "invalid JSON"),
        ("build.yml", b"!!python/object:os.system {}", "invalid YAML"),  # safe loading only
    ],
)
def test_invalid_property_files(name: str, data: bytes, message: str) -> None:
    with pytest.raises(PropertyFileError, match=message.replace("[", r"\[")):
        parse_property_file(name, data)

"""Unit tables for the request limits (api/limits.py): which limit a route gets, and how deep a JSON text
nests, counted without parsing or recursion."""

from __future__ import annotations

import json

import pytest

from api.limits import body_limit, json_depth
from core.settings.limits import RequestLimitSettings


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ("[]", 1),
        ('{"a": [1, {"b": [2]}]}', 4),
        ('"[[[[["', 0),  # brackets inside strings are text
        ('{"a": "x\\"[[[["}', 1),  # an escaped quote does not end the string
        ('{"a": "\\\\", "b": [[]]}', 3),  # an escaped backslash does
        ('[{"k": "]]]]"}, [[]]]', 3),
        ("[" * 1000 + "]" * 1000, 1000),
        (" \n[ [ ] ]", 2),
    ],
)
def test_json_depth(text: str, depth: int) -> None:
    assert json_depth(text.encode()) == depth


def test_json_depth_matches_the_parsed_document() -> None:
    doc: object = "leaf"
    for i in range(300):
        doc = {"k": [doc, "[{", i]} if i % 2 else [doc, {"]": "}"}]
    text = json.dumps(doc).encode()
    # 150 levels of {"k": [...]} (2 each), 150 lists, and the innermost {"]": "}"}
    assert json_depth(text) == 451


def test_json_depth_of_a_100k_deep_body_is_counted_without_recursion() -> None:
    assert json_depth(b"[" * 100_000 + b"]" * 100_000) == 100_000


@pytest.mark.parametrize(
    ("path", "limit", "setting"),
    [
        ("/pipelines", 2 * 1024 * 1024, "request_limits.max_body_bytes"),
        ("/webhooks/webhook/ci", 5 * 1024 * 1024, "request_limits.webhook_max_body_bytes"),
        ("/webhooks/git/github", 5 * 1024 * 1024, "request_limits.webhook_max_body_bytes"),
        ("/pipelines/bulksave", 20_000_000, "request_limits.route_max_body_bytes['/pipelines/bulk']"),
        ("/pipelines/bulkother", 20_000_000, "request_limits.route_max_body_bytes['/pipelines/bulk']"),
        ("/pipelines/bulksave/x", 30_000_000, "request_limits.route_max_body_bytes['/pipelines/bulksave/']"),
    ],
)
def test_the_route_limit_is_the_longest_matching_prefix(path: str, limit: int, setting: str) -> None:
    settings = RequestLimitSettings(
        route_max_body_bytes={"/pipelines/bulk": 20_000_000, "/pipelines/bulksave/": 30_000_000}
    )
    assert body_limit(settings, path) == (limit, setting)

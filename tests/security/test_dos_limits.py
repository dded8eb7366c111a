"""Unit tables for the request limits (api/limits.py): which limit a route gets, and how deep a JSON text
nests, counted without parsing or recursion."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
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


@pytest.mark.parametrize(("limit", "status"), [(None, 413), (8 * 1024 * 1024, 200)])
async def test_the_webhook_limit_setting_is_the_only_webhook_limit(
    tmp_path: Path, limit: int | None, status: int
) -> None:
    """A 6 MiB webhook payload: over the default ``webhook_max_body_bytes`` (5 MiB), accepted once an operator raises
    it (the webhook route had a 5 MiB check of its own, so raising the setting changed nothing)."""
    from api.main import create_app
    from core.settings import Settings
    from core.store import Store

    limits = {} if limit is None else {"webhook_max_body_bytes": limit}
    settings = Settings(state_dir=tmp_path, request_limits=limits)
    store = Store(settings.store_url)
    store.migrate()
    try:
        app = create_app(settings, temporal=object(), store=store)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gate") as http:
            answer = await http.post("/webhooks/webhook/big", json={"blob": "x" * (6 * 1024 * 1024)})
    finally:
        store.close()
    assert answer.status_code == status, answer.text[:300]
    if status == 413:
        assert "request_limits.webhook_max_body_bytes" in answer.json()["message"]
    else:
        assert answer.json()["eventId"]

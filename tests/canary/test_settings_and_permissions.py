"""``canary.accounts`` from the environment, and Fiat's checks on canary configs and runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from core.settings import load_settings, masked_dict
from tests.api.permissions_world import serve_world


def test_accounts_from_the_environment_keep_their_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = [
        {"name": "prom", "base_url": "http://127.0.0.1:9090/", "bearer_token": "s3cret-token"},
        {"name": "other", "base_url": "https://p.example", "username": "u", "password": "s3cret-pw"},
    ]
    monkeypatch.setenv("GENNAKER_CANARY__ACCOUNTS", json.dumps(accounts))
    settings = load_settings()
    assert [a.name for a in settings.canary.accounts] == ["prom", "other"]
    assert settings.canary.account(None).name == "prom"
    assert settings.canary.account("prom").connection()["bearer_token"] == "s3cret-token"
    assert settings.canary.account("prom").base_url == "http://127.0.0.1:9090"
    shown = json.dumps(masked_dict(settings))
    assert "s3cret" not in shown and "s3cret" not in repr(settings.canary)
    with pytest.raises(LookupError, match="Unable to resolve account nope."):
        settings.canary.account("nope")


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ([{"name": "a", "base_url": "ftp://x"}], "base_url must be an http"),
        ([{"name": "a", "base_url": "http://x"}, {"name": "a", "base_url": "http://y"}], "must be unique: a"),
        ([{"name": "a", "base_url": "http://x", "bearer_token": "t", "username": "u"}], "either bearer_token"),
        ([{"name": "a", "base_url": "http://x", "type": "datadog"}], "prometheus"),
    ],
)
def test_bad_accounts_are_refused(monkeypatch: pytest.MonkeyPatch, accounts: Any, message: str) -> None:
    monkeypatch.setenv("GENNAKER_CANARY__ACCOUNTS", json.dumps(accounts))
    with pytest.raises((ValidationError, ValueError), match=message):
        load_settings()


@pytest.mark.temporal
async def test_listings_show_only_readable_configs_and_runs(client: Any, tmp_path: Any) -> None:
    async with serve_world(client, tmp_path) as world:
        canary = world.store.canary
        locked = canary.create_config({"name": "l", "applications": ["locked"], "metrics": []})
        free = canary.create_config({"name": "f", "applications": ["free"], "metrics": []})
        both = canary.create_config({"name": "b", "applications": ["free", "locked"], "metrics": []})
        seen = (await world.call("anonymous", "GET", "/v2/canaryConfig")).json()
        assert {c["id"] for c in seen} == {free["id"], both["id"]}
        seen = (await world.call("reader", "GET", "/v2/canaryConfig")).json()
        assert {c["id"] for c in seen} == {locked["id"], free["id"], both["id"]}
        assert (await world.call("anonymous", "GET", f"/v2/canaryConfig/{both['id']}")).status_code == 200
        # saving a config of two applications needs WRITE on both
        body = {"name": "b", "applications": ["free", "locked"], "metrics": []}
        refused = await world.call("anonymous", "PUT", f"/v2/canaryConfig/{both['id']}", body)
        assert refused.status_code == 403 and "locked" in refused.json()["message"]
        assert (await world.call("writer", "PUT", f"/v2/canaryConfig/{both['id']}", body)).status_code == 200

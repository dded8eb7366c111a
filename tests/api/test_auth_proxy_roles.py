"""A trusted proxy's user header, the roles file, admin roles, and Front50's service accounts routes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from api.auth import tokens
from core.settings import Settings
from tests.api.auth_support import auth_api, bearer

PROXY = {"user_header": "X-Forwarded-User", "roles_header": "X-Forwarded-Groups", "email_header": "X-Forwarded-Email"}
HEADERS = {"X-Forwarded-User": "Mallory", "X-Forwarded-Groups": "ops, dev", "X-Forwarded-Email": "m@example.com"}


@pytest.mark.parametrize("trusted", [["10.0.0.7"], ["10.0.0.0/24"], ["192.168.1.1", "10.0.0.0/8"]])
async def test_proxy_header_from_a_trusted_address(tmp_path: Path, trusted: list[str]) -> None:
    async with auth_api(tmp_path, peer="10.0.0.7", proxy={**PROXY, "trusted_addresses": trusted}) as api:
        user = (await api.http.get("/auth/user", headers=HEADERS)).json()
        assert user["username"] == "mallory" and user["roles"] == ["dev", "ops"] and user["email"] == "m@example.com"
        assert user["authenticated"] is True


async def test_proxy_header_from_anyone_else_is_ignored_and_logged_without_its_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with auth_api(tmp_path, peer="203.0.113.9", proxy={**PROXY, "trusted_addresses": ["10.0.0.0/8"]}) as api:
        user = (await api.http.get("/auth/user", headers=HEADERS)).json()
        assert user["username"] == "anonymous" and user["roles"] == []
        assert "ignoring the X-Forwarded-User header from 203.0.113.9" in caplog.text
        assert "Mallory" not in caplog.text and "mallory" not in caplog.text
        # a bearer token still works from there
        token, _ = tokens.issue(api.store, "bob", [], expires=None, by="cli")
        assert (await api.http.get("/auth/user", headers={**HEADERS, **bearer(token)})).json()["username"] == "bob"


async def test_no_trusted_addresses_means_never_trusted(tmp_path: Path) -> None:
    async with auth_api(tmp_path, peer="127.0.0.1", proxy=PROXY) as api:
        assert (await api.http.get("/auth/user", headers=HEADERS)).json()["username"] == "anonymous"


def test_bad_trusted_address_is_a_settings_error_naming_it() -> None:
    with pytest.raises(ValidationError, match="'ten.0.0.1' is not an IP address or CIDR"):
        Settings.model_validate({"auth": {"proxy": {"trusted_addresses": ["ten.0.0.1"]}}})


async def test_roles_file_adds_roles_to_every_way_in_and_follows_edits(tmp_path: Path) -> None:
    roles = tmp_path / "roles.yml"
    roles.write_text("users:\n  - username: Bob\n    roles: [Dev]\n  - username: mallory\n    roles: [admins]\n")
    settings: dict[str, Any] = {
        "roles_file": str(roles),
        "admin_roles": ["ADMINS"],
        "proxy": {**PROXY, "trusted_addresses": ["::1"]},
    }
    async with auth_api(tmp_path, **settings) as api:
        token, _ = tokens.issue(api.store, "bob", ["qa"], expires=None, by="cli")
        user = (await api.http.get("/auth/user", headers=bearer(token))).json()
        assert user["roles"] == ["dev", "qa"] and user["admin"] is False
        roles.write_text("users:\n  - username: bob\n    roles: [dev, admins, extra-role]\n")
        user = (await api.http.get("/auth/user", headers=bearer(token))).json()
        assert user["roles"] == ["admins", "dev", "extra-role", "qa"] and user["admin"] is True
    async with auth_api(tmp_path / "p", peer="::1", **settings) as api:
        user = (await api.http.get("/auth/user", headers={"X-Forwarded-User": "Bob"})).json()
        assert user["roles"] == ["admins", "dev", "extra-role"]


async def test_roles_stored_by_an_admin_join_every_way_in(tmp_path: Path) -> None:
    """Fiat's PUT /roles/{user}: roles kept in the store for a user, added to its credential's roles."""
    settings: dict[str, Any] = {"admin_roles": ["admins"], "proxy": {**PROXY, "trusted_addresses": ["::1"]}}
    async with auth_api(tmp_path, **settings) as api:
        root, _ = tokens.issue(api.store, "root", ["admins"], expires=None, by="cli")
        bob, _ = tokens.issue(api.store, "bob", ["qa"], expires=None, by="cli")
        assert (await api.http.put("/roles/bob", json=["release"])).status_code == 401
        assert (await api.http.put("/roles/bob", json=["release"], headers=bearer(bob))).status_code == 403
        put = await api.http.put("/roles/Bob", json=["Release", "dev"], headers=bearer(root))
        assert put.status_code == 200 and put.json()["roles"] == ["dev", "release"], put.text
        assert put.json()["lastModifiedBy"] == "root"
        bad = await api.http.put("/roles/bob", json={"roles": "dev"}, headers=bearer(root))
        assert bad.status_code == 400 and bad.json()["field"] == "roles"
        stored = await api.http.get("/roles/bob", headers=bearer(root))
        assert stored.json() == {"name": "bob", "roles": ["dev", "release"]}
        assert (await api.http.get("/roles/bob", headers=bearer(bob))).status_code == 403
        user = (await api.http.get("/auth/user", headers=bearer(bob))).json()
        assert user["roles"] == ["dev", "qa", "release"]
        other = (await api.http.get("/authorize/bob", headers=bearer(root))).json()
        assert sorted(r["name"] for r in other["roles"]) == ["dev", "release"]
        assert (await api.http.delete("/roles/bob", headers=bearer(root))).status_code == 200
        assert (await api.http.delete("/roles/bob", headers=bearer(root))).status_code == 404
        assert (await api.http.get("/auth/user", headers=bearer(bob))).json()["roles"] == ["qa"]
    async with auth_api(tmp_path / "p", peer="::1", **settings) as api:
        api.store.user_roles.put("carol", ["ops"], "root")
        user = (await api.http.get("/auth/user", headers={"X-Forwarded-User": "carol"})).json()
        assert user["roles"] == ["ops"]


async def test_broken_roles_file_is_a_503_not_a_500(tmp_path: Path) -> None:
    roles = tmp_path / "roles.yml"
    roles.write_text("users: {not: a list}\n")
    async with auth_api(tmp_path, roles_file=str(roles)) as api:
        token, _ = tokens.issue(api.store, "bob", [], expires=None, by="cli")
        answer = await api.http.get("/auth/user", headers=bearer(token))
        assert answer.status_code == 503 and "roles file" in answer.json()["message"]
        roles.unlink()
        assert (await api.http.get("/auth/user", headers=bearer(token))).status_code == 503


async def test_service_accounts_routes(tmp_path: Path) -> None:
    async with auth_api(tmp_path, admin_roles=["admins"]) as api:
        root, _ = tokens.issue(api.store, "root", ["admins"], expires=None, by="cli")
        dev, _ = tokens.issue(api.store, "dana", ["dev"], expires=None, by="cli")
        both, _ = tokens.issue(api.store, "olga", ["dev", "ops"], expires=None, by="cli")
        doc = {"name": "Deploy@SVC", "memberOf": ["dev", "ops"]}
        assert (await api.http.post("/serviceAccounts", json=doc)).status_code == 401
        assert (await api.http.post("/serviceAccounts", json=doc, headers=bearer(dev))).status_code == 403
        saved = await api.http.post("/serviceAccounts", json=doc, headers=bearer(root))
        assert saved.status_code == 200 and saved.json()["name"] == "deploy@svc"
        for extra in ({"name": "dev-only", "memberOf": ["dev"]}, {"name": "nobody", "memberOf": []}):
            assert (await api.http.post("/serviceAccounts", json=extra, headers=bearer(root))).status_code == 200
        bad = await api.http.post("/serviceAccounts", json={"name": "x", "memberOf": "ops"}, headers=bearer(root))
        assert bad.status_code == 400 and bad.json()["field"] == "memberOf"
        listed = (await api.http.get("/serviceAccounts", headers=bearer(root))).json()
        assert [a["name"] for a in listed] == ["deploy@svc", "dev-only", "nobody"]
        assert (await api.http.get("/serviceAccounts", headers=bearer(dev))).status_code == 403

        mine = "/auth/user/serviceAccounts"
        assert (await api.http.get(mine, headers=bearer(root))).json() == ["deploy@svc", "dev-only", "nobody"]
        assert (await api.http.get(mine, headers=bearer(dev))).json() == ["dev-only"]  # Fiat: all roles needed
        assert (await api.http.get(mine, headers=bearer(both))).json() == ["deploy@svc", "dev-only"]
        assert (await api.http.get(mine)).json() == []

        assert (await api.http.delete("/serviceAccounts/dev-only", headers=bearer(dev))).status_code == 403
        assert (await api.http.delete("/serviceAccounts/DEV-ONLY", headers=bearer(root))).status_code == 200
        assert (await api.http.delete("/serviceAccounts/dev-only", headers=bearer(root))).status_code == 404
        assert api.store.service_accounts.all()[0]["name"] == "deploy@svc"


async def test_service_accounts_or_mode_and_auth_off(tmp_path: Path) -> None:
    async with auth_api(tmp_path / "or", service_account_or_mode=True) as api:
        api.store.service_accounts.save({"name": "deploy@svc", "memberOf": ["dev", "ops"]})
        dev, _ = tokens.issue(api.store, "dana", ["dev"], expires=None, by="cli")
        assert (await api.http.get("/auth/user/serviceAccounts", headers=bearer(dev))).json() == ["deploy@svc"]
    async with auth_api(tmp_path / "off", enabled=False) as api:
        assert (await api.http.post("/serviceAccounts", json={"name": "a", "memberOf": ["x"]})).status_code == 200
        assert (await api.http.get("/auth/user/serviceAccounts")).json() == ["a"]
        assert [a["name"] for a in (await api.http.get("/serviceAccounts")).json()] == ["a"]


async def test_a_trusted_proxy_header_wins_over_a_bearer_token(tmp_path: Path) -> None:
    async with auth_api(tmp_path, peer="10.0.0.7", proxy={**PROXY, "trusted_addresses": ["10.0.0.7"]}) as api:
        token, _ = tokens.issue(api.store, "bob", [], expires=None, by="cli")
        user = (await api.http.get("/auth/user", headers={**HEADERS, **bearer(token)})).json()
        assert user["username"] == "mallory"
        assert (await api.http.get("/auth/user", headers=bearer(token))).json()["username"] == "bob"

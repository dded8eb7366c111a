"""Attacks on who the caller is (auth on), over HTTP: forged forwarded headers, credentials minted while
authentication was off, tokens in log lines; and that changes of roles and tokens are audited."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.auth import tokens
from tests.api.auth_support import auth_api, bearer

PROXY = {"user_header": "X-Forwarded-User", "roles_header": "X-Forwarded-Groups"}
FORGED = {"X-Forwarded-For": "10.1.2.3", "X-Forwarded-User": "root", "X-Forwarded-Groups": "admins"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def served_by_uvicorn(app: Any, **options: Any) -> AsyncIterator[str]:
    """The app behind a real uvicorn on 127.0.0.1, started as gennaker/localstack.py starts it."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_a_local_process_cannot_pose_as_the_trusted_proxy_through_uvicorn(tmp_path: Path) -> None:
    """A webhook stage on the API's machine sends X-Forwarded-For naming a proxy address plus the proxy's user
    header: uvicorn (started as Gennaker starts it) does not rewrite the peer, and the header is ignored."""
    from api.auth.forwarded import uvicorn_options

    async with auth_api(tmp_path, admin_roles=["admins"], proxy={**PROXY, "trusted_addresses": ["10.0.0.0/8"]}) as api:
        app = api.http._transport.app  # type: ignore[attr-defined]
        async with served_by_uvicorn(app, **uvicorn_options()) as base, httpx.AsyncClient(base_url=base) as http:
            me = (await http.get("/auth/user", headers=FORGED)).json()
            assert me["username"] == "anonymous" and me["admin"] is False
            refused = await http.post("/auth/tokens", json={"user": "evil", "roles": ["admins"]}, headers=FORGED)
            assert refused.status_code == 401, refused.text
            assert "admins" in refused.json()["message"]
            event = await _recorded(api.store, "token.issue")
            assert event["remoteAddress"] == "127.0.0.1"  # the real peer, not the forged one


async def _recorded(store: Any, action: str) -> dict[str, Any]:
    """The audit event, once the middleware has written it (after the answer went out)."""
    for _ in range(500):
        found = store.audit.query({"action": action}, 1)
        if found:
            return found[0]  # type: ignore[no-any-return]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {action} event recorded")


async def test_forwarded_headers_count_only_from_a_configured_proxy(tmp_path: Path) -> None:
    settings = {"admin_roles": ["admins"], "proxy": {**PROXY, "trusted_addresses": ["10.0.0.0/8"]}}
    async with auth_api(tmp_path, peer="127.0.0.1", **settings) as api:
        forged = await api.http.put("/roles/x", json=["a"], headers=FORGED)
        assert forged.status_code == 401
        assert api.store.audit.query({"action": "roles.save"}, 1)[0]["remoteAddress"] == "127.0.0.1"
    async with auth_api(tmp_path / "p", peer="10.0.0.5", **settings) as api:
        honest = {
            "X-Forwarded-For": "198.51.100.7, 10.0.0.9",
            "X-Forwarded-User": "ada",
            "X-Forwarded-Groups": "admins",
        }
        saved = await api.http.put("/roles/x", json=["a"], headers=honest)
        assert saved.status_code == 200, saved.text
        event = api.store.audit.query({"action": "roles.save"}, 1)[0]
        assert event["principal"] == "ada" and event["remoteAddress"] == "198.51.100.7"


async def test_a_forwarded_address_of_a_proxy_never_makes_the_peer_trusted(tmp_path: Path) -> None:
    """The proxy's user header is honoured only over a connection from a proxy, whatever X-Forwarded-For says."""
    async with auth_api(tmp_path, peer="203.0.113.9", proxy={**PROXY, "trusted_addresses": ["10.0.0.0/8"]}) as api:
        me = (await api.http.get("/auth/user", headers={**FORGED, "X-Forwarded-For": "10.0.0.1"})).json()
        assert me["username"] == "anonymous"


async def test_a_token_issued_while_auth_was_off_grants_nothing_once_it_is_on(tmp_path: Path) -> None:
    async with auth_api(tmp_path, enabled=False) as off:
        issued = await off.http.post("/auth/tokens", json={"user": "mallory", "roles": ["admins"]})
        assert issued.status_code == 201
        token = issued.json()["token"]
        assert (await off.http.put("/roles/mallory", json=["admins"])).status_code == 200
    async with auth_api(tmp_path, admin_roles=["admins"]) as on:
        refused = await on.http.get("/auth/user", headers=bearer(token))
        assert refused.status_code == 401
        assert "issued while authentication was off" in refused.json()["message"]
        assert token not in refused.text
        # a token an admin issues with auth on works; the roles stored while it was off are not added to it
        good, _ = tokens.issue(on.store, "mallory", [], expires=None, by="cli")
        me = (await on.http.get("/auth/user", headers=bearer(good))).json()
        assert me["username"] == "mallory" and me["roles"] == [] and me["admin"] is False
        assert (await on.http.get("/audit", headers=bearer(good))).status_code == 403
        # stored again by an admin with auth on, they count
        admin, _ = tokens.issue(on.store, "root", ["admins"], expires=None, by="cli")
        assert (await on.http.put("/roles/mallory", json=["admins"], headers=bearer(admin))).status_code == 200
        assert (await on.http.get("/auth/user", headers=bearer(good))).json()["admin"] is True


async def test_changes_of_roles_and_tokens_are_audited(tmp_path: Path) -> None:
    async with auth_api(tmp_path, admin_roles=["admins"]) as api:
        admin, _ = tokens.issue(api.store, "root", ["admins"], expires=None, by="cli")
        assert (await api.http.put("/roles/alice", json=["dev", "ops"], headers=bearer(admin))).status_code == 200
        assert (await api.http.delete("/roles/alice", headers=bearer(admin))).status_code == 200
        denied = await api.http.put("/roles/bob", json=["admins"])
        assert denied.status_code == 401
        issued = await api.http.post("/auth/tokens", json={"user": "ci", "roles": ["dev"]}, headers=bearer(admin))
        assert issued.status_code == 201
        events = {(e["action"], e["resourceName"], e["outcome"]): e for e in api.store.audit.query({}, 100)}
        assert events[("roles.save", "alice", "success")]["detail"] == "roles=dev,ops"
        assert events[("roles.save", "alice", "success")]["principal"] == "root"
        assert ("roles.delete", "alice", "success") in events
        assert ("roles.save", "bob", "denied") in events
        token_event = events[("token.issue", issued.json()["id"], "success")]
        assert token_event["detail"] == "owner=ci; roles=dev"
        assert issued.json()["token"] not in str(api.store.audit.query({}, 100))


def test_the_cli_audits_the_tokens_it_issues_and_revokes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from api.auth.cli import run
    from core.settings import Settings
    from core.store import Store

    settings = Settings.model_validate({"state_dir": tmp_path})
    issue = argparse.Namespace(
        auth_command="token",
        token_command="issue",
        user="root",
        roles=["admins"],
        expires=None,
        description=None,
        output="json",
    )
    assert run(issue, settings) == 0
    import json

    record = json.loads(capsys.readouterr().out)
    revoke = argparse.Namespace(auth_command="token", token_command="revoke", id=record["id"], output="json")
    assert run(revoke, settings) == 0
    store = Store(settings.store_url)
    try:
        actions = [(e["action"], e["resourceName"], e["principal"]) for e in store.audit.query({}, 10)]
    finally:
        store.close()
    assert ("token.issue", record["id"], "cli") in actions and ("token.revoke", record["id"], "cli") in actions


async def test_no_token_appears_in_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with auth_api(tmp_path, admin_roles=["admins"]) as api:
        admin, record = tokens.issue(api.store, "root", ["admins"], expires=None, by="cli")
        assert (await api.http.get("/auth/user", headers=bearer(admin))).status_code == 200
        issued = (await api.http.post("/auth/tokens", json={"user": "ci"}, headers=bearer(admin))).json()["token"]
        await api.http.delete(f"/auth/tokens/{record['id']}", headers=bearer(admin))
        for credential in (admin, "gnk_" + "x" * 43, "not-a-token", "a.b.c"):
            refused = await api.http.get("/auth/user", headers=bearer(credential))
            assert refused.status_code == 401 and credential not in refused.text
    assert "refused credentials" in caplog.text  # the refusals were logged ...
    for secret in (admin, issued, "gnk_" + "x" * 43, "not-a-token"):
        assert secret not in caplog.text  # ... without the credentials


def test_every_uvicorn_gennaker_starts_leaves_forwarded_headers_to_the_api() -> None:
    """`make run` (gennaker up) and the local stack start uvicorn without its own proxy-header handling, which
    would believe X-Forwarded-For from 127.0.0.1 before the API could check the peer."""
    import inspect

    from core.settings import Settings
    from gennaker import cli, localstack

    command = cli.api_command(Settings())
    assert command is not None and "--no-proxy-headers" in command
    assert "proxy_headers=False" in inspect.getsource(localstack.ServedApi)


async def test_authorize_shows_the_build_services_one_may_use(tmp_path: Path) -> None:
    services = {"ci": {"READ": ["dev", "ops"], "WRITE": ["ops"]}, "release": {"READ": ["ops"]}}
    async with auth_api(tmp_path, admin_roles=["admins"], build_services=services) as api:
        dev, _ = tokens.issue(api.store, "dora", ["dev"], expires=None, by="cli")
        view = (await api.http.get("/authorize/dora", headers=bearer(dev))).json()
        assert view["buildServices"] == [{"name": "ci", "authorizations": ["READ"]}]

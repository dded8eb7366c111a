"""Sign in through the UI with authentication on, in Chromium against the real stack: OpenID Connect's code flow
(PKCE) against a stand-in identity provider through the UI server, who you are and what you may do, Sign out, and
a pasted API token; the session cookie is HttpOnly and SameSite=Strict, and the proxy refuses another site's
request that would ride on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from tests.ui.conftest import Deck
from tests.ui.oidc_standin import AUDIENCE, OidcStandIn

pytestmark = pytest.mark.temporal


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcStandIn]:
    standin = OidcStandIn()
    yield standin
    standin.close()


@pytest.fixture(scope="module")
def signin_deck(
    temporal_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
    payload_settings: dict[str, Any],
    idp: OidcStandIn,
) -> Iterator[Deck]:
    """One stack for the module (starting Gate and its worker is the slow part): the tests sign in apart."""
    from core.settings import Settings
    from core.store import Store
    from gennaker.localstack import ServedApi, free_port
    from ui.server import ServedUi, ui_auth

    settings = Settings.model_validate(
        {
            "state_dir": tmp_path_factory.mktemp("signin"),
            "task_queue": f"ui-{uuid.uuid4()}",
            "temporal": {"address": temporal_env.client.service_client.config.target_host},
            "payloads": payload_settings,
            "auth": {"enabled": True, "admin_roles": ["admins"], "oidc": [{"issuer": idp.url, "audience": AUDIENCE}]},
        }
    )
    store = Store(settings.store_url)
    store.migrate()
    store.applications.save(
        {"name": "vault", "email": "v@x.y", "permissions": {"READ": ["devs", "ops"], "EXECUTE": ["devs"]}}, "setup"
    )
    with ServedApi(settings, store) as api, ServedUi(api.url, port=free_port(), **ui_auth(settings)) as ui:
        yield Deck(ui.url, api.url, store)
    store.close()


async def test_sign_in_with_oidc_see_what_you_may_do_and_sign_out(
    signin_deck: Deck, idp: OidcStandIn, browser: Browser
) -> None:
    deck = signin_deck
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    try:
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{deck.url}/#/applications/vault/executions")
        await expect(page.locator("#who")).to_have_text("anonymous")
        await page.get_by_role("button", name="Sign in").click()
        host = idp.url.removeprefix("http://")
        await page.get_by_role("link", name=f"Sign in with {host}").click()
        # through the identity provider and the UI's /auth/callback, back to the page the sign-in started on
        await expect(page.locator("#who")).to_have_text("Signed in as alice", timeout=10_000)
        await expect(page).to_have_url(f"{deck.url}/#/applications/vault/executions")
        await expect(page.get_by_role("button", name="Start Manual Execution")).to_have_count(0)  # no pipelines
        await expect(page.get_by_role("heading", name="vault")).to_be_visible()

        await page.get_by_role("button", name="Permissions").click()
        panel = page.get_by_role("group", name="What you may do")
        await expect(panel).to_contain_text("Roles: devs")
        await expect(panel.get_by_role("row", name="vault")).to_contain_text("EXECUTE")

        cookie = next(c for c in await context.cookies() if c["name"] == "gennaker_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert await page.evaluate("document.cookie.includes('gennaker_session')") is False
        # the live stream (EventSource sends no headers) rides on the session too
        await expect(page.locator(".live")).to_have_text("live", timeout=10_000)

        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=10_000)
        await expect(page.locator("#who")).to_have_text("anonymous")
        assert not [c for c in await context.cookies() if c["name"] == "gennaker_session"]
    finally:
        await context.close()
    assert errors == []
    assert idp.refused_pkce == 0


async def test_sign_in_with_an_api_token(signin_deck: Deck, browser: Browser) -> None:
    from api.auth import tokens

    deck = signin_deck
    token, _ = tokens.issue(deck.store, "bob", ["ops"], expires="1h", by="cli")
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = await context.new_page()
        await page.goto(f"{deck.url}/#/applications")
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_label("API token").fill("gnk_not-a-token")
        await page.get_by_role("button", name="Use token").click()
        await expect(page.locator("#notice")).to_contain_text("401", timeout=10_000)
        await page.get_by_label("API token").fill(token)
        await page.get_by_role("button", name="Use token").click()
        await expect(page.locator("#who")).to_have_text("Signed in as bob", timeout=10_000)
        await page.get_by_role("button", name="Permissions").click()
        await expect(page.get_by_role("group", name="What you may do")).to_contain_text("Roles: ops")
    finally:
        await context.close()


async def test_the_proxy_sends_the_session_to_gate_for_the_ui_s_own_pages_only(
    signin_deck: Deck, idp: OidcStandIn
) -> None:
    deck = signin_deck
    token = idp.token(nonce="n")
    async with httpx.AsyncClient(base_url=deck.url, timeout=30) as http:
        signed = await http.post("/auth/token", json={"token": token})
        assert signed.status_code == 200 and signed.json()["username"] == "alice"
        assert "gennaker_session" in http.cookies
        me = await http.get("/gate/auth/user")
        assert me.json()["username"] == "alice"
        # a request from another site that would ride on the cookie is refused before it reaches Gate
        forged = await http.post(
            "/gate/applications/vault/tasks", json={"job": []}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403 and "another site" in forged.json()["message"]
        # a bad callback: no sign-in was started with this state
        stray = await http.get("/auth/callback", params={"code": "x", "state": "nope"})
        assert stray.status_code == 400 and "not started here" in stray.text
        refused = await http.get("/auth/callback", params={"error": "access_denied"})
        assert refused.status_code == 401 and "access_denied" in refused.text
        await http.post("/auth/signout")
        assert "gennaker_session" not in http.cookies
        assert (await http.get("/gate/auth/user")).json()["authenticated"] is False
        # a sign-in never sends the browser to another site afterwards
        started = await http.get("/auth/signin", params={"next": "https://evil.example/"})
        state = httpx.URL(started.headers["location"]).params["state"]
        assert started.status_code == 302 and started.headers["location"].startswith(idp.url + "/authorize")
        at_idp = await http.get(started.headers["location"])  # signs alice in at once, back to the callback
        code = httpx.URL(at_idp.headers["location"]).params["code"]
        back = await http.get("/auth/callback", params={"code": code, "state": state})
        assert back.status_code == 302 and back.headers["location"] == "./../#/applications"
        assert (await http.get("/gate/auth/user")).json()["username"] == "alice"

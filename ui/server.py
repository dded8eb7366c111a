"""The UI's server: the static pages (``ui/static``) and a same-origin proxy to Gate under ``/gate``.

Why a proxy and not CORS: the pages and the API then share one origin, so Gate's session cookie, its CSRF rules and
an ``Authorization`` header reach the API exactly as from any other client, and the API needs no CORS settings.
The proxy streams both ways (server-sent events pass through as they are written) and forwards every method, query
and header except the hop-by-hop ones. ``python -m ui.server`` is what ``gennaker up`` runs (docs/ui.md).

Sign-in (``/auth/*``, docs/ui.md "Sign in"): the API takes bearer credentials only (docs/auth.md), so this server is
the browser's side of it. ``/auth/signin`` runs OpenID Connect's authorization code flow with PKCE against an
``auth.oidc`` issuer (the API's ``audience`` is the client id; the redirect URI is this server's ``/auth/callback``),
exchanges the code for the ID token, checks Gate accepts it, and keeps it in an HttpOnly, SameSite=Strict session
cookie on the UI's origin; ``/auth/token`` does the same for an API token pasted by a person. The proxy then sends
the session's token to Gate as ``Authorization: Bearer`` (a request's own ``Authorization`` wins). Scripts on the
page never see the token, and ``EventSource`` (which cannot set headers) is authenticated like every other request.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from core.settings import Settings, load_settings

STATIC = Path(__file__).resolve().parent / "static"
#: headers that belong to one connection, never forwarded (RFC 9110 7.6.1), plus Host, which names the proxy
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
     "upgrade", "host"}
)  # fmt: skip
#: the browser's requests wait this long for Gate to answer (a stream then stays open as long as Gate keeps it)
GATE_TIMEOUT = httpx.Timeout(60.0, read=None)


def gate_url(settings: Settings) -> str:
    """The API this UI talks to: Gate on its own host and port (a wildcard bind is reached on loopback)."""
    host = settings.api.host if settings.api.host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
    return f"http://{host}:{settings.api.port}"


def temporal_web_url(settings: Settings) -> str:
    """Where the Temporal Web UI shows a workflow: ``ui.temporal_web_url``, else the dev server's."""
    return (settings.ui.temporal_web_url or f"http://127.0.0.1:{settings.dev_server.ui_port}").rstrip("/")


#: the session cookie (the signed-in caller's bearer token) and the sign-in's state cookie, on the UI's origin
SESSION_COOKIE = "gennaker_session"
STATE_COOKIE = "gennaker_signin"
#: how long a started sign-in may take at the identity provider
SIGNIN_TTL_S = 600
#: a session without a token expiry (an API token) lasts this long
SESSION_DEFAULT_S = 8 * 3600
#: where a sign-in may send the browser back to: a page of this UI (never another site)
NEXT = re.compile(r"^#/[\w\-./?=&%~+,:;@]*$")


def _forwarded(headers: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP]


def _without_our_cookies(value: str) -> str:
    kept = [c for c in value.split(";") if c.strip().split("=", 1)[0] not in (SESSION_COOKIE, STATE_COOKIE)]
    return ";".join(kept).strip()


def _claims(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (Gate verifies the signature on every request; this reads ``exp`` and
    ``nonce`` of a token the identity provider just handed over on the back channel)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _page(status: int, title: str, message: str) -> Response:
    body = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p role=alert>{html.escape(message)}</p><p><a href=./>Back to Gennaker</a></p>"
    )
    return Response(body, status_code=status, media_type="text/html", headers={"Cache-Control": "no-store"})


def create_ui_app(
    gate: str,
    *,
    temporal_web: str,
    namespace: str,
    auth_enabled: bool = False,
    oidc: list[dict[str, str]] | None = None,
    base_url: str | None = None,
) -> Starlette:
    """The UI's ASGI app: ``/`` the page, ``/static`` its modules, ``/config.json`` the links, ``/gate`` Gate,
    ``/auth/*`` sign-in (``oidc``: the API's issuers, each ``{"issuer", "audience"}``; ``base_url``: where people
    open the UI, for the redirect URI; else the request's own address)."""
    client = httpx.AsyncClient(base_url=gate.rstrip("/"), timeout=GATE_TIMEOUT, follow_redirects=False)
    issuers = list(oidc or [])
    config = {
        "gate": "gate",
        "temporalWebUrl": temporal_web,
        "namespace": namespace,
        "auth": {"enabled": auth_enabled, "oidc": [{"index": i, "issuer": o["issuer"]} for i, o in enumerate(issuers)]},
    }
    discovered: dict[str, dict[str, Any]] = {}
    started: dict[str, dict[str, Any]] = {}  # a sign-in's state -> its verifier, nonce, issuer, page to return to

    def origin(request: Request) -> str:
        return (base_url or str(request.base_url)).rstrip("/")

    def session_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=max(60, max_age),
            path="/",
            httponly=True,
            samesite="strict",
            secure=origin(request).startswith("https:"),
        )

    async def gate_user(token: str) -> dict[str, Any] | None:
        """Gate's ``/auth/user`` for the token, when Gate accepts it as an authenticated caller."""
        try:
            answer = await client.get("/auth/user", headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError:
            return None
        user = answer.json() if answer.status_code == 200 else None
        return user if isinstance(user, dict) and user.get("authenticated") else None

    async def discovery(issuer: str) -> dict[str, Any]:
        if issuer not in discovered:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
                answer.raise_for_status()
                document = answer.json()
            if not document.get("authorization_endpoint") or not document.get("token_endpoint"):
                raise ValueError("the discovery document names no authorization_endpoint or token_endpoint")
            discovered[issuer] = document
        return discovered[issuer]

    async def index(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def ui_config(request: Request) -> Response:
        body = {**config, "session": SESSION_COOKIE in request.cookies}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def signin(request: Request) -> Response:
        """Start the code flow: to the issuer's authorization endpoint with PKCE, a state and a nonce."""
        if not issuers:
            return _page(404, "Sign-in is not set up", "No OpenID Connect issuer is configured (auth.oidc).")
        try:
            issuer = issuers[int(request.query_params.get("issuer", "0"))]
        except (ValueError, IndexError):
            return _page(400, "Sign-in failed", "'issuer' must be the index of a configured issuer")
        try:
            document = await discovery(issuer["issuer"])
        except (httpx.HTTPError, ValueError) as exc:
            return _page(502, "Sign-in failed", f"The identity provider is not answering: {type(exc).__name__}")
        now = time.monotonic()
        for key in [k for k, v in started.items() if now - v["at"] > SIGNIN_TTL_S]:
            started.pop(key, None)
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        wanted = request.query_params.get("next", "")
        started[state] = {
            "at": now,
            "issuer": issuer,
            "nonce": nonce,
            "verifier": verifier,
            "next": wanted if NEXT.match(wanted) else "#/applications",
        }
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = {
            "response_type": "code",
            "client_id": issuer["audience"],
            "redirect_uri": origin(request) + "/auth/callback",
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        target = httpx.URL(document["authorization_endpoint"]).copy_merge_params(query)
        response = RedirectResponse(str(target), status_code=302)
        response.set_cookie(
            STATE_COOKIE, state, max_age=SIGNIN_TTL_S, path="/auth/", httponly=True, samesite="lax",
            secure=origin(request).startswith("https:"),
        )  # fmt: skip
        return response

    async def callback(request: Request) -> Response:
        """The identity provider sends the browser back here with a code: exchange it, check it, keep it."""
        params = request.query_params
        if params.get("error"):
            message = params.get("error_description") or params["error"]
            return _page(401, "Sign-in failed", f"The identity provider refused: {message}")
        state = params.get("state", "")
        flow = started.get(state)
        if not state or flow is None or not secrets.compare_digest(request.cookies.get(STATE_COOKIE, ""), state):
            return _page(400, "Sign-in failed", "This sign-in was not started here or took too long; sign in again.")
        started.pop(state, None)
        issuer = flow["issuer"]
        form = {
            "grant_type": "authorization_code",
            "code": params.get("code", ""),
            "redirect_uri": origin(request) + "/auth/callback",
            "client_id": issuer["audience"],
            "code_verifier": flow["verifier"],
        }
        try:
            document = await discovery(issuer["issuer"])
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(document["token_endpoint"], data=form)
            tokens = answer.json() if answer.status_code == 200 else {}
        except (httpx.HTTPError, ValueError) as exc:
            return _page(502, "Sign-in failed", f"The identity provider is not answering: {type(exc).__name__}")
        token = tokens.get("id_token") if isinstance(tokens, dict) else None
        if not isinstance(token, str) or _claims(token).get("nonce") != flow["nonce"]:
            return _page(401, "Sign-in failed", "The identity provider gave no ID token for this sign-in.")
        if await gate_user(token) is None:
            return _page(401, "Sign-in failed", "Gate does not accept the identity provider's token (auth.oidc).")
        exp = _claims(token).get("exp")
        response = RedirectResponse("./../" + flow["next"], status_code=302)
        session_cookie(response, request, token, int(exp - time.time()) if isinstance(exp, int) else SESSION_DEFAULT_S)
        response.delete_cookie(STATE_COOKIE, path="/auth/")
        return response

    async def token_signin(request: Request) -> Response:
        """Sign in with a token (an API token, or an OIDC token got elsewhere): kept as the session if Gate takes it."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip():
            return JSONResponse({"status": 400, "error": "Bad Request", "message": "'token' is required"}, 400)
        user = await gate_user(token.strip())
        if user is None:
            message = "Gate does not accept this token (expired, revoked or unknown)"
            return JSONResponse({"status": 401, "error": "Unauthorized", "message": message}, 401)
        response = JSONResponse(user)
        exp = _claims(token).get("exp")
        session_cookie(
            response, request, token.strip(), int(exp - time.time()) if isinstance(exp, int) else SESSION_DEFAULT_S
        )
        return response

    async def signout(_: Request) -> Response:
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def proxy(request: Request) -> Response:
        path = "/" + request.path_params["path"]
        headers = [(k, v) for k, v in _forwarded(request.headers) if k.lower() != "cookie"]
        cookies = _without_our_cookies(request.headers.get("cookie", ""))
        if cookies:
            headers.append(("cookie", cookies))
        session = request.cookies.get(SESSION_COOKIE)
        if session and "authorization" not in request.headers:
            # the session's token, for a request from this UI's own pages only (the cookie is SameSite=Strict too)
            sent_from = request.headers.get("origin")
            if request.method not in ("GET", "HEAD", "OPTIONS") and sent_from and sent_from != origin(request):
                body = {"status": 403, "error": "Forbidden", "message": "a request from another site"}
                return JSONResponse(body, 403)
            headers.append(("authorization", f"Bearer {session}"))
        upstream = client.build_request(
            request.method,
            httpx.URL(path, query=request.url.query.encode()),
            headers=headers,
            content=_body(request),
        )
        try:
            answer = await client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            body = {"status": 502, "error": "Bad Gateway", "message": f"Gate is not answering: {type(exc).__name__}"}
            return Response(json.dumps(body), status_code=502, media_type="application/json")
        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers=dict(_forwarded(answer.headers)),
            background=BackgroundTask(answer.aclose),
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/", index),
            Route("/config.json", ui_config),
            Route("/auth/signin", signin),
            Route("/auth/callback", callback),
            Route("/auth/token", token_signin, methods=["POST"]),
            Route("/auth/signout", signout, methods=["POST"]),
            Route("/gate/{path:path}", proxy, methods=methods),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


def app_from_settings(settings: Settings) -> Starlette:
    return create_ui_app(
        gate_url(settings),
        temporal_web=temporal_web_url(settings),
        namespace=settings.temporal.namespace,
        **ui_auth(settings),
    )


def ui_auth(settings: Settings) -> dict[str, Any]:
    """What the UI's sign-in needs of the settings: whether auth is on, the issuers, where people open the UI."""
    return {
        "auth_enabled": settings.auth.enabled,
        "oidc": [{"issuer": o.issuer, "audience": o.audience} for o in settings.auth.oidc],
        "base_url": settings.ui.base_url,
    }


class ServedUi:
    """The UI server on a free loopback port in a thread, in front of ``gate`` (tests, benchmarks, screenshots)."""

    def __init__(self, gate: str, *, port: int, temporal_web: str = "http://127.0.0.1:8233", **options: Any) -> None:
        self.options = options  # create_ui_app's sign-in options (auth_enabled, oidc, base_url)
        self.gate = gate
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.temporal_web = temporal_web
        self._server: Any = None
        self._thread = threading.Thread(target=self._run, name="gennaker-ui", daemon=True)

    def __enter__(self) -> ServedUi:
        import uvicorn

        app = create_ui_app(self.gate, temporal_web=self.temporal_web, namespace="default", **self.options)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return self
            threading.Event().wait(0.01)
        raise RuntimeError("the UI server did not start")

    def _run(self) -> None:
        self._server.run()

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def main() -> None:
    """``python -m ui.server``: serve the UI on ``ui.host:ui.port`` in front of the API the settings name."""
    import uvicorn

    settings = load_settings()
    uvicorn.run(
        app_from_settings(settings),
        host=settings.ui.host,
        port=settings.ui.port,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )


if __name__ == "__main__":
    main()

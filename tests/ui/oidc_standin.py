"""An identity provider for the UI's sign-in tests: discovery, keys, an authorization endpoint that signs the
configured person in at once (no login page), and a token endpoint that checks PKCE and answers an ID token."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "gennaker-ui"


class OidcStandIn:
    """``person`` is who signs in next (username and groups); ``codes`` holds the flows in progress."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)  # type: ignore[attr-defined]
        self.jwks = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        self.person: dict[str, Any] = {"preferred_username": "alice", "groups": ["devs"]}
        self.codes: dict[str, dict[str, Any]] = {}
        self.refused_pkce = 0
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, standin.discovery())
                elif url.path == "/keys":
                    self._json(200, standin.jwks)
                elif url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(12)
                    standin.codes[code] = query
                    back = {"code": code, "state": query.get("state", "")}
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
                    self.end_headers()
                else:
                    self.send_error(404)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                flow = standin.codes.pop(form.get("code", ""), None)
                if self.path != "/token" or flow is None or form.get("redirect_uri") != flow.get("redirect_uri"):
                    self._json(400, {"error": "invalid_grant"})
                    return
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != flow.get("code_challenge"):
                    standin.refused_pkce += 1
                    self._json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
                    return
                token = standin.token(aud=form.get("client_id"), nonce=flow.get("nonce"))
                self._json(200, {"id_token": token, "access_token": "opaque", "token_type": "Bearer"})

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": self.url + "/keys",
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
        }

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "sub": "u-1", "iat": now, "exp": now + 600, **self.person, **claims}
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "k1"})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

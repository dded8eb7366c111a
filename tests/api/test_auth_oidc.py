"""OIDC bearer JWTs against a real HTTP issuer on 127.0.0.1 (discovery document and JWKS), with keys made here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from api.auth import oidc
from tests.api.auth_support import auth_api, bearer

AUDIENCE = "gennaker-api"


class Issuer:
    """An identity provider: serves its discovery document and keys, signs tokens, counts key fetches."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.jwks: list[dict[str, Any]] = [self._jwk(self.rsa, "rsa-1"), self._jwk(self.ec, "ec-1")]
        self.fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path == "/.well-known/openid-configuration":
                    body: Any = {"issuer": issuer.url, "jwks_uri": issuer.url + "/keys"}
                elif self.path == "/keys":
                    issuer.fetches += 1
                    body = {"keys": issuer.jwks}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def _jwk(key: Any, kid: str) -> dict[str, Any]:
        algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
        jwk: dict[str, Any] = algorithm.to_jwk(key.public_key(), as_dict=True)  # type: ignore[attr-defined]
        return {**jwk, "kid": kid, "use": "sig"}

    def claims(self, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "u-123",
            "preferred_username": "Alice",
            "email": "alice@example.com",
            "groups": ["Dev", "ops"],
            "iat": now,
            "exp": now + 300,
        }
        return {k: v for k, v in {**base, **extra}.items() if v is not None}

    def token(self, alg: str = "RS256", kid: str | None = None, key: Any = None, **claims: Any) -> str:
        signer = key or (self.rsa if alg.startswith("RS") else self.ec)
        kid = kid or ("rsa-1" if alg.startswith("RS") else "ec-1")
        return jwt.encode(self.claims(**claims), signer, algorithm=alg, headers={"kid": kid})

    def public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token PyJWT would refuse to make: ``alg: none``, or HS256 keyed with the issuer's public key."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    served = Issuer()
    yield served
    served.server.shutdown()
    served.server.server_close()


def oidc_settings(issuer: Issuer, **extra: Any) -> dict[str, Any]:
    return {"oidc": [{"issuer": issuer.url, "audience": AUDIENCE, **extra}], "admin_roles": ["ops"]}


async def test_rs256_and_es256_through_discovery_with_cached_keys(tmp_path: Path, issuer: Issuer) -> None:
    async with auth_api(tmp_path, **oidc_settings(issuer)) as api:
        for alg in ("RS256", "ES256"):
            answer = await api.http.get("/auth/user", headers=bearer(issuer.token(alg)))
            assert answer.status_code == 200, answer.text
            user = answer.json()
            assert user["username"] == "alice" and user["roles"] == ["dev", "ops"]
            assert user["email"] == "alice@example.com" and user["admin"] is True and user["authenticated"] is True
        assert issuer.fetches == 1  # one fetch serves both tokens


async def test_configured_jwks_uri_and_claims(tmp_path: Path, issuer: Issuer) -> None:
    settings = oidc_settings(issuer, jwks_uri=issuer.url + "/keys", username_claim="email", roles_claim="scope")
    async with auth_api(tmp_path, **settings) as api:
        token = issuer.token(scope="deploy read", groups=None)
        user = (await api.http.get("/auth/user", headers=bearer(token))).json()
        assert user["username"] == "alice@example.com" and user["roles"] == ["deploy", "read"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda i: i.token(exp=int(time.time()) - 120), "has expired"),
        (lambda i: i.token(nbf=int(time.time()) + 600), "not valid yet"),
        (lambda i: i.token(aud="someone-else"), "wrong audience"),
        (lambda i: i.token(iss="https://evil.example"), "issuer is not one this API accepts"),
        (lambda i: i.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)), "signature"),
        (lambda i: i.token(kid="nobody"), "kid"),
        (lambda i: i.token(exp=None), "'exp'"),
        (lambda i: i.token("RS512"), "not allowed"),
        (lambda i: handmade({"alg": "none", "kid": "rsa-1"}, i.claims(), None), "'none' is not allowed"),
        (lambda i: handmade({"alg": "HS256", "kid": "rsa-1"}, i.claims(), i.public_pem()), "'HS256' is not allowed"),
        (lambda i: "eyJqdW5rIjp0cnVlfQ.not-json.sig-xyz-987", "not a well-formed JWT"),
    ],
    ids=[
        "expired",
        "not-yet",
        "audience",
        "issuer",
        "signature",
        "kid",
        "no-exp",
        "alg",
        "none",
        "hs256-confusion",
        "junk",
    ],
)
async def test_refused_tokens(
    tmp_path: Path, issuer: Issuer, make: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = make(issuer)
    async with auth_api(tmp_path, **oidc_settings(issuer)) as api:
        answer = await api.http.get("/auth/user", headers=bearer(token))
        assert answer.status_code == 401
        assert reason in answer.json()["message"] and answer.json()["path"] == "/auth/user"
        signature = token.rsplit(".", 1)[-1]
        assert token not in answer.text and token not in caplog.text
        assert not signature or signature not in caplog.text


async def test_the_hs256_confusion_token_is_a_real_forgery(issuer: Issuer) -> None:
    """The confusion case above is only meaningful if a verifier that trusted HS256 would have accepted it."""
    forged = handmade({"alg": "HS256", "kid": "rsa-1"}, issuer.claims(), issuer.public_pem())
    signing_input, signature = forged.rsplit(".", 1)
    expected = hmac.new(issuer.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    assert b64(expected) == signature


async def test_rotation_refetches_on_an_unknown_kid_and_ttl_expiry(
    tmp_path: Path, issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oidc, "REFETCH_INTERVAL", 0.0)
    async with auth_api(tmp_path, **oidc_settings(issuer, jwks_ttl_seconds=0.5)) as api:
        assert (await api.http.get("/auth/user", headers=bearer(issuer.token()))).status_code == 200
        assert issuer.fetches == 1
        rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        issuer.jwks.append(Issuer._jwk(rotated, "rsa-2"))
        answer = await api.http.get("/auth/user", headers=bearer(issuer.token(kid="rsa-2", key=rotated)))
        assert answer.status_code == 200 and issuer.fetches == 2
        assert (await api.http.get("/auth/user", headers=bearer(issuer.token()))).status_code == 200
        assert issuer.fetches == 2  # cached
        time.sleep(0.6)
        issuer.jwks = [j for j in issuer.jwks if j["kid"] != "rsa-1"]  # rsa-1 retired
        answer = await api.http.get("/auth/user", headers=bearer(issuer.token()))
        assert answer.status_code == 401 and "kid" in answer.json()["message"] and issuer.fetches == 3


async def test_unknown_kid_floods_do_not_refetch(tmp_path: Path, issuer: Issuer) -> None:
    async with auth_api(tmp_path, **oidc_settings(issuer)) as api:
        assert (await api.http.get("/auth/user", headers=bearer(issuer.token()))).status_code == 200
        for _ in range(5):
            assert (await api.http.get("/auth/user", headers=bearer(issuer.token(kid="bogus")))).status_code == 401
        assert issuer.fetches == 1


async def test_issuer_down_is_a_401_that_says_so(tmp_path: Path, issuer: Issuer) -> None:
    settings = oidc_settings(issuer, jwks_uri=issuer.url + "/missing")
    async with auth_api(tmp_path, **settings) as api:
        answer = await api.http.get("/auth/user", headers=bearer(issuer.token()))
        assert answer.status_code == 401 and "cannot be read right now" in answer.json()["message"]


async def test_symmetric_keys_in_the_jwks_are_never_used(tmp_path: Path, issuer: Issuer) -> None:
    issuer.jwks = [{"kty": "oct", "kid": "rsa-1", "k": b64(b"shared-secret"), "use": "sig"}]
    async with auth_api(tmp_path, **oidc_settings(issuer)) as api:
        answer = await api.http.get("/auth/user", headers=bearer(issuer.token()))
        assert answer.status_code == 401 and "kid" in answer.json()["message"]

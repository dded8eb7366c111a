"""Gennaker's API tokens: ``Authorization: Bearer gnk_<random>``, issued and revoked by an admin.

A token is 32 random bytes (``secrets.token_urlsafe``) after the ``gnk_`` prefix; it is shown once, when issued,
and the store keeps only its SHA-256 (enough for a high-entropy secret: there is nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any

from core.errors import AuthError

PREFIX = "gnk_"
#: a use is written back at most this often per token (every request would be a write)
TOUCH_INTERVAL_MS = 60_000
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class TokenError(AuthError, ValueError):
    """A token that is not accepted; the message never contains the token."""


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(credential: str) -> bool:
    return credential.startswith(PREFIX)


def parse_duration(text: str) -> int:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` → seconds."""
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"expires must be a positive duration like 30d, 12h, 90m or 2w, not {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def issue(
    store: Any, owner: str, roles: list[str], *, expires: str | None, by: str, description: str | None = None
) -> tuple[str, dict[str, Any]]:
    """Make a token for ``owner`` and store its hash; returns (the token — shown once —, its record)."""
    token = new_token()
    now = int(time.time() * 1000)
    record = store.api_tokens.save(
        {
            "id": secrets.token_hex(8),
            "tokenHash": token_hash(token),
            "owner": owner,
            "roles": roles,
            "description": description,
            "createdBy": by,
            # the lifetime counts from the same instant the record says it was made
            "createdAt": now,
            "expiresAt": now + parse_duration(expires) * 1000 if expires else None,
        }
    )
    return token, public(record)


def issued_while_open(record: dict[str, Any]) -> bool:
    """Issued over HTTP while authentication was off: anyone could, so it must not count once it is on
    (the issuer was the anonymous caller; the CLI records ``cli``, an admin its own name)."""
    return str(record.get("createdBy") or "").strip().lower() in ("", "anonymous")


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A token record as shown to people: never its hash."""
    return {k: v for k, v in record.items() if k != "tokenHash"}


def verify(store: Any, token: str) -> dict[str, Any]:
    """The record of a valid token; TokenError (unknown, revoked, expired) otherwise. Records the use."""
    digest = token_hash(token)
    record = store.api_tokens.find(digest)
    # the lookup is by hash; compare again in constant time so a database collation can never make it loose
    if record is None or not hmac.compare_digest(str(record.get("tokenHash", "")), digest):
        raise TokenError("the API token is not known")
    now = int(time.time() * 1000)
    if record.get("revokedAt") is not None:
        raise TokenError(f"the API token {record['id']} was revoked")
    if record.get("expiresAt") is not None and record["expiresAt"] <= now:
        raise TokenError(f"the API token {record['id']} has expired")
    if issued_while_open(record):
        raise TokenError(
            f"the API token {record['id']} was issued while authentication was off and grants nothing now;"
            " an admin must issue a new one"
        )
    if record.get("lastUsedAt") is None or now - record["lastUsedAt"] >= TOUCH_INTERVAL_MS:
        store.api_tokens.touch(record["id"], now)
    checked: dict[str, Any] = record
    return checked

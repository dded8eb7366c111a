"""Fiat's side of the store: API tokens (their hashes, never the secrets), service accounts (Front50's
``{name, memberOf}``), the roles stored for users, and the audit trail of who did what. Names and roles are
lower-cased, as Fiat compares them.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from .errors import NotFoundError, ValidationError
from .models import KEY_LENGTH, ApiToken, AuditEvent, ServiceAccount, UserRoles
from .session import Database, retrying
from .values import Doc, as_int, dumps, now_ms, optional_int, required_text


class ApiTokens:
    """Issued API tokens, found by hash."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @retrying
    def save(self, token: Doc) -> Doc:
        """Store an issued token: ``{id, tokenHash, owner, roles, description, createdBy, expiresAt}`` and,
        when the issuer measured its expiry from it, ``createdAt`` (now otherwise)."""
        owner = required_text(token, "owner", "a token")
        roles = [str(r).strip().lower() for r in token.get("roles") or [] if str(r).strip()]
        row = ApiToken(
            id=str(token["id"]),
            token_hash=str(token["tokenHash"]),
            owner=owner.lower(),
            roles=dumps(roles),
            description=token.get("description"),
            created_at=as_int(token.get("createdAt") or now_ms(), "createdAt"),
            created_by=token.get("createdBy"),
            expires_at=optional_int(token.get("expiresAt"), "expiresAt"),
        )
        with self._db.session(write=True, conflict="a token with this id or hash exists") as s:
            s.add(row)
            s.flush()
            return _token_doc(row)

    def find(self, token_hash: str) -> Doc | None:
        """The token whose hash this is (revoked and expired ones too: the caller decides), or None."""
        with self._db.session() as s:
            row = s.scalars(select(ApiToken).where(col(ApiToken.token_hash) == token_hash)).first()
            return None if row is None else _token_doc(row)

    def all(self, owner: str | None = None) -> list[Doc]:
        stmt = select(ApiToken).order_by(col(ApiToken.created_at), col(ApiToken.id))
        if owner is not None:
            stmt = stmt.where(col(ApiToken.owner) == owner.lower())
        with self._db.session() as s:
            return [_token_doc(r) for r in s.scalars(stmt)]

    @retrying
    def revoke(self, token_id: str) -> Doc:
        with self._db.session(write=True) as s:
            row = s.get(ApiToken, token_id)
            if row is None:
                raise NotFoundError(f"no token with id {token_id!r}")
            if row.revoked_at is None:
                row.revoked_at = now_ms()
            s.flush()
            return _token_doc(row)

    def touch(self, token_id: str, at: int) -> None:
        """Record a use (callers throttle this: it is a write)."""
        with self._db.session(write=True) as s:
            s.execute(update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=at))


class ServiceAccounts:
    """Front50's service accounts."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[Doc]:
        with self._db.session() as s:
            return [json.loads(r.body) for r in s.scalars(select(ServiceAccount).order_by(col(ServiceAccount.name)))]

    def get(self, name: str) -> Doc:
        with self._db.session() as s:
            row = s.get(ServiceAccount, name.strip().lower())
            if row is None:
                raise NotFoundError(f"no service account named {name!r}")
            return json.loads(row.body)  # type: ignore[no-any-return]

    @retrying
    def save(self, doc: Doc) -> Doc:
        """Front50's ``{name, memberOf: [roles]}``: the name and the roles are lower-cased, as Fiat compares them."""
        if not isinstance(doc, dict):
            raise ValidationError("a service account is a JSON object {name, memberOf: [roles]}")
        name = required_text(doc, "name", "a service account").lower()
        member_of = doc.get("memberOf", [])
        if not isinstance(member_of, list) or not all(isinstance(r, str) for r in member_of):
            raise ValidationError("'memberOf' must be a list of role names", field="memberOf")
        saved = {**doc, "name": name, "memberOf": sorted({r.strip().lower() for r in member_of if r.strip()})}
        saved["lastModified"] = now_ms()
        with self._db.session(write=True) as s:
            s.merge(ServiceAccount(name=name, updated_at=saved["lastModified"], body=dumps(saved)))
        return saved

    @retrying
    def delete(self, name: str) -> None:
        with self._db.session(write=True) as s:
            row = s.get(ServiceAccount, name.strip().lower())
            if row is None:
                raise NotFoundError(f"no service account named {name!r}")
            s.delete(row)


class Roles:
    """The roles stored for users (beside those a role provider answers)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, name: str) -> list[str]:
        """The roles stored for a user (empty when none are)."""
        with self._db.session() as s:
            row = s.get(UserRoles, name.strip().lower())
            return [] if row is None else list(json.loads(row.body)["roles"])

    def record(self, name: str) -> Doc | None:
        """The stored roles document ``{name, roles, lastModified, lastModifiedBy}``, or None."""
        with self._db.session() as s:
            row = s.get(UserRoles, name.strip().lower())
            doc: Doc | None = None if row is None else json.loads(row.body)
            return doc

    @retrying
    def put(self, name: str, roles: Any, user: str) -> Doc:
        """Replace the roles stored for ``name`` (lower-cased, as Fiat compares them); ``[]`` keeps an empty entry."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("a user name is required", field="name")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ValidationError("the body must be a JSON list of role names", field="roles")
        key, stamp = name.strip().lower(), now_ms()
        if len(key) > KEY_LENGTH:
            raise ValidationError(f"a user name has at most {KEY_LENGTH} characters", field="name")
        saved = {
            "name": key,
            "roles": sorted({r.strip().lower() for r in roles if r.strip()}),
            "lastModified": stamp,
            "lastModifiedBy": user,
        }
        with self._db.session(write=True) as s:
            s.merge(UserRoles(name=key, updated_at=stamp, body=dumps(saved)))
        return saved

    @retrying
    def delete(self, name: str) -> None:
        with self._db.session(write=True) as s:
            row = s.get(UserRoles, name.strip().lower())
            if row is None:
                raise NotFoundError(f"no roles are stored for {name!r}")
            s.delete(row)


class AuditTrail:
    """Who did what, through which credential, with what outcome: appended, listed newest first."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @retrying
    def record(self, event: Doc) -> None:
        """Append one audit event: ``{principal, via, action, resourceType, resourceName, application,
        executionId, outcome, status, remoteAddress, detail}`` (``at`` defaults to now)."""
        action = required_text(event, "action", "an audit event")

        def text(field: str, limit: int = KEY_LENGTH) -> str | None:
            value = event.get(field)
            return None if value is None or value == "" else str(value)[:limit]

        row = AuditEvent(
            at=optional_int(event.get("at"), "at") or now_ms(),
            principal=(text("principal") or "anonymous").lower(),
            via=text("via", 32) or "anonymous",
            action=action[:64],
            resource_type=text("resourceType", 32),
            resource_name=text("resourceName"),
            application=(text("application") or "").lower() or None,
            execution_id=text("executionId"),
            outcome=text("outcome", 16) or "success",
            status=optional_int(event.get("status"), "status"),
            remote_address=text("remoteAddress", 64),
            detail=text("detail", 2000),
        )
        with self._db.session(write=True) as s:
            s.add(row)

    def query(self, filters: Doc | None = None, limit: int = 100) -> list[Doc]:
        """Newest first; ``filters`` may hold ``principal``, ``application``, ``action``, ``executionId``,
        ``outcome``, ``since`` and ``until`` (epoch ms)."""
        filters = filters or {}
        stmt = select(AuditEvent)
        for field, column in (
            ("principal", AuditEvent.principal),
            ("application", AuditEvent.application),
            ("action", AuditEvent.action),
            ("executionId", AuditEvent.execution_id),
            ("outcome", AuditEvent.outcome),
        ):
            value = filters.get(field)
            if value:
                stmt = stmt.where(col(column) == (value.lower() if field in ("principal", "application") else value))
        if filters.get("since") is not None:
            stmt = stmt.where(col(AuditEvent.at) >= as_int(filters["since"], "since"))
        if filters.get("until") is not None:
            stmt = stmt.where(col(AuditEvent.at) <= as_int(filters["until"], "until"))
        stmt = stmt.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(max(1, int(limit)))
        with self._db.session() as s:
            return [_audit_doc(r) for r in s.scalars(stmt)]


def _token_doc(row: ApiToken) -> Doc:
    """A token as the CLI and the API show it: everything but its hash."""
    return {
        "id": row.id,
        "owner": row.owner,
        "roles": json.loads(row.roles),
        "description": row.description,
        "createdAt": row.created_at,
        "createdBy": row.created_by,
        "expiresAt": row.expires_at,
        "lastUsedAt": row.last_used_at,
        "revokedAt": row.revoked_at,
        "tokenHash": row.token_hash,
    }


def _audit_doc(row: AuditEvent) -> Doc:
    doc = {
        "id": row.id,
        "at": row.at,
        "principal": row.principal,
        "via": row.via,
        "action": row.action,
        "resourceType": row.resource_type,
        "resourceName": row.resource_name,
        "application": row.application,
        "executionId": row.execution_id,
        "outcome": row.outcome,
        "status": row.status,
        "remoteAddress": row.remote_address,
        "detail": row.detail,
    }
    return {k: v for k, v in doc.items() if v is not None}

"""Fiat's tables in the store: hashed API tokens, Front50's service accounts, stored user roles, the audit trail."""

from __future__ import annotations

import pytest

from core.store import ConflictError, NotFoundError, Store, ValidationError


def test_tokens_keep_their_hash_and_revoke_once(store: Store) -> None:
    saved = store.api_tokens.save(
        {
            "id": "t1",
            "tokenHash": "a" * 64,
            "owner": "Alice",
            "roles": ["Dev", " "],
            "expiresAt": 99,
            "createdBy": "root",
        }
    )
    assert saved["owner"] == "alice" and saved["roles"] == ["dev"] and saved["expiresAt"] == 99
    found = store.api_tokens.find("a" * 64)
    assert found is not None and found["id"] == "t1"
    assert store.api_tokens.find("b" * 64) is None
    with pytest.raises(ConflictError):
        store.api_tokens.save({"id": "t2", "tokenHash": "a" * 64, "owner": "bob"})
    store.api_tokens.save({"id": "t3", "tokenHash": "c" * 64, "owner": "bob"})
    assert [t["id"] for t in store.api_tokens.all()] == ["t1", "t3"]
    assert [t["id"] for t in store.api_tokens.all(owner="BOB")] == ["t3"]
    store.api_tokens.touch("t3", 1234)
    touched = store.api_tokens.find("c" * 64)
    assert touched is not None and touched["lastUsedAt"] == 1234
    first = store.api_tokens.revoke("t1")["revokedAt"]
    assert first is not None
    assert store.api_tokens.revoke("t1")["revokedAt"] == first
    with pytest.raises(NotFoundError):
        store.api_tokens.revoke("nope")
    with pytest.raises(ValidationError) as err:
        store.api_tokens.save({"id": "t4", "tokenHash": "d" * 64, "owner": ""})
    assert err.value.field == "owner"


def test_service_accounts_round_trip_lower_cased(store: Store) -> None:
    saved = store.service_accounts.save({"name": "Deployer@svc", "memberOf": ["Ops", "dev", "ops"], "extra": 1})
    assert saved["name"] == "deployer@svc" and saved["memberOf"] == ["dev", "ops"] and saved["extra"] == 1
    store.service_accounts.save({"name": "other", "memberOf": []})
    assert [a["name"] for a in store.service_accounts.all()] == ["deployer@svc", "other"]
    assert store.service_accounts.get("DEPLOYER@svc")["memberOf"] == ["dev", "ops"]
    store.service_accounts.save({"name": "other", "memberOf": ["qa"]})
    assert store.service_accounts.get("other")["memberOf"] == ["qa"]
    store.service_accounts.delete("other")
    with pytest.raises(NotFoundError):
        store.service_accounts.get("other")
    with pytest.raises(NotFoundError):
        store.service_accounts.delete("other")
    with pytest.raises(ValidationError) as err:
        store.service_accounts.save({"name": "x", "memberOf": "ops"})
    assert err.value.field == "memberOf"
    with pytest.raises(ValidationError) as err:
        store.service_accounts.save({"memberOf": []})
    assert err.value.field == "name"


def test_stored_user_roles_replace_lower_cased_and_delete(store: Store) -> None:
    assert store.user_roles.get("nobody") == []
    saved = store.user_roles.put("Alice", ["Dev", "ops", " ", "dev"], "root")
    assert saved["name"] == "alice" and saved["roles"] == ["dev", "ops"] and saved["lastModifiedBy"] == "root"
    assert store.user_roles.get("ALICE") == ["dev", "ops"]
    store.user_roles.put("alice", ["qa"], "root")
    assert store.user_roles.get("alice") == ["qa"]
    bad: tuple[tuple[str, object, str], ...] = (
        ("", [], "name"),
        ("bob", "ops", "roles"),
        ("bob", [1], "roles"),
        ("x" * 300, [], "name"),
    )
    for name, roles, field in bad:
        with pytest.raises(ValidationError) as err:
            store.user_roles.put(name, roles, "root")
        assert err.value.field == field
    assert store.user_roles.get("bob") == []
    store.user_roles.delete("alice")
    assert store.user_roles.get("alice") == []
    with pytest.raises(NotFoundError):
        store.user_roles.delete("alice")


def test_audit_filters_newest_first(store: Store) -> None:
    store.audit.record({"at": 1, "principal": "Alice", "action": "pipeline.save", "application": "App"})
    store.audit.record(
        {"at": 2, "principal": "bob", "action": "pipeline.trigger", "application": "app", "executionId": "E1"}
    )
    store.audit.record(
        {"at": 3, "principal": "alice", "action": "execution.cancel", "outcome": "denied", "status": 403}
    )
    assert [e["at"] for e in store.audit.query()] == [3, 2, 1]
    assert [e["at"] for e in store.audit.query({"principal": "ALICE"})] == [3, 1]
    assert [e["at"] for e in store.audit.query({"application": "APP"})] == [2, 1]
    assert [e["at"] for e in store.audit.query({"action": "pipeline.trigger"})] == [2]
    assert [e["at"] for e in store.audit.query({"since": 2})] == [3, 2]
    assert [e["at"] for e in store.audit.query({"until": 1})] == [1]
    assert [e["at"] for e in store.audit.query(limit=1)] == [3]
    denied = store.audit.query({"outcome": "denied"})[0]
    assert denied["status"] == 403 and denied["principal"] == "alice" and denied["via"] == "anonymous"
    assert store.audit.query({"executionId": "E1"})[0]["principal"] == "bob"
    with pytest.raises(ValidationError) as err:
        store.audit.record({"principal": "x"})
    assert err.value.field == "action"

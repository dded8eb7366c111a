"""Fiat's tables in the store: hashed API tokens, Front50's service accounts, stored user roles, the audit trail."""

from __future__ import annotations

import pytest

from api.store import ConflictError, NotFoundError, Store, ValidationError


def test_tokens_keep_their_hash_and_revoke_once(store: Store) -> None:
    saved = store.save_api_token(
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
    found = store.find_api_token("a" * 64)
    assert found is not None and found["id"] == "t1"
    assert store.find_api_token("b" * 64) is None
    with pytest.raises(ConflictError):
        store.save_api_token({"id": "t2", "tokenHash": "a" * 64, "owner": "bob"})
    store.save_api_token({"id": "t3", "tokenHash": "c" * 64, "owner": "bob"})
    assert [t["id"] for t in store.list_api_tokens()] == ["t1", "t3"]
    assert [t["id"] for t in store.list_api_tokens(owner="BOB")] == ["t3"]
    store.touch_api_token("t3", 1234)
    touched = store.find_api_token("c" * 64)
    assert touched is not None and touched["lastUsedAt"] == 1234
    first = store.revoke_api_token("t1")["revokedAt"]
    assert first is not None
    assert store.revoke_api_token("t1")["revokedAt"] == first
    with pytest.raises(NotFoundError):
        store.revoke_api_token("nope")
    with pytest.raises(ValidationError) as err:
        store.save_api_token({"id": "t4", "tokenHash": "d" * 64, "owner": ""})
    assert err.value.field == "owner"


def test_service_accounts_round_trip_lower_cased(store: Store) -> None:
    saved = store.save_service_account({"name": "Deployer@svc", "memberOf": ["Ops", "dev", "ops"], "extra": 1})
    assert saved["name"] == "deployer@svc" and saved["memberOf"] == ["dev", "ops"] and saved["extra"] == 1
    store.save_service_account({"name": "other", "memberOf": []})
    assert [a["name"] for a in store.list_service_accounts()] == ["deployer@svc", "other"]
    assert store.get_service_account("DEPLOYER@svc")["memberOf"] == ["dev", "ops"]
    store.save_service_account({"name": "other", "memberOf": ["qa"]})
    assert store.get_service_account("other")["memberOf"] == ["qa"]
    store.delete_service_account("other")
    with pytest.raises(NotFoundError):
        store.get_service_account("other")
    with pytest.raises(NotFoundError):
        store.delete_service_account("other")
    with pytest.raises(ValidationError) as err:
        store.save_service_account({"name": "x", "memberOf": "ops"})
    assert err.value.field == "memberOf"
    with pytest.raises(ValidationError) as err:
        store.save_service_account({"memberOf": []})
    assert err.value.field == "name"


def test_stored_user_roles_replace_lower_cased_and_delete(store: Store) -> None:
    assert store.get_user_roles("nobody") == []
    saved = store.put_user_roles("Alice", ["Dev", "ops", " ", "dev"], "root")
    assert saved["name"] == "alice" and saved["roles"] == ["dev", "ops"] and saved["lastModifiedBy"] == "root"
    assert store.get_user_roles("ALICE") == ["dev", "ops"]
    store.put_user_roles("alice", ["qa"], "root")
    assert store.get_user_roles("alice") == ["qa"]
    bad = (("", [], "name"), ("bob", "ops", "roles"), ("bob", [1], "roles"), ("x" * 300, [], "name"))
    for name, roles, field in bad:
        with pytest.raises(ValidationError) as err:
            store.put_user_roles(name, roles, "root")
        assert err.value.field == field
    assert store.get_user_roles("bob") == []
    store.delete_user_roles("alice")
    assert store.get_user_roles("alice") == []
    with pytest.raises(NotFoundError):
        store.delete_user_roles("alice")


def test_audit_filters_newest_first(store: Store) -> None:
    store.record_audit({"at": 1, "principal": "Alice", "action": "pipeline.save", "application": "App"})
    store.record_audit(
        {"at": 2, "principal": "bob", "action": "pipeline.trigger", "application": "app", "executionId": "E1"}
    )
    store.record_audit(
        {"at": 3, "principal": "alice", "action": "execution.cancel", "outcome": "denied", "status": 403}
    )
    assert [e["at"] for e in store.list_audit()] == [3, 2, 1]
    assert [e["at"] for e in store.list_audit({"principal": "ALICE"})] == [3, 1]
    assert [e["at"] for e in store.list_audit({"application": "APP"})] == [2, 1]
    assert [e["at"] for e in store.list_audit({"action": "pipeline.trigger"})] == [2]
    assert [e["at"] for e in store.list_audit({"since": 2})] == [3, 2]
    assert [e["at"] for e in store.list_audit({"until": 1})] == [1]
    assert [e["at"] for e in store.list_audit(limit=1)] == [3]
    denied = store.list_audit({"outcome": "denied"})[0]
    assert denied["status"] == 403 and denied["principal"] == "alice" and denied["via"] == "anonymous"
    assert store.list_audit({"executionId": "E1"})[0]["principal"] == "bob"
    with pytest.raises(ValidationError) as err:
        store.record_audit({"principal": "x"})
    assert err.value.field == "action"

"""Fiat's rules as tables: applications, accounts, service accounts, allowed accounts, UserPermission."""

from __future__ import annotations

from typing import Any

import pytest

from core.auth import permissions as p
from core.auth.principal import Principal

ANON = Principal()
READER = Principal("rita", frozenset({"Readers"}), authenticated=True)
WRITER = Principal("wes", frozenset({"writers"}), authenticated=True)
EXECUTOR = Principal("eve", frozenset({"executors"}), authenticated=True)
ADMIN = Principal("ada", frozenset(), admin=True, authenticated=True)

RESTRICTED: dict[str, Any] = {
    "name": "app",
    "permissions": {"READ": ["readers"], "WRITE": ["writers"], "EXECUTE": ["executors"]},
}
NO_EXECUTE: dict[str, Any] = {"name": "app", "permissions": {"READ": ["readers"], "WRITE": ["writers"]}}
LEGACY: dict[str, Any] = {"name": "app", "requiredGroupMembership": ["READERS "]}
OPEN_APP: dict[str, Any] = {"name": "app", "permissions": {"READ": [], "WRITE": []}}


@pytest.mark.parametrize(
    ("principal", "app", "fallback", "unknown", "expected"),
    [
        (ANON, OPEN_APP, "READ", False, {"READ", "WRITE", "EXECUTE", "CREATE"}),
        (ANON, {"name": "app"}, "READ", False, {"READ", "WRITE", "EXECUTE", "CREATE"}),
        (ANON, RESTRICTED, "READ", False, set()),
        (READER, RESTRICTED, "READ", False, {"READ"}),
        # WRITE does not imply READ (Fiat grants exactly what the role lists say)
        (WRITER, RESTRICTED, "READ", False, {"WRITE"}),
        (EXECUTOR, RESTRICTED, "READ", False, {"EXECUTE"}),
        (ADMIN, RESTRICTED, "READ", False, {"READ", "WRITE", "EXECUTE", "CREATE"}),
        # a missing EXECUTE list falls back to READ's roles, or WRITE's
        (READER, NO_EXECUTE, "READ", False, {"READ", "EXECUTE"}),
        (WRITER, NO_EXECUTE, "READ", False, {"WRITE"}),
        (WRITER, NO_EXECUTE, "WRITE", False, {"WRITE", "EXECUTE"}),
        (READER, NO_EXECUTE, "WRITE", False, {"READ"}),
        # requiredGroupMembership: READ and WRITE (then EXECUTE by the fallback); roles case-insensitive
        (READER, LEGACY, "READ", False, {"READ", "WRITE", "EXECUTE"}),
        (WRITER, LEGACY, "READ", False, set()),
        # unknown applications
        (READER, None, "READ", False, set()),
        (READER, None, "READ", True, {"READ", "WRITE", "EXECUTE", "CREATE"}),
        (ADMIN, None, "READ", False, {"READ", "WRITE", "EXECUTE", "CREATE"}),
    ],
)
def test_application_authorizations(
    principal: Principal, app: Any, fallback: str, unknown: bool, expected: set[str]
) -> None:
    got = p.application_authorizations(principal, app, execute_fallback=fallback, allow_unknown=unknown)
    assert set(got) == expected


ACCOUNTS: list[dict[str, Any]] = [
    {"name": "open", "type": "aws"},
    {"name": "prod", "type": "aws", "permissions": {"READ": ["readers", "writers"], "WRITE": ["writers"]}},
    {"name": "secret", "type": "aws", "permissions": {"READ": ["admins-only"], "WRITE": ["admins-only"]}},
    {"name": "empty", "type": "aws", "permissions": {"READ": [], "WRITE": []}},
]


@pytest.mark.parametrize(
    ("principal", "account", "expected"),
    [
        (ANON, "open", {"READ", "WRITE"}),
        (ANON, "empty", {"READ", "WRITE"}),
        (ANON, "prod", set()),
        (READER, "prod", {"READ"}),
        (WRITER, "prod", {"READ", "WRITE"}),
        (WRITER, "secret", set()),
        (ADMIN, "secret", {"READ", "WRITE"}),
    ],
)
def test_account_authorizations(principal: Principal, account: str, expected: set[str]) -> None:
    entry = p.find_account(ACCOUNTS, account)
    assert entry is not None
    assert set(p.account_authorizations(principal, entry)) == expected


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (ANON, ["empty", "open"]),
        (READER, ["empty", "open"]),
        (WRITER, ["empty", "open", "prod"]),
        (ADMIN, ["empty", "open", "prod", "secret"]),
    ],
)
def test_allowed_accounts_are_the_writable_ones(principal: Principal, expected: list[str]) -> None:
    assert p.allowed_accounts(principal, ACCOUNTS) == expected
    assert p.execution_authentication(principal, ACCOUNTS) == {"user": principal.name, "allowedAccounts": expected}


BOTH = {"name": "deployer", "memberOf": ["writers", "executors"]}
NOBODY = {"name": "lonely", "memberOf": []}
BOTH_ROLES = Principal("bo", frozenset({"WRITERS", "executors"}), authenticated=True)


@pytest.mark.parametrize(
    ("principal", "account", "or_mode", "expected"),
    [
        (WRITER, BOTH, False, False),
        (WRITER, BOTH, True, True),
        (BOTH_ROLES, BOTH, False, True),
        (READER, BOTH, True, False),
        (ANON, NOBODY, False, False),
        (BOTH_ROLES, NOBODY, True, False),
        (ADMIN, NOBODY, False, True),
        (ADMIN, BOTH, False, True),
    ],
)
def test_service_account_use(principal: Principal, account: Any, or_mode: bool, expected: bool) -> None:
    assert p.can_use_service_account(principal, account, or_mode=or_mode) is expected


def test_service_account_principal_holds_its_roles() -> None:
    sa = p.service_account_principal({"name": "deployer", "memberOf": ["Writers", "ops"]}, admin_roles=["ops"])
    assert (sa.name, sa.roles, sa.admin, sa.via) == ("deployer", frozenset({"writers", "ops"}), True, "service_account")
    assert p.allowed_accounts(p.service_account_principal(BOTH), ACCOUNTS) == ["empty", "open", "prod"]


def test_user_permission_document() -> None:
    apps: list[dict[str, Any]] = [RESTRICTED | {"name": "locked"}, {"name": "free"}, NO_EXECUTE | {"name": "readable"}]
    doc = p.user_permission(READER, applications=apps, accounts=ACCOUNTS, service_accounts=[BOTH, NOBODY])
    assert doc["name"] == "rita" and doc["admin"] is False
    assert doc["applications"] == [
        {"name": "free", "authorizations": ["READ", "WRITE", "EXECUTE"]},
        {"name": "locked", "authorizations": ["READ"]},
        {"name": "readable", "authorizations": ["READ", "EXECUTE"]},
    ]
    assert [a["name"] for a in doc["accounts"]] == ["empty", "open", "prod"]
    assert doc["accounts"][2] == {"name": "prod", "authorizations": ["READ"]}
    assert doc["serviceAccounts"] == []
    assert doc["roles"] == [{"name": "readers", "source": "anonymous"}]
    # with unknown applications open, open applications are not listed (Fiat leaves them out)
    open_mode = p.user_permission(READER, applications=apps, accounts=[], service_accounts=[], allow_unknown=True)
    assert [a["name"] for a in open_mode["applications"]] == ["locked", "readable"]
    both = p.user_permission(BOTH_ROLES, applications=[], accounts=[], service_accounts=[BOTH, NOBODY])
    assert both["serviceAccounts"] == [{"name": "deployer", "memberOf": ["executors", "writers"]}]

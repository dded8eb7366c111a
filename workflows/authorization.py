"""Account permissions inside the engine: which stages may touch which accounts, as whom.

The API records who started an execution in ``authentication`` (Orca's shape: ``user`` and
``allowedAccounts``, the accounts that user may write to). When authentication is on it also sets
``enforced: true`` there; only then does the engine check anything. Executions without the flag
(authentication off, or started before this existed) run exactly as they always did.

A stage type that acts on an account declares it (``StageDefinition.mutates_accounts``); before
such a stage's first task the stage runner asks :func:`denied_accounts`, and a stage whose account
is not allowed ends TERMINAL with ``Access denied to account <name>`` (the words Spinnaker users
see from Clouddriver), having called nothing.

A manual judgment with ``propagateAuthenticationContext: true`` that was judged ``continue`` makes
the stages downstream of it run as the judge (their ``user`` and ``allowedAccounts``), as Orca's
``AuthenticationAware`` does: :func:`effective_authentication`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.fields import parse_boolean

JSON = dict[str, Any]

#: the key in ``execution.authentication`` that says the API enforced permissions when it started it
ENFORCED = "enforced"
#: the key holding what the user may do to applications and build services, as the API saw it at the start
#: (Fiat's ``UserPermission``, only the resources it does not fully grant): see :func:`denied_resources`
GRANTS = "grants"
#: a stage's needs name these kinds of resources (``StageDefinition.required_permissions``)
APPLICATION, BUILD_SERVICE, ACCOUNT = "application", "buildService", "account"
_TABLES = {APPLICATION: "applications", BUILD_SERVICE: "buildServices"}
_LABELS = {APPLICATION: "application", BUILD_SERVICE: "build service", ACCOUNT: "account"}

#: Spinnaker's Kubernetes stages that change an account's resources; checked by type even where a
#: stage module does not declare ``mutates_accounts`` itself (they read ``account`` like Orca does)
KUBERNETES_MUTATING_TYPES = frozenset(
    {
        "deployManifest",
        "deleteManifest",
        "patchManifest",
        "scaleManifest",
        "undoRolloutManifest",
        "rollingRestartManifest",
        "enableManifest",
        "disableManifest",
        "runJobManifest",
    }
)


def authentication(user: str, allowed_accounts: Iterable[str], *, enforced: bool, grants: JSON | None = None) -> JSON:
    """The ``authentication`` an execution is started with (what the API passes to ``start_pipeline``).

    ``grants``: ``{"admin": bool, "applications": {name: [authorizations]}, "buildServices": {...}}`` listing
    only the resources the user may not do everything to; one not listed is fully granted."""
    body: JSON = {"user": user, "allowedAccounts": sorted({str(a) for a in allowed_accounts})}
    if enforced:
        body[ENFORCED] = True
        if grants is not None:
            body[GRANTS] = grants
    return body


def is_enforced(auth: Any) -> bool:
    return isinstance(auth, dict) and auth.get(ENFORCED) is True


def context_accounts(context: JSON) -> list[str]:
    """The account a stage context names: ``credentials`` (Orca's deploy family) or ``account``."""
    out: list[str] = []
    for key in ("credentials", "account"):
        value = context.get(key)
        if isinstance(value, str) and value and value not in out:
            out.append(value)
    return out


def denied_accounts(auth: Any, accounts: Iterable[str]) -> list[str]:
    """The accounts, of those a stage acts on, that ``auth`` may not use; always [] when not enforced.

    Account names compare case-insensitively, as Clouddriver's ``AllowedAccountsValidator`` does."""
    if not is_enforced(auth):
        return []
    allowed = {str(a).lower() for a in auth.get("allowedAccounts") or [] if isinstance(a, str)}
    denied: list[str] = []
    for account in accounts:
        if account.lower() not in allowed and account not in denied:
            denied.append(account)
    return denied


def denial_message(accounts: list[str]) -> str:
    return "; ".join(f"Access denied to account {a}" for a in accounts)


def denied_resources(auth: Any, needs: Iterable[tuple[str, str, str]]) -> list[str]:
    """Why the stage may not use what it names (``(kind, name, authorization)``), one message each.

    Accounts are checked against ``allowedAccounts``; applications and build services against the ``grants``
    recorded at the start. Executions without ``grants`` (started before they existed) are not checked here, so
    their histories replay as they ran."""
    grants = auth.get(GRANTS) if is_enforced(auth) else None
    if not isinstance(grants, dict):
        return []
    user = auth.get("user") or "anonymous"
    messages: list[str] = []
    for kind, name, wanted in needs:
        if not isinstance(name, str) or not name:
            continue
        if kind == ACCOUNT:
            messages += [f"Access denied to account {a}" for a in denied_accounts(auth, [name])]
        elif kind in _TABLES and grants.get("admin") is not True:
            table = grants.get(_TABLES[kind]) or {}
            granted = next((v for k, v in table.items() if str(k).lower() == name.lower()), None)
            if granted is not None and wanted not in granted:
                messages.append(f"Access denied: {user} does not have {wanted} permission on {_LABELS[kind]} '{name}'")
    return list(dict.fromkeys(messages))


def stage_denial(auth: Any, definition: Any, context: JSON) -> str | None:
    """Why an enforced stage may not run (its accounts, then what else it uses), or None. Called by the stage
    runner after the context is evaluated and before anything of the stage runs."""
    if not is_enforced(auth):
        return None
    denied = denied_accounts(auth, definition.mutates_accounts(context))
    messages = [denial_message(denied)] if denied else []
    already = {f"Access denied to account {a}" for a in denied}
    needs = getattr(definition, "required_permissions", None)
    if needs is not None:
        messages += [m for m in denied_resources(auth, needs(context)) if m not in already]
    return "; ".join(messages) or None


def effective_authentication(auth: JSON, ancestors: Iterable[Any]) -> JSON:
    """Who a stage runs as: the nearest ancestor judgment that propagates its judge, else the execution.

    ``ancestors`` are the stage's upstream stages (``StageState``), nearest first. Only a
    ``manualJudgment`` judged ``continue`` by a known user, with ``propagateAuthenticationContext``,
    counts (Orca's ``AuthenticationAware.retrieveAuthenticatedUser``). ``enforced`` stays the
    execution's: a judge never turns enforcement off."""
    for stage in ancestors:
        if stage is None or stage.type != "manualJudgment" or stage.status.value == "SKIPPED":
            continue
        context = stage.context
        if not parse_boolean(context.get("propagateAuthenticationContext")):
            continue
        if str(context.get("judgmentStatus") or "").lower() != "continue":
            continue
        judge = stage.last_modified or {}
        if not judge.get("user"):
            continue
        out: JSON = {"user": judge["user"], "allowedAccounts": list(judge.get("allowedAccounts") or [])}
        if is_enforced(auth):
            out[ENFORCED] = True
            if isinstance(auth.get(GRANTS), dict):  # the judge may EXECUTE here; what else it may use is not known
                out[GRANTS] = auth[GRANTS]
        return out
    return auth

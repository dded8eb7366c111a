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

JSON = dict[str, Any]

#: the key in ``execution.authentication`` that says the API enforced permissions when it started it
ENFORCED = "enforced"

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


def authentication(user: str, allowed_accounts: Iterable[str], *, enforced: bool) -> JSON:
    """The ``authentication`` an execution is started with (what the API passes to ``start_pipeline``)."""
    body: JSON = {"user": user, "allowedAccounts": sorted({str(a) for a in allowed_accounts})}
    if enforced:
        body[ENFORCED] = True
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
        if not _truthy(context.get("propagateAuthenticationContext")):
            continue
        if str(context.get("judgmentStatus") or "").lower() != "continue":
            continue
        judge = stage.last_modified or {}
        if not judge.get("user"):
            continue
        out: JSON = {"user": judge["user"], "allowedAccounts": list(judge.get("allowedAccounts") or [])}
        if is_enforced(auth):
            out[ENFORCED] = True
        return out
    return auth


def _truthy(value: Any) -> bool:
    return value.lower() == "true" if isinstance(value, str) else value is True

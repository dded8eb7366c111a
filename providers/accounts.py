"""Reading one cloud's accounts out of the settings' ``accounts`` list, for every provider alike."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

Account = TypeVar("Account", bound=BaseModel)


def provider_of(entry: dict[str, Any]) -> str:
    """An account entry's cloud provider key (``type``, or Clouddriver's ``cloudProvider``), lower case."""
    return str(entry.get("type") or entry.get("cloudProvider") or "").lower()


def _reason(error: Any) -> str:
    """``field: why`` for one pydantic error, in the entry's own (camelCase) spelling."""
    field = ".".join(to_camel(p) if isinstance(p, str) else f"[{p}]" for p in error["loc"])
    why = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {why}" if field else why


def parse_accounts(
    entries: list[dict[str, Any]], provider: str, model: type[Account], error: type[Exception]
) -> list[Account]:
    """The ``provider`` accounts among ``entries`` (others skipped), validated by ``model``; a bad entry or a
    repeated name raises ``error`` naming the entry and the field, never the value given."""
    accounts: list[Account] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or provider_of(entry) != provider:
            continue
        label = f"accounts[{index}]" + (f" ({entry['name']})" if isinstance(entry.get("name"), str) else "")
        try:
            accounts.append(model.model_validate(entry))
            continue
        except ValidationError as err:
            # pydantic's own text repeats the input; only the field and the reason are safe to show
            reasons = [_reason(e) for e in err.errors(include_url=False, include_input=False, include_context=False)]
        raise error(f"{label}: {'; '.join(reasons)}")  # outside the except: no chained input
    names = [getattr(a, "name", "") for a in accounts]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise error(f"accounts: {provider.upper()} account names must be unique, repeated: {', '.join(duplicates)}")
    return accounts

"""``#canaryConfigNameToId(name, app)`` (Orca's KayentaConfigExpressionFunctionProvider): the id of the canary
config with that name in that application, read from the store. Built for the expressions activity; inside a
workflow the function has no store and the evaluation moves to the activity (as the URL helpers do)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def lookups(store: Any) -> dict[str, Callable[..., Any]]:
    """The store-reading expression helpers, by function name."""
    from workflows.expressions.errors import ExpressionFunctionError

    canary = store.canary

    def canary_config_name_to_id(name: str, application: str) -> str:
        ids = canary.config_ids_by_name(name, application)
        if not ids:
            raise ExpressionFunctionError(f"no canary config named '{name}' in application '{application}'")
        return ids[0]

    return {"canaryConfigNameToId": canary_config_name_to_id}

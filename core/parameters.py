"""Pipeline parameters: ``parameterConfig`` defaults and required parameters, as Gate and Orca apply them."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


def with_defaults(config: JSON, given: Any) -> JSON:
    """Each ``parameterConfig`` default, overridden by the parameters given."""
    params: JSON = {}
    for p in config.get("parameterConfig") or []:
        if isinstance(p, dict) and isinstance(p.get("name"), str) and p.get("default") not in (None, ""):
            params[p["name"]] = p["default"]
    if isinstance(given, dict):
        params.update(given)
    return params


def missing_required(config: JSON, params: JSON) -> list[str]:
    """Required parameters that have neither a value nor a default (Gate refuses such a manual trigger)."""
    return [
        p["name"]
        for p in config.get("parameterConfig") or []
        if isinstance(p, dict)
        and p.get("required") is True
        and isinstance(p.get("name"), str)
        and params.get(p["name"]) in (None, "")
    ]

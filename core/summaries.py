"""Gate's ``expand=false`` forms, shared by the engine (which writes them) and the store (which keeps them): a
stage's context cut to ``group``. Here, at the bottom, so the store needs nothing of the engine's."""

from __future__ import annotations

from typing import Any


def summary_context(context: Any) -> dict[str, Any]:
    """A stage context as Gate's ``expand=false`` shows it: only ``group`` is kept."""
    group = context.get("group") if isinstance(context, dict) else None
    return {"group": group} if group is not None else {}

"""Imports every stage module so each registers itself. Add new stage modules here."""

from __future__ import annotations

from . import (  # noqa: F401
    check_preconditions,
    evaluate_variables,
    execution_window,
    manual_judgment,
    pipeline_stage,
    wait,
    webhook,  # noqa: F401
)

"""Imports every stage module so each registers itself. Add new stage modules here."""

from __future__ import annotations

from . import check_preconditions, evaluate_variables, manual_judgment, pipeline_stage, wait  # noqa: F401
from . import webhook  # noqa: F401

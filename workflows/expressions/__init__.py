"""Spinnaker's ``${...}`` pipeline expression language (a safe SpEL subset), evaluated in pure Python.

Nothing in this package does I/O, reads clocks, uses randomness or threads, so it can run inside
Temporal workflow code. URL helpers go through ``EvaluationContext.url_fetcher`` (see
``activities/expressions.py``); without a fetcher they raise :class:`UrlFetchUnavailable`.
See ``docs/expressions.md``.
"""

from workflows.expressions.errors import (
    MAX_DOCUMENT_STEPS,
    Budget,
    ExpressionEvaluationError,
    ExpressionFunctionError,
    ExpressionInternalError,
    ExpressionLimitError,
    ExpressionSecurityError,
    ExpressionSyntaxError,
    UrlFetchUnavailable,
)
from workflows.expressions.evaluator import EvaluationContext, evaluate
from workflows.expressions.functions import FUNCTION_NAMES
from workflows.expressions.process import ProcessResult, document_budget, evaluate_condition, process, scan_template

__all__ = [
    "FUNCTION_NAMES",
    "MAX_DOCUMENT_STEPS",
    "Budget",
    "EvaluationContext",
    "ExpressionEvaluationError",
    "ExpressionFunctionError",
    "ExpressionInternalError",
    "ExpressionLimitError",
    "ExpressionSecurityError",
    "ExpressionSyntaxError",
    "ProcessResult",
    "UrlFetchUnavailable",
    "document_budget",
    "evaluate",
    "evaluate_condition",
    "process",
    "scan_template",
]

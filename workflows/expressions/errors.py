"""The expression language's errors, its hard limits, and the per-evaluation work budget.

Every failure raised by this package is a subclass of :class:`workflows.errors.ExpressionError`.
Each class names the Java exception Spinnaker would have recorded in a stage's
``expressionEvaluationSummary`` (``exception_type``), so Deck shows something familiar.
"""

from __future__ import annotations

from collections.abc import Callable

from workflows.errors import ExpressionError

# --- limits -------------------------------------------------------------------------------------
#: longest expression text (between ``${`` and ``}``) we will parse.
MAX_EXPRESSION_LENGTH = 10_000
#: deepest syntax tree we will build (``1+1+1+…`` chains count one level per operator).
MAX_AST_DEPTH = 100
#: deepest bracket/paren/brace nesting the parser will descend into.
MAX_NESTING = 40
#: node visits (plus loop iterations and helper work) allowed in one evaluation.
MAX_STEPS = 100_000
#: the same, shared by every ``${}`` of one document (a stage context, a request body): ``process`` and
#: friends draw all their expressions from one budget of this size, so many expressions cannot add up.
#: Sized against Temporal's 2 s deadlock detector for a workflow task: a spent budget measured 0.09 s of CPU on
#: a quiet 2-core machine and 0.65 s under coverage tracing (1,000,000 steps took 2.25 s there and tripped it).
MAX_DOCUMENT_STEPS = 250_000
#: longest string any operator, method or helper may produce.
MAX_STRING_LENGTH = 1_000_000
#: most items any list or map an expression produces may hold.
MAX_COLLECTION_SIZE = 100_000
#: integers are kept to Java's ``long`` range; going outside it is an error, not a wrap-around.
MAX_INT = 2**63 - 1
MIN_INT = -(2**63)
#: regular expressions (run by RE2, linear in the subject): pattern length and subject length.
MAX_REGEX_LENGTH = 500
MAX_REGEX_SUBJECT = 10_000
#: input size and nesting accepted by #readJson / #readYaml / the URL helpers.
MAX_DOCUMENT_CHARS = 1_000_000
MAX_DOCUMENT_DEPTH = 100
#: how deep ``process`` walks a JSON document before giving up on a subtree.
MAX_WALK_DEPTH = 200


class ExpressionSyntaxError(ExpressionError):
    """The expression text could not be parsed."""

    exception_type = "org.springframework.expression.spel.SpelParseException"

    def __init__(self, message: str, position: int | None = None) -> None:
        self.position = position
        super().__init__(message if position is None else f"{message} (at position {position})")


class ExpressionEvaluationError(ExpressionError):
    """The expression parsed but evaluating it failed (missing property, bad operand types, …)."""

    exception_type = "org.springframework.expression.spel.SpelEvaluationException"


class ExpressionFunctionError(ExpressionEvaluationError):
    """A ``#helper(...)`` function failed (stage not found, bad JSON, …)."""

    exception_type = "com.netflix.spinnaker.kork.expressions.SpelHelperFunctionException"


class ExpressionInternalError(ExpressionEvaluationError):
    """A bug in this package surfaced as a Python exception; reported instead of crashing the caller."""


class ExpressionSecurityError(ExpressionError):
    """The expression asked for something pipeline expressions may never do (types, beans,
    constructors, assignment, methods outside the allow-list)."""

    exception_type = "ExpressionSecurityError"


class ExpressionLimitError(ExpressionError):
    """A safety bound (length, depth, steps, size, regex cost) was exceeded."""

    exception_type = "ExpressionLimitError"


class UrlFetchUnavailable(ExpressionError):
    """A URL helper (``#fromUrl`` …) was called where no fetcher is available (inside a workflow).

    ``process`` lets this escape so the caller can redo the evaluation in an activity.
    """

    exception_type = "UrlFetchUnavailable"


def exception_type_of(error: BaseException) -> str:
    """The name recorded as ``exceptionType`` in an evaluation summary."""
    return getattr(error, "exception_type", None) or type(error).__name__


class Budget:
    """Counts work done by one evaluation (or one whole document) and stops it when a bound is reached.

    ``expired`` is an optional check the API passes to add a wall-clock budget; it is consulted every
    1,024 steps. Workflow code never passes one, so evaluation there stays deterministic (steps only).
    """

    __slots__ = ("steps", "max_steps", "expired", "_next_check")

    def __init__(self, max_steps: int = MAX_STEPS, expired: Callable[[], str | None] | None = None) -> None:
        self.steps = 0
        self.max_steps = max_steps
        self.expired = expired
        self._next_check = 1024

    def tick(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > self.max_steps:
            raise ExpressionLimitError(f"expression evaluation exceeded the step budget of {self.max_steps} operations")
        if self.expired is not None and self.steps >= self._next_check:
            self._next_check = self.steps + 1024
            reason = self.expired()
            if reason:
                raise ExpressionLimitError(reason)

    @staticmethod
    def check_string(value: str) -> str:
        if len(value) > MAX_STRING_LENGTH:
            raise ExpressionLimitError(f"string result longer than the limit of {MAX_STRING_LENGTH} characters")
        return value

    @staticmethod
    def check_length(n: int, what: str = "string") -> None:
        if what == "string":
            if n > MAX_STRING_LENGTH:
                raise ExpressionLimitError(f"string result longer than the limit of {MAX_STRING_LENGTH} characters")
        elif n > MAX_COLLECTION_SIZE:
            raise ExpressionLimitError(f"{what} larger than the limit of {MAX_COLLECTION_SIZE} items")

    @staticmethod
    def check_int(value: int) -> int:
        if value > MAX_INT or value < MIN_INT:
            raise ExpressionEvaluationError("integer overflow: result is outside the 64-bit (Java long) range")
        return value

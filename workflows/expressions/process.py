"""Walking JSON and replacing ``${...}`` in string values, the way Orca's ``ExpressionTransform`` does.

* a string that is exactly one ``${expr}`` becomes the raw result (map, list, number, …);
* a string mixing text and expressions becomes their concatenation (Spring's String conversion);
* a failing expression leaves its string untouched and adds an ``ERROR`` entry to the summary;
  an expression that yields null leaves its text in place and adds an ``INFO`` entry (as Orca);
* a map with ``skipExpressionEvaluation: true`` is returned as is; dict keys are never evaluated;
* :class:`UrlFetchUnavailable` is not recorded but raised, so the caller can retry in an activity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.errors import ExpressionError
from workflows.expressions.errors import (
    MAX_DOCUMENT_STEPS,
    MAX_STRING_LENGTH,
    MAX_WALK_DEPTH,
    Budget,
    ExpressionEvaluationError,
    ExpressionLimitError,
    ExpressionSyntaxError,
    UrlFetchUnavailable,
    exception_type_of,
)
from workflows.expressions.evaluator import EvaluationContext, evaluate
from workflows.expressions.values import java_str, type_name

_OPEN = {"{": "}", "[": "]", "(": ")"}


@dataclass(frozen=True, slots=True)
class Piece:
    """One ``${...}`` inside a string: ``text`` with the wrapper, ``expression`` without it."""

    text: str
    expression: str


@dataclass
class ProcessResult:
    value: Any
    #: Orca's ``expressionEvaluationSummary``: expression text -> list of
    #: ``{description, exceptionType, level, timestamp}``.
    summary: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def scan_template(text: str) -> list[str | Piece]:
    """Split ``text`` into literal strings and :class:`Piece` objects.

    The closing ``}`` is found by a scanner that skips quoted strings (``'x}'``) and balances
    ``{}``, ``[]`` and ``()`` (so ``${ {'a': 1}['a'] }`` works).
    """
    parts: list[str | Piece] = []
    i = literal_start = 0
    n = len(text)
    while True:
        start = text.find("${", i)
        if start < 0:
            break
        stack: list[str] = []
        k = start + 2
        end = -1
        while k < n:
            c = text[k]
            if c in "'\"":
                close = text.find(c, k + 1)
                if close < 0:
                    raise ExpressionSyntaxError(
                        f"unterminated string literal in expression starting at character {start}"
                    )
                k = close + 1
                continue
            if c in _OPEN:
                stack.append(_OPEN[c])
            elif c in ")]" or (c == "}" and stack):
                if not stack or stack.pop() != c:
                    raise ExpressionSyntaxError(f"unbalanced '{c}' in expression starting at character {start}", k)
            elif c == "}":
                end = k
                break
            k += 1
        if end < 0:
            raise ExpressionSyntaxError(f"No ending suffix '}}' for expression starting at character {start}")
        if start > literal_start:
            parts.append(text[literal_start:start])
        parts.append(Piece(text[start : end + 1], text[start + 2 : end]))
        i = literal_start = end + 1
    if literal_start < n:
        parts.append(text[literal_start:])
    return parts


class _Walker:
    def __init__(self, ctx: EvaluationContext, budget: Budget) -> None:
        self.ctx = ctx
        self.budget = budget  # one for the whole document: every ${} draws from it
        self.summary: dict[str, list[dict[str, Any]]] = {}

    def record(self, key: str, level: str, description: str, exception_type: str | None) -> None:
        entry = {
            "description": description.replace("$", ""),  # as Orca does, so Deck does not re-template it
            "exceptionType": exception_type,
            "level": level,
            "timestamp": self.ctx.timestamp_ms,
        }
        entries = self.summary.setdefault(key, [])
        if not any(
            e["description"] == entry["description"] and e["exceptionType"] == exception_type and e["level"] == level
            for e in entries
        ):
            entries.append(entry)

    def failed(self, key: str, field_name: str | None, source: str, error: ExpressionError) -> None:
        where = f"[{field_name}]" if field_name is not None else source
        self.record(key, "ERROR", f"Failed to evaluate {where} {error}", exception_type_of(error))

    def not_found(self, piece: Piece, field_name: str | None, source: str) -> None:
        where = f"[{field_name}]" if field_name is not None else source
        self.record(piece.text, "INFO", f"Failed to evaluate {where} : {piece.expression.strip()} not found", None)

    def walk(self, value: Any, field_name: str | None, depth: int) -> Any:
        if isinstance(value, str):
            return self.string(value, field_name) if "${" in value else value
        if not isinstance(value, (dict, list)):
            return value
        if depth > MAX_WALK_DEPTH:
            error = ExpressionLimitError(f"document is nested more than {MAX_WALK_DEPTH} levels deep; not evaluated")
            self.failed(f"[{field_name}]", field_name, "", error)
            return value
        if isinstance(value, list):
            return [self.walk(v, field_name, depth + 1) for v in value]
        if value.get("skipExpressionEvaluation") is True:
            return value
        return {k: self.walk(v, k if isinstance(k, str) else field_name, depth + 1) for k, v in value.items()}

    def string(self, source: str, field_name: str | None) -> Any:
        try:
            parts = scan_template(source)
        except ExpressionError as e:
            self.failed(source[source.find("${") :], field_name, source, e)
            return source
        pieces = [p for p in parts if isinstance(p, Piece)]
        if len(parts) == 1 and pieces:
            piece = pieces[0]
            try:
                result = evaluate(piece.expression, self.ctx, self.budget)
            except UrlFetchUnavailable:
                raise
            except ExpressionError as e:
                self.failed(piece.text, field_name, source, e)
                return source
            if result is None:
                self.not_found(piece, field_name, source)
                return source
            return result
        out: list[str] = []
        budget = self.budget
        size = 0
        for part in parts:
            if isinstance(part, str):
                text = part
            else:
                try:
                    result = evaluate(part.expression, self.ctx, budget)
                    text = part.text if result is None else java_str(result, budget)
                except UrlFetchUnavailable:
                    raise
                except ExpressionError as e:
                    self.failed(part.text, field_name, source, e)
                    return source
                if result is None:
                    self.not_found(part, field_name, source)
            size += len(text)
            if size > MAX_STRING_LENGTH:
                error = ExpressionLimitError(f"string result longer than the limit of {MAX_STRING_LENGTH} characters")
                self.failed(pieces[0].text, field_name, source, error)
                return source
            out.append(text)
        return "".join(out)


def document_budget(max_steps: int = MAX_DOCUMENT_STEPS) -> Budget:
    """A step budget for one whole document, to share between several ``process`` calls (one request)."""
    return Budget(max_steps)


def process(value: Any, ctx: EvaluationContext, budget: Budget | None = None) -> ProcessResult:
    """Evaluate every ``${...}`` in the string values of ``value`` (dicts and lists are walked).

    All of the document's expressions share one step budget (``budget``, else a fresh
    ``MAX_DOCUMENT_STEPS`` one); once it is spent, the remaining ones fail and are recorded in the
    summary like any failed expression. Returns a new structure plus the evaluation summary; the
    input is not modified.
    """
    walker = _Walker(ctx, budget if budget is not None else document_budget())
    result = walker.walk(value, None, 0)
    return ProcessResult(result, walker.summary)


def evaluate_condition(expression: str, ctx: EvaluationContext, budget: Budget | None = None) -> bool:
    """Evaluate a ``stageEnabled`` / ``expression`` precondition to ``True`` or ``False``.

    Written without ``${}``, but a whole-string ``${...}`` wrapper is tolerated. The result must be a
    boolean or the string ``"true"``/``"false"`` (any case), as in Orca; anything else is an error.
    """
    if not isinstance(expression, str):
        raise ExpressionSyntaxError(f"condition must be a string, not {type(expression).__name__}")
    text = expression.strip()
    if text.startswith("${"):
        parts = scan_template(text)
        if len(parts) == 1 and isinstance(parts[0], Piece):
            text = parts[0].expression
    result = evaluate(text, ctx, budget)
    if isinstance(result, bool):
        return result
    if isinstance(result, str) and result.lower() in ("true", "false"):
        return result.lower() == "true"
    shown = repr(result) if isinstance(result, str) else type_name(result)
    raise ExpressionEvaluationError(f"condition must evaluate to true or false, but it evaluated to {shown}")

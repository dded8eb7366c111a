"""Evaluates a parsed expression against plain JSON data.

Only ``None``/``bool``/``int``/``float``/``str``/``list``/``dict`` are ever operated on. Property
access reads dict keys; methods come from the allow-list in :mod:`methods`; nothing here uses
``getattr`` on a value, imports, I/O, clocks or randomness, so it is safe in a Temporal workflow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workflows.expressions import nodes as ast
from workflows.expressions.errors import (
    MAX_COLLECTION_SIZE,
    Budget,
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionInternalError,
    ExpressionLimitError,
    ExpressionSecurityError,
    ExpressionSyntaxError,
)
from workflows.expressions.functions import call_function
from workflows.expressions.jregex import java_matches
from workflows.expressions.methods import call_method
from workflows.expressions.parser import parse
from workflows.expressions.values import (
    check_float,
    is_number,
    java_compare,
    java_equals,
    java_str,
    to_boolean,
    to_int,
    type_name,
)


@dataclass
class EvaluationContext:
    """What an expression can see.

    ``root``: names visible bare (the stage context keys plus ``trigger``, ``parameters``,
    ``execution``). ``fallback``: ancestor stages' outputs, nearest first, consulted for bare names
    missing from ``root``. ``execution``: the execution as Gate returns it (for ``#stage`` & co).
    ``timestamp_ms`` stamps evaluation-summary entries (no clocks are read here).
    """

    root: dict[str, Any]
    fallback: list[dict[str, Any]] = field(default_factory=list)
    execution: dict[str, Any] = field(default_factory=dict)
    current_stage_id: str | None = None
    url_fetcher: Callable[[str], str] | None = None
    user: str | None = None
    timestamp_ms: int = 0
    #: store-reading helpers by function name (``#canaryConfigNameToId``); empty inside workflows, where such a
    #: function raises UrlFetchUnavailable and the evaluation moves to the expressions activity
    lookups: dict[str, Callable[..., Any]] = field(default_factory=dict)


class _RootMarker:
    """The active object at the top level: bare names resolve against ``root`` then ``fallback``."""

    __slots__ = ()


_ROOT = _RootMarker()
_REFLECTIVE = frozenset({"class", "getClass", "classLoader", "declaringClass", "metaClass"})
_MAX_STRING_REPEAT = 256
#: bare names that can only be an attempt to reach a Java class (when no such key exists)
_JAVA_NAMES = frozenset(
    {
        "java",
        "javax",
        "org",
        "com",
        "sun",
        "String",
        "Math",
        "System",
        "Runtime",
        "Integer",
        "Long",
        "Double",
        "Float",
        "Boolean",
        "Character",
        "Byte",
        "Short",
        "Object",
        "Class",
        "ClassLoader",
        "Thread",
        "ProcessBuilder",
        "UUID",
        "Date",
        "Instant",
        "LocalDate",
        "LocalDateTime",
        "Random",
        "Files",
        "Paths",
    }
)  # Spring 6's limit for 'text' * n


class Evaluator:
    def __init__(self, ctx: EvaluationContext, budget: Budget) -> None:
        self.ctx = ctx
        self.budget = budget
        self._root_map: dict[str, Any] | None = None
        self._dispatch: dict[type, Callable[[Any, Any], Any]] = {
            ast.Literal: lambda n, this: n.value,
            ast.InlineList: self._inline_list,
            ast.InlineMap: self._inline_map,
            ast.Ident: lambda n, this: self._read_name(this, n.name),
            ast.Call: lambda n, this: call_method(self._this_value(this), n.name, self._args(n.args, this), budget),
            ast.Var: self._variable,
            ast.Func: lambda n, this: call_function(n.name, self._args(n.args, this), ctx, budget),
            ast.Chain: self._chain,
            ast.Unary: self._unary,
            ast.Binary: self._binary,
            ast.Ternary: lambda n, this: self.eval(
                n.yes if to_boolean(self.eval(n.cond, this), "ternary condition") else n.no, this
            ),
            ast.Elvis: self._elvis,
        }

    def eval(self, node: ast.Node, this: Any) -> Any:
        self.budget.tick()
        return self._dispatch[type(node)](node, this)

    # --- names and the root -------------------------------------------------------------------
    def root_map(self) -> dict[str, Any]:
        """``#root`` as one map: root keys over ancestor outputs (nearest ancestor wins)."""
        if self._root_map is None:
            merged: dict[str, Any] = {}
            for outputs in reversed(self.ctx.fallback or []):
                if isinstance(outputs, dict):
                    self.budget.tick(1 + len(outputs) // 100)
                    merged.update(outputs)
            merged.update(self.ctx.root or {})
            self._root_map = merged
        return self._root_map

    def _this_value(self, this: Any) -> Any:
        return self.root_map() if this is _ROOT else this

    def _read_name(self, this: Any, name: str) -> Any:
        if this is not _ROOT:
            return self._property(this, name, safe=False)
        root = self.ctx.root or {}
        if name in root:
            return root[name]
        for outputs in self.ctx.fallback or []:
            if isinstance(outputs, dict) and name in outputs:
                return outputs[name]
        if name in _JAVA_NAMES:
            raise ExpressionSecurityError(
                f"Java classes ({name}.…) are not available in pipeline expressions; "
                "call methods on values (e.g. x.toString()) or use the #helper functions"
            )
        raise ExpressionEvaluationError(
            f"EL1008E: Property or field '{name}' cannot be found: it is not a key of the stage context, "
            "an output of an upstream stage, or one of trigger/parameters/execution"
        )

    def _variable(self, node: ast.Var, this: Any) -> Any:
        if node.name == "this":
            return self._this_value(this)
        if node.name == "root":
            return self.root_map()
        raise ExpressionEvaluationError(
            f"unknown variable #{node.name}; the only variables are #this and #root (functions need parentheses)"
        )

    def _property(self, target: Any, name: str, safe: bool) -> Any:
        if target is None:
            if safe:
                return None
            raise ExpressionEvaluationError(f"EL1007E: Property or field '{name}' cannot be found on null")
        if isinstance(target, dict):
            return target.get(name)
        if name in _REFLECTIVE:
            raise ExpressionSecurityError(f"property '{name}' is not allowed on a {type_name(target)}")
        hint = " (use length())" if isinstance(target, str) else " (use size())" if isinstance(target, list) else ""
        raise ExpressionEvaluationError(
            f"EL1008E: Property or field '{name}' cannot be found on a value of type {type_name(target)}{hint}"
        )

    # --- collections --------------------------------------------------------------------------
    def _args(self, nodes: tuple[ast.Node, ...], this: Any) -> list[Any]:
        return [self.eval(a, this) for a in nodes]

    def _inline_list(self, node: ast.InlineList, this: Any) -> list[Any]:
        return [self.eval(item, this) for item in node.items]

    def _inline_map(self, node: ast.InlineMap, this: Any) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.entries:
            key = self.eval(key_node, this)
            result[key if isinstance(key, str) else java_str(key, self.budget)] = self.eval(value_node, this)
        return result

    def _chain(self, node: ast.Chain, this: Any) -> Any:
        value = self.eval(node.base, this)
        for step in node.steps:
            self.budget.tick()
            kind = step.kind
            if kind == "prop":
                value = self._property(value, step.name, step.safe)
            elif kind == "method":
                if value is None and step.safe:
                    continue
                value = call_method(value, step.name, self._args(step.args, this), self.budget)
            elif kind == "index":
                value = self._index(value, step, this)
            else:
                value = self._select(value, step)
        return value

    def _index(self, target: Any, step: ast.Step, this: Any) -> Any:
        expr = step.expr
        assert expr is not None
        if isinstance(target, dict):
            # map[name] means map['name'] in SpEL when the index is a bare identifier
            key = expr.name if isinstance(expr, ast.Ident) else self.eval(expr, this)
            return target.get(key if isinstance(key, str) else java_str(key, self.budget))
        index = self.eval(expr, this)
        if target is None:
            raise ExpressionEvaluationError("EL1012E: Cannot index into a null value")
        if isinstance(target, (list, str)):
            i = to_int(index, "index")
            if not 0 <= i < len(target):
                what = "collection" if isinstance(target, list) else "string"
                raise ExpressionEvaluationError(
                    f"EL1025E: The {what} has '{len(target)}' elements, index '{i}' is invalid"
                )
            return target[i]
        raise ExpressionEvaluationError(f"EL1027E: Indexing into type '{type_name(target)}' is not supported")

    def _select(self, target: Any, step: ast.Step) -> Any:
        expr = step.expr
        assert expr is not None
        kind = step.kind
        if target is None:
            if step.safe:
                return None
            op = "projection" if kind == "project" else "selection"
            raise ExpressionEvaluationError(f"EL1002E: {op} is not supported on null")
        is_map = isinstance(target, dict)
        if is_map:
            items: list[Any] = [{"key": k, "value": v} for k, v in target.items()]
        elif isinstance(target, list):
            items = target
        else:
            raise ExpressionEvaluationError(f"selection and projection need a list or map, not {type_name(target)}")
        self.budget.tick(len(items) // 10)
        if kind == "project":
            return [self.eval(expr, item) for item in items]
        chosen: list[Any] = []
        for item in items:
            ok = self.eval(expr, item)
            if not isinstance(ok, bool):
                raise ExpressionEvaluationError(
                    f"EL1079E: Result of selection criteria is not boolean (got {type_name(ok)})"
                )
            if ok:
                if kind == "first":
                    return {item["key"]: item["value"]} if is_map else item
                chosen.append(item)
        if kind == "last":
            if not chosen:
                return None
            return {chosen[-1]["key"]: chosen[-1]["value"]} if is_map else chosen[-1]
        if kind == "first":
            return None
        return {e["key"]: e["value"] for e in chosen} if is_map else chosen

    # --- operators ----------------------------------------------------------------------------
    def _elvis(self, node: ast.Elvis, this: Any) -> Any:
        value = self.eval(node.left, this)
        return self.eval(node.right, this) if value is None or value == "" else value

    def _unary(self, node: ast.Unary, this: Any) -> Any:
        value = self.eval(node.operand, this)
        if node.op == "!":
            return not to_boolean(value, "operand of 'not'")
        if not is_number(value):
            raise ExpressionEvaluationError(f"unary '{node.op}' needs a number, not {type_name(value)}")
        return (
            Budget.check_int(-value)
            if node.op == "-" and isinstance(value, int)
            else (-value if node.op == "-" else value)
        )

    def _binary(self, node: ast.Binary, this: Any) -> Any:
        op = node.op
        if op in ("and", "or"):
            left = to_boolean(self.eval(node.left, this), f"left operand of '{op}'")
            if (op == "and" and not left) or (op == "or" and left):
                return left
            return to_boolean(self.eval(node.right, this), f"right operand of '{op}'")
        left = self.eval(node.left, this)
        right = self.eval(node.right, this)
        if op == "==":
            return java_equals(left, right, self.budget)
        if op == "!=":
            return not java_equals(left, right, self.budget)
        if op in ("<", ">", "<=", ">="):
            c = java_compare(left, right)
            return {"<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0}[op]
        if op == "matches":
            if not isinstance(left, str) or not isinstance(right, str):
                raise ExpressionEvaluationError(
                    f"'matches' needs a string on both sides, not {type_name(left)} and {type_name(right)}"
                )
            return java_matches(left, right, self.budget)
        if op == "between":
            if not isinstance(right, list) or len(right) != 2:
                raise ExpressionEvaluationError(
                    "EL1040E: 'between' needs a list of two values on the right, e.g. {1, 5}"
                )
            return java_compare(right[0], left) <= 0 <= java_compare(right[1], left)
        if op == "+":
            return self._plus(left, right)
        return self._arithmetic(op, left, right)

    def _plus(self, left: Any, right: Any) -> Any:
        if is_number(left) and is_number(right):
            return self._arithmetic("+", left, right)
        if isinstance(left, str) or isinstance(right, str):
            a, b = java_str(left, self.budget), java_str(right, self.budget)
            Budget.check_length(len(a) + len(b))
            self.budget.tick((len(a) + len(b)) >> 10)
            return a + b
        raise ExpressionEvaluationError(
            f"EL1030E: The operator '+' is not supported between {type_name(left)} and {type_name(right)}"
        )

    def _arithmetic(self, op: str, a: Any, b: Any) -> Any:
        if op == "*" and isinstance(a, str) and isinstance(b, int) and not isinstance(b, bool):
            if not 0 <= b <= _MAX_STRING_REPEAT:
                raise ExpressionLimitError(f"a string may be repeated at most {_MAX_STRING_REPEAT} times")
            Budget.check_length(len(a) * b)
            self.budget.tick((len(a) * b) >> 10)
            return a * b
        if not (is_number(a) and is_number(b)):
            raise ExpressionEvaluationError(
                f"EL1030E: The operator '{op}' is not supported between {type_name(a)} and {type_name(b)}"
            )
        if isinstance(a, int) and isinstance(b, int):
            return Budget.check_int(_int_op(op, a, b))
        x, y = float(a), float(b)
        try:
            if op == "+":
                return check_float(x + y)
            if op == "-":
                return check_float(x - y)
            if op == "*":
                return check_float(x * y)
            if op == "/":
                return check_float(x / y)
            if op == "%":
                return check_float(math.fmod(x, y))
            return check_float(math.pow(x, y))
        except (ZeroDivisionError, OverflowError, ValueError):
            raise ExpressionEvaluationError(f"arithmetic error: {a} {op} {b} is not a finite number") from None


def _int_op(op: str, a: int, b: int) -> int:
    """Java ``long`` arithmetic (without the silent wrap-around: overflow is an error)."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("/", "%"):
        if b == 0:
            raise ExpressionEvaluationError("arithmetic error: / by zero")
        q = abs(a) // abs(b)
        q = q if (a >= 0) == (b >= 0) else -q  # truncate toward zero
        return q if op == "/" else a - b * q
    # power
    if b < 0:
        if a == 0:
            raise ExpressionEvaluationError("arithmetic error: 0 to a negative power")
        if a == 1 or a == -1:
            return a if b % 2 else 1
        return 0  # Java: (long) Math.pow(a, b) truncates the fraction
    if a not in (0, 1, -1) and b * (abs(a).bit_length() - 1) > 64:
        raise ExpressionEvaluationError("integer overflow: result is outside the 64-bit (Java long) range")
    return int(a**b)


def evaluate(expression: str, ctx: EvaluationContext, budget: Budget | None = None) -> Any:
    """Evaluate ``expression`` (written without the ``${ }`` wrapper) and return its raw value.

    ``budget`` is shared when the expression is one of a document's (see ``process``); without one the
    expression gets its own ``MAX_STEPS``. Raises a subclass of :class:`workflows.errors.ExpressionError`
    on any failure.
    """
    if not isinstance(expression, str):
        raise ExpressionSyntaxError(f"expression must be a string, not {type(expression).__name__}")
    try:
        node = parse(expression)
        result = Evaluator(ctx, budget if budget is not None else Budget()).eval(node, _ROOT)
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionLimitError("expression evaluation nested too deeply") from None
    except Exception as e:  # a bug here must not crash the engine; keep it recognisable
        raise ExpressionInternalError(f"internal error evaluating expression: {type(e).__name__}: {e}") from None
    if isinstance(result, list) and len(result) > MAX_COLLECTION_SIZE:
        Budget.check_length(len(result), "list")
    return result

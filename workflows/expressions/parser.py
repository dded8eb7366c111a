"""Recursive-descent parser producing a small, immutable AST for the SpEL subset.

Grammar (lowest precedence first), following Spring's ``InternalSpelExpressionParser``::

    expression  := or ( '?' expression ':' expression | '?:' expression )?
    or          := and ( ('or' | '||') and )*
    and         := rel ( ('and' | '&&') rel )*
    rel         := sum ( relop sum )?          relop: == != < > <= >= eq ne lt gt le ge matches between
    sum         := product ( ('+' | '-') product )*
    product     := power ( ('*' | '/' | '%' | 'div' | 'mod') power )*
    power       := unary ( '^' unary )*
    unary       := ('!' | 'not' | '-' | '+') unary | primary
    primary     := start ( '.' step | '?.' step | '[' expression ']' )*
    step        := name | name '(' args ')' | '?[' e ']' | '^[' e ']' | '$[' e ']' | '![' e ']'
    start       := literal | name | name '(' args ')' | '#' name | '#' name '(' args ')'
                 | '(' expression ')' | '{' inline list or map '}'

Everything that reaches into Java (``T(...)``, ``new``, ``@bean``, ``&bean``, assignment, ``++``/``--``,
``instanceof``) is refused here with :class:`ExpressionSecurityError`, before anything runs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from workflows.expressions.errors import (
    MAX_AST_DEPTH,
    MAX_NESTING,
    ExpressionLimitError,
    ExpressionSecurityError,
    ExpressionSyntaxError,
)
from workflows.expressions.lexer import EOF, FLOAT, IDENT, INT, OP, STRING, Token, tokenize

# --- AST ----------------------------------------------------------------------------------------


class Node:
    """Base of all AST nodes. ``depth`` is the height of the subtree (checked against the limit)."""

    __slots__ = ("pos", "depth")
    pos: int
    depth: int

    def __init__(self, pos: int, *children: Node | None) -> None:
        self.pos = pos
        self.depth = 1 + max((c.depth for c in children if c is not None), default=0)
        if self.depth > MAX_AST_DEPTH:
            raise ExpressionLimitError(f"expression is nested more than {MAX_AST_DEPTH} levels deep")

    def __repr__(self) -> str:
        fields = ", ".join(f"{s}={getattr(self, s)!r}" for s in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Literal(Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: Any) -> None:
        super().__init__(pos)
        self.value = value


class InlineList(Node):
    __slots__ = ("items",)

    def __init__(self, pos: int, items: list[Node]) -> None:
        super().__init__(pos, *items)
        self.items = tuple(items)


class InlineMap(Node):
    """``{a: 1, 'b': 2}``; a bare-name key is the literal string (as in SpEL)."""

    __slots__ = ("entries",)

    def __init__(self, pos: int, entries: list[tuple[Node, Node]]) -> None:
        super().__init__(pos, *(n for pair in entries for n in pair))
        self.entries = tuple(entries)


class Ident(Node):
    """A bare name, read from the active object (the root, or ``#this`` inside a selection)."""

    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        super().__init__(pos)
        self.name = name


class Call(Node):
    """A bare method call, ``name(args)``, on the active object."""

    __slots__ = ("name", "args")

    def __init__(self, pos: int, name: str, args: list[Node]) -> None:
        super().__init__(pos, *args)
        self.name = name
        self.args = tuple(args)


class Var(Node):
    """``#this``, ``#root`` or another ``#name`` variable."""

    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        super().__init__(pos)
        self.name = name


class Func(Node):
    """A helper function call ``#name(args)``."""

    __slots__ = ("name", "args")

    def __init__(self, pos: int, name: str, args: list[Node]) -> None:
        super().__init__(pos, *args)
        self.name = name
        self.args = tuple(args)


class Step:
    """One link of a :class:`Chain`. ``kind``: prop, method, index, select, first, last, project."""

    __slots__ = ("kind", "name", "args", "expr", "safe", "pos")

    def __init__(
        self,
        kind: str,
        pos: int,
        *,
        name: str = "",
        args: tuple[Node, ...] = (),
        expr: Node | None = None,
        safe: bool = False,
    ) -> None:
        self.kind = kind
        self.pos = pos
        self.name = name
        self.args = args
        self.expr = expr
        self.safe = safe

    def __repr__(self) -> str:
        return f"Step({self.kind!r}, name={self.name!r}, args={self.args!r}, expr={self.expr!r}, safe={self.safe})"


class Chain(Node):
    """``base.step.step[...]…`` kept flat so long property paths do not count as deep nesting."""

    __slots__ = ("base", "steps")

    def __init__(self, pos: int, base: Node, steps: list[Step]) -> None:
        children = [base]
        for s in steps:
            children.extend(s.args)
            if s.expr is not None:
                children.append(s.expr)
        super().__init__(pos, *children)
        self.base = base
        self.steps = tuple(steps)


class Unary(Node):
    __slots__ = ("op", "operand")

    def __init__(self, pos: int, op: str, operand: Node) -> None:
        super().__init__(pos, operand)
        self.op = op
        self.operand = operand


class Binary(Node):
    """Arithmetic, comparison, ``matches``, ``between``, and the short-circuit ``and``/``or``."""

    __slots__ = ("op", "left", "right")

    def __init__(self, pos: int, op: str, left: Node, right: Node) -> None:
        super().__init__(pos, left, right)
        self.op = op
        self.left = left
        self.right = right


class Ternary(Node):
    __slots__ = ("cond", "yes", "no")

    def __init__(self, pos: int, cond: Node, yes: Node, no: Node) -> None:
        super().__init__(pos, cond, yes, no)
        self.cond = cond
        self.yes = yes
        self.no = no


class Elvis(Node):
    __slots__ = ("left", "right")

    def __init__(self, pos: int, left: Node, right: Node) -> None:
        super().__init__(pos, left, right)
        self.left = left
        self.right = right


# --- parser -------------------------------------------------------------------------------------

_REL_SYMBOLS = {"==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
_REL_WORDS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "matches": "matches",
    "between": "between",
}
_SELECTORS = {"?[": "select", "^[": "first", "$[": "last", "![": "project"}


def _refuse_name(name: str, pos: int) -> None:
    if name.startswith("__"):
        raise ExpressionSecurityError(f"names starting with '__' ({name!r}) are not allowed in pipeline expressions")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0

    # token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        if t.kind != EOF:
            self.i += 1
        return t

    def expect_op(self, op: str) -> Token:
        if not self.tok.is_op(op):
            raise ExpressionSyntaxError(f"expected '{op}' but found {self.tok.describe()}", self.tok.pos)
        return self.advance()

    # grammar
    def parse(self) -> Node:
        if self.tok.kind == EOF:
            raise ExpressionSyntaxError("empty expression", 0)
        node = self.expression()
        if self.tok.kind != EOF:
            self._refuse_operator(self.tok)
            raise ExpressionSyntaxError(f"unexpected {self.tok.describe()}", self.tok.pos)
        return node

    def _refuse_operator(self, t: Token) -> None:
        if t.is_op("="):
            raise ExpressionSecurityError("assignment (=) is not allowed in pipeline expressions")
        if t.is_op("++", "--"):
            raise ExpressionSecurityError(f"increment/decrement ({t.value}) is not allowed in pipeline expressions")
        if t.is_word("instanceof"):
            raise ExpressionSecurityError(
                "instanceof needs a type reference (T(...)); type references are not allowed in pipeline expressions"
            )

    def expression(self) -> Node:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ExpressionLimitError(f"expression nests brackets more than {MAX_NESTING} levels deep")
        left = self.logical_or()
        t = self.tok
        self._refuse_operator(t)
        if t.is_op("?:"):
            self.advance()
            left = Elvis(t.pos, left, self.expression())
        elif t.is_op("?"):
            self.advance()
            yes = self.expression()
            self.expect_op(":")
            left = Ternary(t.pos, left, yes, self.expression())
        self.nesting -= 1
        return left

    def logical_or(self) -> Node:
        left = self.logical_and()
        while self.tok.is_op("||") or self.tok.is_word("or"):
            t = self.advance()
            left = Binary(t.pos, "or", left, self.logical_and())
        return left

    def logical_and(self) -> Node:
        left = self.relational()
        while self.tok.is_op("&&") or self.tok.is_word("and"):
            t = self.advance()
            left = Binary(t.pos, "and", left, self.relational())
        return left

    def relational(self) -> Node:
        left = self.sum()
        t = self.tok
        self._refuse_operator(t)
        op = None
        if t.kind == OP and t.value in _REL_SYMBOLS:
            op = _REL_SYMBOLS[t.value]
        elif t.kind == IDENT and t.value.lower() in _REL_WORDS:
            op = _REL_WORDS[t.value.lower()]
        if op is None:
            return left
        self.advance()
        return Binary(t.pos, op, left, self.sum())

    def sum(self) -> Node:
        left = self.product()
        while self.tok.is_op("+", "-"):
            t = self.advance()
            left = Binary(t.pos, t.value, left, self.product())
        return left

    def product(self) -> Node:
        left = self.power()
        while self.tok.is_op("*", "/", "%") or self.tok.is_word("div", "mod"):
            t = self.advance()
            op = {"div": "/", "mod": "%"}.get(t.value.lower(), t.value)
            left = Binary(t.pos, op, left, self.power())
        return left

    def power(self) -> Node:
        left = self.unary()
        while self.tok.is_op("^"):
            t = self.advance()
            left = Binary(t.pos, "^", left, self.unary())
        return left

    def unary(self) -> Node:
        t = self.tok
        if t.is_op("!") or t.is_word("not"):
            self.advance()
            return Unary(t.pos, "!", self._unary_operand())
        if t.is_op("-", "+"):
            self.advance()
            return Unary(t.pos, t.value, self._unary_operand())
        self._refuse_operator(t)
        node = self.primary()
        self._refuse_operator(self.tok)  # postfix ++ / --
        return node

    def _unary_operand(self) -> Node:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ExpressionLimitError(f"expression nests operators more than {MAX_NESTING} levels deep")
        node = self.unary()
        self.nesting -= 1
        return node

    def primary(self) -> Node:
        start = self.tok
        base = self.start_node()
        steps: list[Step] = []
        while True:
            t = self.tok
            if t.is_op(".", "?."):
                self.advance()
                steps.append(self.dotted_step(safe=t.value == "?."))
            elif t.is_op("["):
                self.advance()
                expr = self.expression()
                self.expect_op("]")
                steps.append(Step("index", t.pos, expr=expr))
            else:
                break
        return Chain(start.pos, base, steps) if steps else base

    def dotted_step(self, safe: bool) -> Step:
        t = self.tok
        if t.kind == OP and t.value in _SELECTORS:
            self.advance()
            expr = self.expression()
            self.expect_op("]")
            return Step(_SELECTORS[t.value], t.pos, expr=expr, safe=safe)
        if t.kind != IDENT:
            raise ExpressionSyntaxError(f"expected a property or method name after '.', found {t.describe()}", t.pos)
        self.advance()
        _refuse_name(t.value, t.pos)
        if self.tok.is_op("("):
            return Step("method", t.pos, name=t.value, args=tuple(self.arguments()), safe=safe)
        return Step("prop", t.pos, name=t.value, safe=safe)

    def arguments(self) -> list[Node]:
        self.expect_op("(")
        args: list[Node] = []
        if self.tok.is_op(")"):
            self.advance()
            return args
        while True:
            args.append(self.expression())
            if self.tok.is_op(","):
                self.advance()
                continue
            self.expect_op(")")
            return args

    def start_node(self) -> Node:
        t = self.tok
        if t.kind in (INT, FLOAT, STRING):
            self.advance()
            return Literal(t.pos, t.value)
        if t.kind == IDENT:
            return self.name_node()
        if t.is_op("#"):
            self.advance()
            name = self.tok
            if name.kind != IDENT:
                raise ExpressionSyntaxError(
                    f"expected a variable or function name after '#', found {name.describe()}", name.pos
                )
            self.advance()
            _refuse_name(name.value, name.pos)
            if self.tok.is_op("("):
                return Func(t.pos, name.value, self.arguments())
            self._refuse_operator(self.tok)
            return Var(t.pos, name.value)
        if t.is_op("@", "&"):
            raise ExpressionSecurityError(f"bean references ({t.value}name) are not allowed in pipeline expressions")
        if t.is_op("("):
            self.advance()
            node = self.expression()
            self.expect_op(")")
            return node
        if t.is_op("{"):
            return self.inline_collection()
        self._refuse_operator(t)
        raise ExpressionSyntaxError(f"unexpected {t.describe()}", t.pos)

    def name_node(self) -> Node:
        t = self.advance()
        word = t.value.lower()
        if word in ("true", "false"):
            return Literal(t.pos, word == "true")
        if word == "null":
            return Literal(t.pos, None)
        if t.value == "T" and self.tok.is_op("("):
            raise ExpressionSecurityError("type references (T(...)) are not allowed in pipeline expressions")
        if word == "new" and self.tok.kind == IDENT:
            raise ExpressionSecurityError("constructors (new ...) are not allowed in pipeline expressions")
        _refuse_name(t.value, t.pos)
        if self.tok.is_op("("):
            return Call(t.pos, t.value, self.arguments())
        return Ident(t.pos, t.value)

    def inline_collection(self) -> Node:
        open_ = self.expect_op("{")
        if self.tok.is_op("}"):
            self.advance()
            return InlineList(open_.pos, [])
        if self.tok.is_op(":") and self.peek().is_op("}"):
            self.advance()
            self.advance()
            return InlineMap(open_.pos, [])
        first = self.expression()
        if not self.tok.is_op(":"):
            items = [first]
            while self.tok.is_op(","):
                self.advance()
                items.append(self.expression())
            self.expect_op("}")
            return InlineList(open_.pos, items)
        entries: list[tuple[Node, Node]] = []
        key = first
        while True:
            self.expect_op(":")
            if isinstance(key, Ident):  # {name: 1} means the string key 'name'
                key = Literal(key.pos, key.name)
            entries.append((key, self.expression()))
            if not self.tok.is_op(","):
                break
            self.advance()
            key = self.expression()
        self.expect_op("}")
        return InlineMap(open_.pos, entries)


@lru_cache(maxsize=2048)
def parse(text: str) -> Node:
    """Parse an expression (without the ``${ }`` wrapper) into an AST. Results are cached."""
    try:
        return _Parser(text).parse()
    except RecursionError:  # a safety net; the nesting limits should make this unreachable
        raise ExpressionLimitError("expression is nested too deeply") from None

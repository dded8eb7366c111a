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

from workflows.expressions.errors import (
    MAX_NESTING,
    ExpressionLimitError,
    ExpressionSecurityError,
    ExpressionSyntaxError,
)
from workflows.expressions.lexer import EOF, FLOAT, IDENT, INT, OP, STRING, Token, tokenize
from workflows.expressions.nodes import (  # re-exported: callers use parser.Binary etc.
    Binary,
    Call,
    Chain,
    Elvis,
    Func,
    Ident,
    InlineList,
    InlineMap,
    Literal,
    Node,
    Step,
    Ternary,
    Unary,
    Var,
)

__all__ = [
    "Binary",
    "Call",
    "Chain",
    "Elvis",
    "Func",
    "Ident",
    "InlineList",
    "InlineMap",
    "Literal",
    "Node",
    "Step",
    "Ternary",
    "Unary",
    "Var",
    "parse",
]

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


def _refuse_name(name: str) -> None:
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
        return Chain(start.pos, base, tuple(steps)) if steps else base

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
        _refuse_name(t.value)
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
            _refuse_name(name.value)
            if self.tok.is_op("("):
                return Func(t.pos, name.value, tuple(self.arguments()))
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
        _refuse_name(t.value)
        if self.tok.is_op("("):
            return Call(t.pos, t.value, tuple(self.arguments()))
        return Ident(t.pos, t.value)

    def inline_collection(self) -> Node:
        open_ = self.expect_op("{")
        if self.tok.is_op("}"):
            self.advance()
            return InlineList(open_.pos, ())
        if self.tok.is_op(":") and self.peek().is_op("}"):
            self.advance()
            self.advance()
            return InlineMap(open_.pos, ())
        first = self.expression()
        if not self.tok.is_op(":"):
            items = [first]
            while self.tok.is_op(","):
                self.advance()
                items.append(self.expression())
            self.expect_op("}")
            return InlineList(open_.pos, tuple(items))
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
        return InlineMap(open_.pos, tuple(entries))


@lru_cache(maxsize=2048)
def parse(text: str) -> Node:
    """Parse an expression (without the ``${ }`` wrapper) into an AST. Results are cached."""
    try:
        return _Parser(text).parse()
    except RecursionError:  # a safety net; the nesting limits should make this unreachable
        raise ExpressionLimitError("expression is nested too deeply") from None

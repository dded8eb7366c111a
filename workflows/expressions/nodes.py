"""The AST the parser builds: small dataclasses, each knowing its subtree depth.

``depth`` is computed on construction and checked against ``MAX_AST_DEPTH``, so an over-deep tree is
never even built (and evaluating a tree can never exhaust Python's stack).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.expressions.errors import MAX_AST_DEPTH, ExpressionLimitError


@dataclass(slots=True, eq=False)
class Node:
    pos: int
    depth: int = field(init=False, repr=False)

    def children(self) -> tuple[Node, ...]:
        return ()

    def __post_init__(self) -> None:
        self.depth = 1 + max((c.depth for c in self.children()), default=0)
        if self.depth > MAX_AST_DEPTH:
            raise ExpressionLimitError(f"expression is nested more than {MAX_AST_DEPTH} levels deep")


@dataclass(slots=True, eq=False)
class Literal(Node):
    value: Any


@dataclass(slots=True, eq=False)
class InlineList(Node):
    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(slots=True, eq=False)
class InlineMap(Node):
    """``{a: 1, 'b': 2}``; a bare-name key is the literal string (as in SpEL)."""

    entries: tuple[tuple[Node, Node], ...]

    def children(self) -> tuple[Node, ...]:
        return tuple(n for pair in self.entries for n in pair)


@dataclass(slots=True, eq=False)
class Ident(Node):
    """A bare name, read from the active object (the root, or ``#this`` inside a selection)."""

    name: str


@dataclass(slots=True, eq=False)
class Call(Node):
    """A bare method call, ``name(args)``, on the active object."""

    name: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


@dataclass(slots=True, eq=False)
class Var(Node):
    """``#this``, ``#root`` or another ``#name`` variable."""

    name: str


@dataclass(slots=True, eq=False)
class Func(Node):
    """A helper function call ``#name(args)``."""

    name: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


@dataclass(slots=True, eq=False)
class Step:
    """One link of a :class:`Chain`. ``kind``: prop, method, index, select, first, last, project."""

    kind: str
    pos: int
    name: str = ""
    args: tuple[Node, ...] = ()
    expr: Node | None = None
    safe: bool = False


@dataclass(slots=True, eq=False)
class Chain(Node):
    """``base.step.step[...]…`` kept flat so long property paths do not count as deep nesting."""

    base: Node
    steps: tuple[Step, ...]

    def children(self) -> tuple[Node, ...]:
        nodes = [self.base]
        for step in self.steps:
            nodes.extend(step.args)
            if step.expr is not None:
                nodes.append(step.expr)
        return tuple(nodes)


@dataclass(slots=True, eq=False)
class Unary(Node):
    op: str
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(slots=True, eq=False)
class Binary(Node):
    """Arithmetic, comparison, ``matches``, ``between``, and the short-circuit ``and``/``or``."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(slots=True, eq=False)
class Ternary(Node):
    cond: Node
    yes: Node
    no: Node

    def children(self) -> tuple[Node, ...]:
        return (self.cond, self.yes, self.no)


@dataclass(slots=True, eq=False)
class Elvis(Node):
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

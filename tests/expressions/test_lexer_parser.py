"""Tokenizer and parser: literals, operators, AST shapes, syntax errors and parse-time refusals."""

from __future__ import annotations

import pytest

from workflows.errors import ExpressionError
from workflows.expressions import ExpressionLimitError, ExpressionSecurityError, ExpressionSyntaxError
from workflows.expressions import parser as ast
from workflows.expressions.errors import MAX_AST_DEPTH, MAX_EXPRESSION_LENGTH
from workflows.expressions.lexer import EOF, FLOAT, IDENT, INT, OP, STRING, tokenize


def kinds_values(text: str) -> list[tuple[str, object]]:
    return [(t.kind, t.value) for t in tokenize(text) if t.kind != EOF]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", [(INT, 42)]),
        ("10L", [(INT, 10)]),
        ("10l", [(INT, 10)]),
        ("0x1F", [(INT, 31)]),
        ("0xffL", [(INT, 255)]),
        ("1.5", [(FLOAT, 1.5)]),
        ("1e3", [(FLOAT, 1000.0)]),
        ("2.5E-1", [(FLOAT, 0.25)]),
        ("3f", [(FLOAT, 3.0)]),
        ("4.0d", [(FLOAT, 4.0)]),
        ("'it''s'", [(STRING, "it's")]),
        ('"say ""hi"""', [(STRING, 'say "hi"')]),
        ("'a\"b'", [(STRING, 'a"b')]),
        ("''", [(STRING, "")]),
        ("foo_bar$1", [(IDENT, "foo_bar$1")]),
        ("a?.b", [(IDENT, "a"), (OP, "?."), (IDENT, "b")]),
        ("a ?: b", [(IDENT, "a"), (OP, "?:"), (IDENT, "b")]),
        ("x.?[y]", [(IDENT, "x"), (OP, "."), (OP, "?["), (IDENT, "y"), (OP, "]")]),
        ("x.^[y]", [(IDENT, "x"), (OP, "."), (OP, "^["), (IDENT, "y"), (OP, "]")]),
        ("x.$[y]", [(IDENT, "x"), (OP, "."), (OP, "$["), (IDENT, "y"), (OP, "]")]),
        ("x.![y]", [(IDENT, "x"), (OP, "."), (OP, "!["), (IDENT, "y"), (OP, "]")]),
        (
            "a<=b>=c!=d==e",
            [
                (IDENT, "a"),
                (OP, "<="),
                (IDENT, "b"),
                (OP, ">="),
                (IDENT, "c"),
                (OP, "!="),
                (IDENT, "d"),
                (OP, "=="),
                (IDENT, "e"),
            ],
        ),
        ("a&&b||!c", [(IDENT, "a"), (OP, "&&"), (IDENT, "b"), (OP, "||"), (OP, "!"), (IDENT, "c")]),
        ("1.toString()", [(INT, 1), (OP, "."), (IDENT, "toString"), (OP, "("), (OP, ")")]),
    ],
)
def test_tokens(text: str, expected: list[tuple[str, object]]) -> None:
    assert kinds_values(text) == expected


def test_token_positions_point_into_the_text() -> None:
    tokens = tokenize("ab + 'c'")
    assert [t.pos for t in tokens] == [0, 3, 5, 8]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("'open", "unterminated string"),
        ('"open', "unterminated string"),
        ("1 ~ 2", "unexpected character"),
        ("0x", "hexadecimal"),
        ("99999999999999999999", "too large"),
        ("0x1FFFFFFFFFFFFFFFF", "too large"),
        ("1.5L", "cannot have an L suffix"),
    ],
)
def test_lexer_errors(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match=fragment):
        tokenize(text)


def test_expression_length_limit() -> None:
    with pytest.raises(ExpressionLimitError, match="limit is"):
        tokenize("1" + "+1" * MAX_EXPRESSION_LENGTH)


def test_ast_shapes() -> None:
    node = ast.parse("1 + 2 * 3")
    assert isinstance(node, ast.Binary) and node.op == "+"
    assert isinstance(node.right, ast.Binary) and node.right.op == "*"

    node = ast.parse("(1 + 2) * 3")
    assert isinstance(node, ast.Binary) and node.op == "*" and isinstance(node.left, ast.Binary)

    node = ast.parse("a.b['c'][0].d()")
    assert isinstance(node, ast.Chain) and isinstance(node.base, ast.Ident)
    assert [s.kind for s in node.steps] == ["prop", "index", "index", "method"]

    node = ast.parse("a?.b")
    assert isinstance(node, ast.Chain) and node.steps[0].safe is True

    node = ast.parse("#stage('x').status")
    assert isinstance(node, ast.Chain) and isinstance(node.base, ast.Func) and node.base.name == "stage"

    node = ast.parse("#this")
    assert isinstance(node, ast.Var) and node.name == "this"

    node = ast.parse("a ? b : c ?: d")
    assert isinstance(node, ast.Ternary) and isinstance(node.no, ast.Elvis)

    node = ast.parse("list.?[x > 1].![y]")
    assert [s.kind for s in node.steps] == ["select", "project"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("a eq b", "=="),
        ("a NE b", "!="),
        ("a lt b", "<"),
        ("a gt b", ">"),
        ("a le b", "<="),
        ("a ge b", ">="),
        ("a matches b", "matches"),
        ("a between b", "between"),
        ("a div b", "/"),
        ("a MOD b", "%"),
        ("a and b", "and"),
        ("a Or b", "or"),
        ("a && b", "and"),
        ("a || b", "or"),
        ("a ^ b", "^"),
    ],
)
def test_word_and_symbol_operators(text: str, op: str) -> None:
    node = ast.parse(text)
    assert isinstance(node, ast.Binary) and node.op == op


def test_word_operators_are_plain_names_after_a_dot() -> None:
    node = ast.parse("a.and.or.eq")
    assert isinstance(node, ast.Chain) and [s.name for s in node.steps] == ["and", "or", "eq"]


def test_inline_collections() -> None:
    empty_list = ast.parse("{}")
    assert isinstance(empty_list, ast.InlineList) and empty_list.items == ()
    empty_map = ast.parse("{:}")
    assert isinstance(empty_map, ast.InlineMap) and empty_map.entries == ()
    lst = ast.parse("{1, 2, 3}")
    assert isinstance(lst, ast.InlineList) and len(lst.items) == 3
    mp = ast.parse("{a: 1, 'b': 2}")
    assert isinstance(mp, ast.InlineMap)
    keys = [k for k, _ in mp.entries]
    assert all(isinstance(k, ast.Literal) for k in keys)
    assert [k.value for k in keys] == ["a", "b"]  # type: ignore[attr-defined]


def test_literals_are_case_insensitive() -> None:
    assert ast.parse("TRUE").value is True  # type: ignore[attr-defined]
    assert ast.parse("False").value is False  # type: ignore[attr-defined]
    assert ast.parse("NULL").value is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    ["", "1 +", "(1", "a.", "a[1", "{1, 2", "a ? b", "#", "#1", "1 2", "a..b", "f(1,", ")", "1 < 2 < 3"],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        ast.parse(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("T(java.lang.Runtime).getRuntime().exec('id')", r"type references \(T\(...\)\)"),
        ("new java.io.File('/etc/passwd')", r"constructors \(new ...\)"),
        ("@myBean.doThing()", "bean references"),
        ("&factoryBean", "bean references"),
        ("a = 1", r"assignment \(=\)"),
        ("#x = 1", r"assignment \(=\)"),
        ("a.b = 1", r"assignment \(=\)"),
        ("a++", "increment/decrement"),
        ("--a", "increment/decrement"),
        ("'x' instanceof T(String)", "instanceof"),
        ("__class__", "names starting with '__'"),
        ("a.__class__", "names starting with '__'"),
        ("a.__init__()", "names starting with '__'"),
        ("#__builtins__", "names starting with '__'"),
    ],
)
def test_refused_constructs(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionSecurityError, match=fragment):
        ast.parse(text)


def test_security_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError):
        ast.parse("T(java.lang.System)")


def test_ast_depth_limit_for_long_operator_chains() -> None:
    ast.parse("+".join(["1"] * (MAX_AST_DEPTH - 1)))  # fine
    with pytest.raises(ExpressionLimitError, match="nested more than"):
        ast.parse("+".join(["1"] * (MAX_AST_DEPTH + 5)))


def test_bracket_nesting_limit() -> None:
    assert isinstance(ast.parse("(" * 20 + "1" + ")" * 20), ast.Literal)
    with pytest.raises(ExpressionLimitError):
        ast.parse("(" * 500 + "1" + ")" * 500)
    with pytest.raises(ExpressionLimitError):
        ast.parse("!" * 500 + "true")
    with pytest.raises(ExpressionLimitError):
        ast.parse("{" * 500 + "}" * 500)


def test_long_flat_property_paths_are_not_deep() -> None:
    node = ast.parse(".".join(["a"] * 500))
    assert isinstance(node, ast.Chain) and len(node.steps) == 499 and node.depth == 2


def test_parse_is_cached() -> None:
    assert ast.parse("a.b + 1") is ast.parse("a.b + 1")

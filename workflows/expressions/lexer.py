"""Tokenizer for the SpEL subset used in Spinnaker pipeline expressions.

Produces a flat list of :class:`Token`. Word operators (``and``, ``eq``, ``matches`` …) come out as
identifiers; the parser decides what they mean from where they stand (after a ``.`` they are just
property names, as in SpEL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflows.expressions.errors import (
    MAX_EXPRESSION_LENGTH,
    MAX_INT,
    ExpressionLimitError,
    ExpressionSyntaxError,
)

#: token kinds
INT = "int"
FLOAT = "float"
STRING = "string"
IDENT = "ident"
OP = "op"
EOF = "eof"

# Longest first. "?[", "^[", "$[", "![" are SpEL's selection/projection openers (used after a dot).
_TWO_CHAR = ("==", "!=", "<=", ">=", "&&", "||", "?.", "?:", "?[", "^[", "$[", "![", "++", "--")
_ONE_CHAR = set("+-*/%^<>!=()[]{},.:?#@&|;")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: Any
    pos: int

    def is_op(self, *ops: str) -> bool:
        return self.kind == OP and self.value in ops

    def is_word(self, *words: str) -> bool:
        """An identifier equal (case-insensitively, like SpEL's word operators) to one of ``words``."""
        return self.kind == IDENT and self.value.lower() in words

    def describe(self) -> str:
        if self.kind == EOF:
            return "end of expression"
        if self.kind == STRING:
            return f"string '{self.value}'"
        return f"'{self.value}'"


def _is_ident_start(ch: str) -> bool:
    return ch.isalpha() or ch in "_$"


def _is_ident_part(ch: str) -> bool:
    return ch.isalnum() or ch in "_$"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises :class:`ExpressionSyntaxError` on bad input."""
    if not isinstance(text, str):
        raise ExpressionSyntaxError(f"expression must be a string, not {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionLimitError(f"expression is {len(text)} characters long; the limit is {MAX_EXPRESSION_LENGTH}")
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n\f\v":
            i += 1
            continue
        if ch.isdigit() and ch.isascii():
            i = _lex_number(text, i, tokens)
            continue
        if ch in "'\"":
            i = _lex_string(text, i, tokens)
            continue
        pair = text[i : i + 2]
        if pair in _TWO_CHAR:
            tokens.append(Token(OP, pair, i))
            i += 2
            continue
        if _is_ident_start(ch):
            start = i
            i += 1
            while i < n and _is_ident_part(text[i]):
                i += 1
            tokens.append(Token(IDENT, text[start:i], start))
            continue
        if ch in _ONE_CHAR:
            tokens.append(Token(OP, ch, i))
            i += 1
            continue
        raise ExpressionSyntaxError(f"unexpected character {ch!r}", i)
    tokens.append(Token(EOF, None, n))
    return tokens


def _lex_string(text: str, i: int, tokens: list[Token]) -> int:
    quote = text[i]
    start = i
    i += 1
    parts: list[str] = []
    n = len(text)
    while True:
        j = text.find(quote, i)
        if j < 0:
            raise ExpressionSyntaxError("unterminated string literal", start)
        parts.append(text[i:j])
        if j + 1 < n and text[j + 1] == quote:  # '' inside '...' (or "" inside "...") is one quote
            parts.append(quote)
            i = j + 2
            continue
        tokens.append(Token(STRING, "".join(parts), start))
        return j + 1


def _lex_number(text: str, i: int, tokens: list[Token]) -> int:
    start = i
    n = len(text)
    if text[i] == "0" and i + 1 < n and text[i + 1] in "xX":
        i += 2
        digits_start = i
        while i < n and text[i] in "0123456789abcdefABCDEF":
            i += 1
        if i == digits_start:
            raise ExpressionSyntaxError("hexadecimal literal needs digits after 0x", start)
        if i - digits_start > 16 or int(text[digits_start:i], 16) > MAX_INT:
            raise ExpressionSyntaxError(f"number {text[start:i]} is too large", start)
        value = int(text[digits_start:i], 16)
        if i < n and text[i] in "lL":
            i += 1
        tokens.append(Token(INT, value, start))
        return i
    while i < n and text[i].isdigit() and text[i].isascii():
        i += 1
    is_real = False
    if i + 1 < n and text[i] == "." and text[i + 1].isdigit() and text[i + 1].isascii():
        is_real = True
        i += 1
        while i < n and text[i].isdigit() and text[i].isascii():
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j].isdigit() and text[j].isascii():
            is_real = True
            i = j
            while i < n and text[i].isdigit() and text[i].isascii():
                i += 1
    literal = text[start:i]
    if i < n and text[i] in "fFdD":
        i += 1
        is_real = True
    elif i < n and text[i] in "lL":
        if is_real:
            raise ExpressionSyntaxError(f"real number {literal} cannot have an L suffix", start)
        i += 1
    if is_real:
        number = float(literal)
        if number in (float("inf"), float("-inf")):
            raise ExpressionSyntaxError(f"number {literal} is too large", start)
        tokens.append(Token(FLOAT, number, start))
    else:
        if len(literal) > 19 or int(literal) > MAX_INT:
            raise ExpressionSyntaxError(f"number {literal} is too large", start)
        tokens.append(Token(INT, int(literal), start))
    return i

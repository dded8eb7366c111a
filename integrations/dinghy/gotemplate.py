"""The subset of Go's ``text/template`` that dinghyfiles use, with Dinghy's pre-pass folded into the lexer.

Supported: text and ``{{ }}`` actions with ``{{-``/``-}}`` trimming and ``{{/* */}}`` comments; pipelines
(``a | f b``), parenthesised pipelines, fields (``.A.b``, ``$x.y``), variables (``$x := ...``, ``$x = ...``),
string/raw-string/number/bool/nil literals; ``if``/``else if``/``else``/``range`` (with ``$i, $v :=``)/``with``/
``end``, ``break``/``continue``; Go's built-ins ``and or not eq ne lt le gt ge len index print printf println``.
Not supported: ``define``/``template``/``block`` (dinghyfiles use modules instead); they are refused by name.

Dinghy's pre-pass, done here without moving any position: inside an action a JSON object or array literal
(``["a","b"]``, ``{"k": 1}``) is read as one string argument, and ``?:`` followed by white space is skipped.

Every node keeps the offset where it starts in its source file, so errors name file, line and column of the
source. Output is kept as segments that remember where their text came from, so a JSON error in the rendered
text is also reported at its source position (``Output.locate``).

Bounds (``Limits``): evaluation steps, output size and nesting depth; past them rendering stops with a
``DinghyTemplateError`` naming the limit. Pure code: no I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import InvalidInputError

KEYWORDS = {"if", "else", "end", "range", "with", "break", "continue", "define", "template", "block", "nil"}


@dataclass
class Limits:
    """How far one render may go before it is stopped; documented in docs/pipelines-as-code.md."""

    max_steps: int = 1_000_000  # evaluated nodes across a render, modules included
    max_output: int = 8 * 1024 * 1024  # characters of rendered text across a render
    max_depth: int = 16  # nested module calls


class DinghyTemplateError(InvalidInputError):
    """A template that cannot be parsed or executed; ``where`` is ``file:line:column`` in the source."""

    def __init__(self, message: str, file: str = "", line: int = 0, column: int = 0) -> None:
        self.message, self.file, self.line, self.column = message, file, line, column
        super().__init__(self.text())

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file

    def text(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


@dataclass
class Source:
    name: str
    text: str

    def error(self, message: str, offset: int) -> DinghyTemplateError:
        line, col = line_col(self.text, offset)
        return DinghyTemplateError(message, self.name, line, col)


# ---- lexing -------------------------------------------------------------------------------------------------


@dataclass
class Tok:
    kind: str  # str, num, bool, nil, field, var, ident, ( ) | := = , dot, end
    value: Any
    pos: int


def _go_unquote(body: str) -> str:
    escapes = {
        "n": "\n",
        "t": "\t",
        "r": "\r",
        "\\": "\\",
        '"': '"',
        "'": "'",
        "a": "\a",
        "b": "\b",
        "f": "\f",
        "v": "\v",
    }
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in escapes:
            out.append(escapes[nxt])
            i += 2
        elif nxt in ("u", "x", "U"):
            width = {"u": 4, "x": 2, "U": 8}[nxt]
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        else:
            raise ValueError(f"unknown escape sequence \\{nxt}")
    return "".join(out)


def _lex_action(src: Source, start: int, end: int) -> list[Tok]:
    """Tokens of the action text ``src.text[start:end]``."""
    text, i, toks = src.text, start, []
    while i < end:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("?:", i) and i + 2 < end and text[i + 2].isspace():
            i += 2  # Dinghy's "elvis" token is only for reading
        elif ch == '"':
            j = i + 1
            while j < end and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= end:
                raise src.error("unterminated quoted string", i)
            try:
                toks.append(Tok("str", _go_unquote(text[i + 1 : j]), i))
            except (ValueError, IndexError) as err:
                raise src.error(f"bad string literal: {err}", i) from None
            i = j + 1
        elif ch == "`":
            j = text.find("`", i + 1, end)
            if j < 0:
                raise src.error("unterminated raw quoted string", i)
            toks.append(Tok("str", text[i + 1 : j], i))
            i = j + 1
        elif ch in "{[":
            j = _json_literal_end(text, i, end)
            toks.append(Tok("str", text[i:j], i))
            i = j
        elif ch in "()|,":
            toks.append(Tok(ch, ch, i))
            i += 1
        elif text.startswith(":=", i):
            toks.append(Tok(":=", ":=", i))
            i += 2
        elif ch == "=":
            toks.append(Tok("=", "=", i))
            i += 1
        elif ch == "." or ch == "$":
            j = i + 1
            while j < end and (text[j].isalnum() or text[j] in "_."):
                j += 1
            word = text[i:j]
            if ch == "." and word == ".":
                toks.append(Tok("dot", None, i))
            elif ch == ".":
                if ".." in word or word.endswith("."):
                    raise src.error(f"bad field name {word!r}", i)
                toks.append(Tok("field", word[1:].split("."), i))
            else:
                name, _, rest = word.partition(".")
                toks.append(Tok("var", (name, rest.split(".") if rest else []), i))
            i = j
        elif ch.isdigit() or (ch in "+-" and i + 1 < end and text[i + 1].isdigit()):
            j = i + 1
            while (
                j < end
                and (text[j].isalnum() or text[j] in "._+-")
                and not (text[j] in "+-" and text[j - 1] not in "eE")
            ):
                j += 1
            word = text[i:j]
            try:
                value: Any = int(word, 0)
            except ValueError:
                try:
                    value = float(word)
                except ValueError:
                    raise src.error(f"bad number syntax: {word!r}", i) from None
            toks.append(Tok("num", value, i))
            i = j
        elif ch.isalpha() or ch == "_":
            j = i + 1
            while j < end and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if word in ("true", "false"):
                toks.append(Tok("bool", word == "true", i))
            elif word == "nil":
                toks.append(Tok("nil", None, i))
            else:
                toks.append(Tok("ident", word, i))
            if j < end and text[j] == "." and j + 1 < end and text[j + 1].isalpha():
                raise src.error(f"unexpected . after term {word!r}", j)
            i = j
        else:
            raise src.error(f"unexpected {ch!r} in action", i)
    toks.append(Tok("end", None, end))
    return toks


def _json_literal_end(text: str, i: int, end: int) -> int:
    """End of a JSON literal starting at ``i`` (brackets balanced, strings skipped), as Dinghy's pre-pass reads it."""
    stack = [text[i]]
    j = i + 1
    while j < end and stack:
        ch = text[j]
        if ch == '"':
            j += 1
            while j < end and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
        elif ch in "[{":
            stack.append(ch)
        elif (ch == "]" and stack[-1] == "[") or (ch == "}" and stack[-1] == "{"):
            stack.pop()
        j += 1
    return j


# ---- parsing ------------------------------------------------------------------------------------------------


@dataclass
class Node:
    pos: int


@dataclass
class Text(Node):
    text: str


@dataclass
class Term(Node):
    kind: str  # literal, field, var, dot, ident, sub
    value: Any
    chain: list[str] = field(default_factory=list)


@dataclass
class Command(Node):
    args: list[Term]


@dataclass
class Pipe(Node):
    decl: list[str]
    assign: bool
    cmds: list[Command]


@dataclass
class Action(Node):
    pipe: Pipe


@dataclass
class Branch(Node):
    kind: str  # if, range, with
    pipe: Pipe
    body: list[Node]
    orelse: list[Node]


@dataclass
class Control(Node):
    kind: str  # break, continue


@dataclass
class Template:
    source: Source
    nodes: list[Node]


def _split(src: Source) -> list[tuple[str, int, int]]:
    """("text", start, end) and ("action", start, end) pieces, with Go's trim markers applied to the text."""
    text, pieces, i = src.text, [], 0
    trim_next = False
    while True:
        j = text.find("{{", i)
        if j < 0:
            start = i
            if trim_next:
                while start < len(text) and text[start].isspace():
                    start += 1
            pieces.append(("text", start, len(text)))
            return pieces
        inner = j + 2
        trim_left = text.startswith("{{- ", j) or text.startswith("{{-\t", j) or text.startswith("{{-\n", j)
        if trim_left:
            inner += 2
        close = _find_close(src, inner)
        end_inner = close
        trim_right = close >= 2 and text[close - 1] == "-" and text[close - 2].isspace()
        if trim_right:
            end_inner = close - 1
        t_start, t_end = i, j
        if trim_next:
            while t_start < t_end and text[t_start].isspace():
                t_start += 1
        if trim_left:
            while t_end > t_start and text[t_end - 1].isspace():
                t_end -= 1
        pieces.append(("text", t_start, t_end))
        pieces.append(("action", inner, end_inner))
        trim_next = trim_right
        i = close + 2


def _find_close(src: Source, i: int) -> int:
    """The ``}}`` that closes the action starting at ``i``, skipping quoted strings and JSON literals."""
    text = src.text
    j = i
    while j < len(text):
        if text.startswith("/*", j) and text[i:j].strip() == "":
            k = text.find("*/", j + 2)
            if k < 0:
                raise src.error("unclosed comment", j)
            j = k + 2
            continue
        if text.startswith("}}", j):
            return j
        ch = text[j]
        if ch in '"`':
            k = j + 1
            while k < len(text) and text[k] != ch and text[k] != "\n" * (ch == '"'):
                k += 2 if (text[k] == "\\" and ch == '"') else 1
            j = k + 1
        elif ch in "[{":
            j = _json_literal_end(text, j, len(text))
        else:
            j += 1
    raise src.error("unclosed action: a '}}' may be missing", i - 2)


class _Parser:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.pieces = _split(src)
        self.k = 0

    def parse(self) -> list[Node]:
        nodes, stop = self.block(())
        if stop is not None:
            raise self.src.error(f"unexpected {{{{{stop[0]}}}}}", stop[1])
        return nodes

    def block(self, stops: tuple[str, ...]) -> tuple[list[Node], tuple[str, int, list[Tok]] | None]:
        out: list[Node] = []
        while self.k < len(self.pieces):
            kind, a, b = self.pieces[self.k]
            self.k += 1
            if kind == "text":
                if b > a:
                    out.append(Text(a, self.src.text[a:b]))
                continue
            body = self.src.text[a:b]
            if body.strip().startswith("/*"):
                continue
            toks = _lex_action(self.src, a, b)
            head = toks[0]
            word = head.value if head.kind == "ident" else None
            if word in ("end", "else"):
                if word not in stops and not (word == "else" and "else" in stops):
                    raise self.src.error(f"unexpected {{{{{word}}}}}", head.pos)
                return out, (word, head.pos, toks[1:])
            if word in ("if", "range", "with"):
                out.append(self.branch(word, head.pos, toks[1:]))
            elif word in ("break", "continue"):
                out.append(Control(head.pos, word))
            elif word in ("define", "template", "block"):
                raise self.src.error(f"{{{{{word}}}}} is not supported in dinghyfiles; use a module", head.pos)
            elif head.kind == "end":
                raise self.src.error("missing value for command", a)
            else:
                out.append(Action(head.pos, self.pipe(toks, 0, True)[0]))
        if stops:
            raise self.src.error(
                f"unexpected end of input: an {{{{end}}}} is missing for {stops[-1]}", len(self.src.text)
            )
        return out, None

    def branch(self, word: str, pos: int, toks: list[Tok]) -> Branch:
        pipe, _ = self.pipe(toks, 0, True, allow_two=word == "range")
        body, stop = self.block(("end", "else"))
        orelse: list[Node] = []
        assert stop is not None
        if stop[0] == "else":
            rest = stop[2]
            if rest and rest[0].kind == "ident" and rest[0].value in ("if", "with") and word in ("if", "with"):
                orelse = [self.branch(rest[0].value, rest[0].pos, rest[1:])]
                return Branch(pos, word, pipe, body, orelse)
            orelse, stop = self.block(("end",))
        return Branch(pos, word, pipe, body, orelse)

    def pipe(self, toks: list[Tok], i: int, top: bool, allow_two: bool = False) -> tuple[Pipe, int]:
        start = toks[i].pos
        decl: list[str] = []
        assign = False
        j = i
        names = []
        while toks[j].kind == "var" and not toks[j].value[1]:
            names.append(toks[j].value[0])
            if toks[j + 1].kind == "," and allow_two and len(names) < 2:
                j += 2
                continue
            if toks[j + 1].kind in (":=", "="):
                assign = toks[j + 1].kind == "="
                decl = names
                i = j + 2
            break
        cmds: list[Command] = []
        while True:
            cmd, i = self.command(toks, i)
            cmds.append(cmd)
            if toks[i].kind == "|":
                i += 1
                continue
            break
        if top and toks[i].kind != "end":
            raise self.src.error(f"unexpected {toks[i].value!r} in command", toks[i].pos)
        return Pipe(start, decl, assign, cmds), i

    def command(self, toks: list[Tok], i: int) -> tuple[Command, int]:
        args: list[Term] = []
        pos = toks[i].pos
        while toks[i].kind not in ("end", "|", ")"):
            tok = toks[i]
            if tok.kind == "(":
                sub, i = self.pipe(toks, i + 1, False)
                if toks[i].kind != ")":
                    raise self.src.error("unclosed left paren", tok.pos)
                i += 1
                chain: list[str] = []
                if toks[i].kind == "field" and toks[i].pos == toks[i - 1].pos + 1:
                    chain = toks[i].value
                    i += 1
                args.append(Term(tok.pos, "sub", sub, chain))
                continue
            if tok.kind in ("str", "num", "bool", "nil"):
                args.append(Term(tok.pos, "literal", tok.value))
            elif tok.kind == "field":
                args.append(Term(tok.pos, "field", None, tok.value))
            elif tok.kind == "var":
                args.append(Term(tok.pos, "var", tok.value[0], tok.value[1]))
            elif tok.kind == "dot":
                args.append(Term(tok.pos, "dot", None))
            elif tok.kind == "ident":
                if tok.value in KEYWORDS:
                    raise self.src.error(f"unexpected {tok.value!r} in command", tok.pos)
                args.append(Term(tok.pos, "ident", tok.value))
            else:
                raise self.src.error(f"unexpected {tok.value!r} in operand", tok.pos)
            i += 1
        if not args:
            raise self.src.error("missing value for command", pos)
        return Command(pos, args), i


def parse(name: str, text: str) -> Template:
    """Parse a template; ``DinghyTemplateError`` names the file, line and column of the problem."""
    src = Source(name, text)
    return Template(src, _Parser(src).parse())


# ---- output -------------------------------------------------------------------------------------------------


@dataclass
class Segment:
    text: str
    source: Source
    offset: int
    literal: bool  # True: char i came from source offset+i; False: produced by the action at offset


class Fragment(str):
    """Rendered text that remembers its segments (what ``module`` returns), so positions survive inclusion."""

    segments: list[Segment]


@dataclass
class Output:
    segments: list[Segment] = field(default_factory=list)
    size: int = 0

    def text(self) -> str:
        return "".join(s.text for s in self.segments)

    def locate(self, offset: int) -> DinghyTemplateError:
        """Where rendered character ``offset`` came from, as a located error with an empty message."""
        at = 0
        for seg in self.segments:
            if at + len(seg.text) > offset or seg is self.segments[-1]:
                inner = offset - at if seg.literal else 0
                line, col = line_col(seg.source.text, seg.offset + max(0, min(inner, len(seg.text))))
                return DinghyTemplateError("", seg.source.name, line, col)
            at += len(seg.text)
        return DinghyTemplateError("")


def fragment(out: Output) -> Fragment:
    frag = Fragment(out.text())
    frag.segments = out.segments
    return frag


# ---- execution ----------------------------------------------------------------------------------------------


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def go_format(value: Any) -> str:
    """Go's ``%v`` for the values templates handle."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
            return str(int(value))
        text = repr(value)
        return text.replace("e+0", "e+").replace("e-0", "e-")
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value, key=str)) + "]"
    return str(value)


def truth(value: Any) -> bool:
    """Go's template truth: false, 0, nil, and empty strings, lists and maps are false."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | list | tuple | dict):
        return bool(value)
    return True


class State:
    """One render's shared counters (steps, output size, module depth) across the files it includes."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = 0
        self.output = 0
        self.depth = 0


Func = Callable[..., Any]


class Executor:
    """Runs a parsed ``Template`` with a function map and a data value ("dot")."""

    def __init__(self, tmpl: Template, funcs: Mapping[str, Func], state: State) -> None:
        self.tmpl, self.funcs, self.state, self.src = tmpl, funcs, state, tmpl.source

    def run(self, dot: Any) -> Output:
        out = Output()
        self.out = out
        scopes: list[dict[str, Any]] = [{"$": dot}]
        try:
            self.nodes(self.tmpl.nodes, dot, scopes)
        except (_Break, _Continue):
            raise self.src.error("{{break}} or {{continue}} outside {{range}}", 0) from None
        return out

    def step(self, pos: int) -> None:
        self.state.steps += 1
        if self.state.steps > self.state.limits.max_steps:
            raise self.src.error(f"rendering stopped after {self.state.limits.max_steps} steps (the step limit)", pos)

    def emit(self, text: str, offset: int, literal: bool) -> None:
        self.state.output += len(text)
        if self.state.output > self.state.limits.max_output:
            raise self.src.error(
                f"rendered text exceeds {self.state.limits.max_output} characters (the output limit)", offset
            )
        if isinstance(text, Fragment) and getattr(text, "segments", None) is not None:
            self.out.segments.extend(text.segments)
        elif text:
            self.out.segments.append(Segment(text, self.src, offset, literal))

    def nodes(self, nodes: list[Node], dot: Any, scopes: list[dict[str, Any]]) -> None:
        for node in nodes:
            self.step(node.pos)
            if isinstance(node, Text):
                self.emit(node.text, node.pos, True)
            elif isinstance(node, Action):
                value = self.pipe(node.pipe, dot, scopes)
                if not node.pipe.decl:
                    self.emit(value if isinstance(value, Fragment) else go_format(value), node.pos, False)
            elif isinstance(node, Branch):
                self.branch(node, dot, scopes)
            elif isinstance(node, Control):
                raise _Break() if node.kind == "break" else _Continue()

    def branch(self, node: Branch, dot: Any, scopes: list[dict[str, Any]]) -> None:
        inner = [*scopes, {}]
        if node.kind in ("if", "with"):
            value = self.pipe(node.pipe, dot, inner)
            if truth(value):
                self.nodes(node.body, value if node.kind == "with" else dot, inner)
            else:
                self.nodes(node.orelse, dot, [*scopes, {}])
            return
        decl = node.pipe.decl
        value = self.pipe(Pipe(node.pipe.pos, [], False, node.pipe.cmds), dot, inner)
        if isinstance(value, Mapping):
            items = [(k, value[k]) for k in sorted(value, key=str)]
        elif isinstance(value, list | tuple | str) and not isinstance(value, str):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        elif value is None:
            items = []
        else:
            raise self.src.error(f"range can't iterate over {go_format(value)}", node.pos)
        if not items:
            self.nodes(node.orelse, dot, [*scopes, {}])
            return
        for key, item in items:
            self.step(node.pos)
            frame: dict[str, Any] = {}
            if len(decl) == 1:
                frame[decl[0]] = item
            elif len(decl) == 2:
                frame[decl[0]], frame[decl[1]] = key, item
            try:
                self.nodes(node.body, item, [*scopes, frame])
            except _Break:
                break
            except _Continue:
                continue

    def pipe(self, pipe: Pipe, dot: Any, scopes: list[dict[str, Any]]) -> Any:
        value: Any = _NOTHING
        for cmd in pipe.cmds:
            value = self.command(cmd, dot, scopes, value)
        if pipe.decl:
            name = pipe.decl[0]
            if pipe.assign:
                for frame in reversed(scopes):
                    if name in frame:
                        frame[name] = value
                        break
                else:
                    raise self.src.error(f"undefined variable: {name}", pipe.pos)
            else:
                scopes[-1][name] = value
        return value

    def command(self, cmd: Command, dot: Any, scopes: list[dict[str, Any]], final: Any) -> Any:
        head = cmd.args[0]
        if head.kind == "ident":
            name = head.value
            if name in ("and", "or"):
                return self.logic(name, cmd, dot, scopes, final)
            fn = self.funcs.get(name)
            if fn is None:
                raise self.src.error(f'function "{name}" not defined', head.pos)
            args = [self.term(a, dot, scopes) for a in cmd.args[1:]]
            if final is not _NOTHING:
                args.append(final)
            try:
                return fn(*args)
            except DinghyTemplateError:
                raise
            except _Located as err:
                raise self.src.error(f"error calling {name}: {err}", head.pos) from None
            except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, AttributeError) as err:
                raise self.src.error(f"error calling {name}: {err}", head.pos) from None
        if len(cmd.args) > 1 or final is not _NOTHING:
            raise self.src.error(f"can't give argument to non-function {self.describe(head)}", head.pos)
        return self.term(head, dot, scopes)

    def logic(self, name: str, cmd: Command, dot: Any, scopes: list[dict[str, Any]], final: Any) -> Any:
        terms: list[Any] = list(cmd.args[1:])
        if final is not _NOTHING:
            terms.append(_Value(final))
        if not terms:
            raise self.src.error(f"wrong number of args for {name}: want at least 1 got 0", cmd.pos)
        value: Any = None
        for t in terms:
            value = t.value if isinstance(t, _Value) else self.term(t, dot, scopes)
            if (name == "and") != truth(value):
                return value
        return value

    def describe(self, term: Term) -> str:
        return {"literal": repr(term.value), "dot": "."}.get(term.kind, str(term.value or ".".join(term.chain)))

    def term(self, term: Term, dot: Any, scopes: list[dict[str, Any]]) -> Any:
        self.step(term.pos)
        if term.kind == "literal":
            return term.value
        if term.kind == "dot":
            return dot
        if term.kind == "field":
            return self.fields(dot, term.chain, term.pos)
        if term.kind == "var":
            for frame in reversed(scopes):
                if term.value in frame:
                    return self.fields(frame[term.value], term.chain, term.pos)
            raise self.src.error(f"undefined variable: {term.value}", term.pos)
        if term.kind == "sub":
            return self.fields(self.pipe(term.value, dot, scopes), term.chain, term.pos)
        if term.kind == "ident":
            fn = self.funcs.get(term.value)
            if fn is None:
                raise self.src.error(f'function "{term.value}" not defined', term.pos)
            return fn()
        raise self.src.error("bad term", term.pos)

    def fields(self, value: Any, chain: list[str], pos: int) -> Any:
        for name in chain:
            if isinstance(value, Mapping):
                value = value.get(name)
            elif value is None:
                raise self.src.error(f"nil pointer evaluating interface {{}}.{name}", pos)
            else:
                raise self.src.error(f"can't evaluate field {name} in type {type(value).__name__}", pos)
        return value


class _Located(Exception):
    """Raised by functions for a plain error the executor locates at the call."""


@dataclass
class _Value:
    value: Any


_NOTHING: Any = object()


def to_json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

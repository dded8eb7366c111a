"""Dinghy's renderer: a dinghyfile (and the modules it calls) through the template language to a document.

Steps as in Dinghy's ``Parse``: the pre-pass (in the lexer, ``gotemplate``), ``globals`` read from the file with
every Dinghy function blanked out, then the real render with ``module``/``local_module``/``appModule``/``var``/
``pipelineID``/``makeSlice`` and the Sprig set, then JSON (or YAML) decoding. Errors are ``DinghyTemplateError`` naming
the file, line and column in the source, also for decoding errors in the rendered text. Pure: files come through
the loader callables, pipeline ids through ``pipeline_id``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from core import safe_yaml

from . import funcs
from .gotemplate import DinghyTemplateError, Executor, Limits, Output, State, fragment, parse, to_json_text

Loader = Callable[[str], "str | None"]
VarMap = dict[str, Any]
DINGHYFILE = "dinghyfile"


@dataclass
class Context:
    """What a render may read: modules (template repo), local modules (the pushing repo), ids of pipelines."""

    load_module: Loader
    load_local: Loader
    dot: dict[str, Any] = field(default_factory=dict)  # RawData, Org, Repo, Path, Branch
    pipeline_id: Callable[[str, str], str] = lambda app, name: ""
    limits: Limits = field(default_factory=Limits)
    format: str = "json"


@dataclass
class Rendered:
    path: str
    text: str
    document: dict[str, Any]
    modules: list[str]  # template-repo module paths used, directly or through other modules
    local_modules: list[str]


def _decode_value(value: Any) -> Any:
    """Dinghy's ``parseValue``: a string argument that starts with ``{`` or ``[`` is JSON-decoded if it can be."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _render_value(value: Any) -> Any:
    """Dinghy's ``renderValue``: lists and maps come back as JSON text."""
    if isinstance(value, list | dict):
        return to_json_text(value)
    return value


class _Run:
    """One dinghyfile render: shared step/size counters and the modules seen."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.state = State(ctx.limits)
        self.modules: list[str] = []
        self.local: list[str] = []
        self.stack: list[str] = []

    def file(self, name: str, text: str, variables: list[VarMap], *, in_template_repo: bool) -> Output:
        tmpl = parse(name, text)
        fmap = {**funcs.builtins(), **funcs.sprig(), **self.dinghy_funcs(variables, in_template_repo)}
        return Executor(tmpl, fmap, self.state).run(self.ctx.dot)

    def dinghy_funcs(self, variables: list[VarMap], in_template_repo: bool) -> dict[str, Any]:
        def var(name: str, *default: Any) -> Any:
            for vm in variables:
                if name in vm:
                    return _render_value(vm[name])
            if default:
                d = default[0]
                if isinstance(d, str) and d.startswith("@"):
                    for vm in variables:
                        if d[1:] in vm:
                            return _render_value(vm[d[1:]])
                return d
            return ""

        def module_call(kind: str) -> Callable[..., Any]:
            def call(path: str, *args: Any) -> Any:
                if kind == "local" and in_template_repo:
                    raise ValueError(f"{path} is a local_module, calling local_module from a module is not allowed")
                new: VarMap = {}
                for i in range(0, len(args) - 1, 2):
                    key, value = args[i], args[i + 1]
                    if not isinstance(key, str):
                        raise ValueError(f"dict keys must be strings in module: {path}")
                    if isinstance(value, str) and value.startswith("{{var") and value.endswith("}}") and len(value) > 6:
                        deep = value[6:-2].strip().strip('"')  # "deep variable": the caller's value of that name
                        for vm in variables:
                            if deep in vm:
                                value = vm[deep]
                                break
                    new[key] = _decode_value(value)
                return self.module(kind, path, [new, *variables])

            return call

        def pipeline_id(app: str, name: str) -> str:
            for vm in variables:
                if "triggerApp" in vm:
                    app = str(_render_value(vm["triggerApp"]))
                if "triggerPipeline" in vm:
                    name = str(_render_value(vm["triggerPipeline"]))
            return self.ctx.pipeline_id(app, name)

        return {
            "module": module_call("module"),
            "appModule": module_call("module"),
            "local_module": module_call("local"),
            "var": var,
            "pipelineID": pipeline_id,
            "makeSlice": lambda *a: list(a),
        }

    def module(self, kind: str, path: str, variables: list[VarMap]) -> Any:
        key = f"{kind}:{path}"
        if key in self.stack:
            raise ValueError(f"module {path} calls itself ({' -> '.join([*self.stack, key])})")
        if len(self.stack) >= self.ctx.limits.max_depth:
            raise ValueError(f"modules nest deeper than {self.ctx.limits.max_depth} (the depth limit)")
        loader = self.ctx.load_module if kind == "module" else self.ctx.load_local
        text = loader(path)
        if text is None:
            where = "the template repository" if kind == "module" else "this repository"
            raise ValueError(f"module {path} not found in {where}")
        (self.modules if kind == "module" else self.local).append(path)
        self.stack.append(key)
        try:
            out = self.file(path, text, variables, in_template_repo=kind == "module")
        finally:
            self.stack.pop()
        return fragment(out)


class MalformedDocumentError(DinghyTemplateError):
    """The rendered text is not JSON (or YAML): the dinghyfile itself is malformed, not the template run."""


def read_globals(path: str, text: str, fmt: str = "json", dot: Any = None) -> VarMap:
    """Dinghy's ``ParseGlobalVars``: render with the Dinghy functions blanked, decode, take ``globals``.

    Like Dinghy, a file that is not JSON once blanked is refused (``parse-err-globalvar``), unless it does not
    mention ``globals`` at all: then there are none (Dinghy refuses those too).
    """
    obj, kv = ('{ "a": "b" }', '"a": "b"') if fmt == "json" else ("", "")  # YAML: a blank keeps the indentation valid
    blank: dict[str, Any] = {
        "module": lambda *a: obj,
        "local_module": lambda *a: obj,
        "appModule": lambda *a: kv,
        "var": lambda *a: "1",
        "pipelineID": lambda *a: "1",
        "makeSlice": lambda *a: list(a),
    }
    try:  # Sprig functions are pure, so they run for real here (Dinghy blanks them to empty lists)
        out = Executor(parse(path, text), {**funcs.builtins(), **funcs.sprig(), **blank}, State(Limits())).run(
            dot or {}
        )
    except DinghyTemplateError:
        if "globals" not in text:
            return {}
        raise
    try:
        doc = _decode(path, out, fmt)
    except MalformedDocumentError as err:
        if "globals" not in text:
            return {}
        raise MalformedDocumentError(
            f"globals: the file is not {fmt.upper()} once its actions are blanked out ({err.message})",
            err.file,
            err.line,
            err.column,
        ) from None
    value = doc.get("globals") if isinstance(doc, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DinghyTemplateError("globals: must be an object", path)
    return value


def _decode(path: str, out: Output, fmt: str) -> Any:
    text = out.text()
    if fmt == "yaml":
        try:
            return safe_yaml.load(text)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            located = out.locate(mark.index if mark else 0)
            raise MalformedDocumentError(
                f"invalid YAML: {err.problem or err}", located.file or path, located.line, located.column
            ) from None
        except yaml.YAMLError as err:
            raise MalformedDocumentError(f"invalid YAML: {err}", path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        located = out.locate(err.pos)
        raise MalformedDocumentError(
            f"invalid JSON: {err.msg}", located.file or path, located.line, located.column
        ) from None


def render(path: str, text: str, ctx: Context) -> Rendered:
    """Render a dinghyfile to its document; ``DinghyTemplateError`` names the source file, line and column."""
    run = _Run(ctx)
    variables: list[VarMap] = []
    glob = read_globals(path, text, ctx.format, ctx.dot)
    if glob:
        variables.append(glob)
    out = run.file(path, text, variables, in_template_repo=False)
    doc = _decode(path, out, ctx.format)
    if not isinstance(doc, Mapping):
        raise DinghyTemplateError("the rendered dinghyfile must be an object", path)
    return Rendered(path, out.text(), dict(doc), sorted(set(run.modules)), sorted(set(run.local)))


def render_module(path: str, text: str, ctx: Context) -> str:
    """Render a template-repo module alone (what a template-repo push checks): its text, or ``DinghyTemplateError``."""
    run = _Run(ctx)
    run.stack.append(f"module:{path}")
    return run.file(path, text, [], in_template_repo=True).text()

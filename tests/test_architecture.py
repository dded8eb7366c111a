"""The layers of DESIGN.md, kept by a test: imports run downward only, and no two modules import each other.

Every first-party module's imports are read from its source (module-level and function-level ones alike;
imports under ``if TYPE_CHECKING:`` never run and are left out). Each module gets the layer of the longest
prefix in :data:`LAYERS`. The test fails on

* an import of a module in a higher layer;
* an ``activities`` module importing a ``workflows`` module of the engine layer (workflows call activities,
  never the other way round; what both need lives below them, in ``core/``);
* an import cycle: a strongly connected component of two or more modules. Function-level imports count,
  since a deferred import is how a cycle is usually hidden.

Where a package is vertical (a pure part and an engine-facing part), the table is module-granular.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: bottom to top: 0 core; 1 clients of outside systems and pure packages; 2 the engine (activities,
#: workflows and the engine-facing parts of vertical packages); 3 the API, the UI, the SDK/CLI and the worker
LAYERS: dict[str, int] = {
    "core": 0,
    # 1: clients and pure packages
    "providers": 1,
    "integrations": 1,
    "bakery": 1,
    "templates": 1,
    "canary": 1,
    "workflows.expressions": 1,  # the pure ${...} evaluator (templates and canary use it)
    "workflows.errors": 1,
    # 2: the engine
    "activities": 2,
    "workflows": 2,
    "bakery.workflow": 2,
    "canary.workflow": 2,
    "canary.activities": 2,
    "canary.stage_activities": 2,
    "canary.runs": 2,  # starts canary run workflows
    "canary.backtest": 2,  # runs canaries through canary.runs
    "integrations.schedules": 2,  # Temporal Schedules
    "integrations.triggers.launcher": 2,  # starts pipeline workflows
    "integrations.triggers.run_as": 2,  # the authentication a triggered execution starts with
    "integrations.triggers.schedules": 2,
    "integrations.jenkins.schedules": 2,
    "integrations.ci.schedules": 2,
    "integrations.dinghy.activities": 2,
    "integrations.dinghy.poll": 2,
    "integrations.dinghy.start": 2,
    "integrations.dinghy.workflow": 2,
    # 3: the edges
    "api": 3,
    "ui": 3,
    "gennaker": 3,
    "worker": 3,
}

#: (importer, imported) pairs that may break a rule today, each with the reason. Keep it empty.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    module_level: bool


def first_party() -> dict[str, Path]:
    """Every first-party module by dotted name (a package by its ``__init__``)."""
    modules: dict[str, Path] = {}
    for top in {name.split(".")[0] for name in LAYERS} - {"worker"}:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    modules["worker"] = ROOT / "worker.py"
    return modules


MODULES = first_party()


def layer_of(module: str) -> int:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise KeyError(f"{module} is in no layer: add its package to LAYERS")


def _targets(module: str, node: ast.ImportFrom) -> Iterator[str]:
    if node.level:
        base = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        package = ".".join(base + ([node.module] if node.module else []))
    else:
        package = node.module or ""
    for alias in node.names:
        # ``from a import b`` imports the module a.b when there is one, else a name of a
        yield f"{package}.{alias.name}" if f"{package}.{alias.name}" in MODULES else package


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


@functools.cache
def imports_of(module: str) -> tuple[Import, ...]:
    """The first-party imports that run when ``module`` (or one of its functions) runs (read once a session)."""
    found: list[Import] = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(module, a.name, child.lineno, module_level) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                found.extend(Import(module, t, child.lineno, module_level) for t in _targets(module, child))
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), module_level)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, False)
            else:
                visit(child, module_level)

    visit(ast.parse(MODULES[module].read_text(), str(MODULES[module])), True)
    tops = {name.split(".")[0] for name in LAYERS}
    return tuple(i for i in found if i.target.split(".")[0] in tops and i.target != module)


def all_imports() -> list[Import]:
    return [i for module in sorted(MODULES) for i in imports_of(module)]


def _where(i: Import) -> str:
    path = MODULES[i.source]
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return f"{shown}:{i.line}: {i.source} -> {i.target}"


def _allowed(i: Import) -> bool:
    return (i.source, i.target) in ALLOWED


def upward_imports() -> list[str]:
    found = {
        f"{_where(i)} (layer {layer_of(i.source)} -> {layer_of(i.target)})"
        for i in all_imports()
        if layer_of(i.target) > layer_of(i.source) and not _allowed(i)
    }
    return sorted(found)


def _engine_workflow(module: str) -> bool:
    return (module == "workflows" or module.startswith("workflows.")) and layer_of(module) == 2


def activities_importing_workflows() -> list[str]:
    found = {
        _where(i)
        for i in all_imports()
        if i.source.startswith("activities") and _engine_workflow(i.target) and not _allowed(i)
    }
    return sorted(found)


def import_cycles() -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, iterative) of two or more modules."""
    graph: dict[str, set[str]] = defaultdict(set)
    for i in all_imports():
        if i.target in MODULES and not _allowed(i):
            graph[i.source].add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(MODULES):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_imports_run_downward_only() -> None:
    found = upward_imports()
    assert not found, "imports that run upward:\n" + "\n".join(found)


def test_activities_do_not_import_workflows() -> None:
    found = activities_importing_workflows()
    assert not found, "activities importing workflows:\n" + "\n".join(found)


def test_no_import_cycles() -> None:
    found = import_cycles()
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_allow_list_names_real_imports() -> None:
    """An entry whose import is gone must go too, so the list only shrinks."""
    edges = {(i.source, i.target) for i in all_imports()}
    assert [pair for pair in ALLOWED if pair not in edges] == []


def test_the_checker_sees_upward_imports_and_cycles(tmp_path: Path) -> None:
    """The rules themselves, on made-up modules: an upward import in a function, a cycle hidden in functions,
    and a TYPE_CHECKING import, which is left out."""
    assert layer_of("workflows.expressions.parser") == 1
    assert layer_of("workflows.stage") == 2
    assert layer_of("canary.judge.stats") == 1
    assert layer_of("canary.workflow") == 2
    probes = {
        "core._probe_a": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from api import main\n"
        "def f():\n    from api import deps\n    from core import _probe_b\n",
        "core._probe_b": "import core._probe_a\n",
    }
    for name, source in probes.items():
        MODULES[name] = tmp_path / f"{name}.py"
        MODULES[name].write_text(source)
    try:
        found = imports_of("core._probe_a")
        assert [(i.target, i.module_level) for i in found] == [("api.deps", False), ("core._probe_b", False)]
        assert [line for line in upward_imports() if "_probe" in line] == [
            f"{tmp_path / 'core._probe_a.py'}:5: core._probe_a -> api.deps (layer 0 -> 3)"
        ]
        assert ["core._probe_a", "core._probe_b"] in import_cycles()
    finally:
        for name in probes:
            del MODULES[name]

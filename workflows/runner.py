"""The workflow sandbox our workers run in, with its entry code compiled once instead of at every call.

temporalio's sandbox enters a workflow through ``exec`` of a small code string: at every activation, and at every
payload the worker encodes or decodes (to find the payload's serialization context, three passes each way). The
string is compiled again each time; on the engine benchmark that compiling was the largest single cost of a
stage's payload handling. Here each string is compiled once (the strings are a handful per workflow class) and
the same ``exec`` runs the code object: same globals, same importer, same restrictions.

Two more costs of the SDK's payload handling go here (measured with cProfile over the engine benchmark's worker):

* a payload's serialization context is asked of the workflow instance once per payload sequence, each time
  entering the sandbox (its importer swaps a dozen builtins in and out). The answer is SDK code reading the
  instance's pending commands, no workflow code, so it is asked of the instance directly;
* every payload converted to a dataclass re-evaluates the class's type hints (``typing.get_type_hints``: with
  ``from __future__ import annotations`` that compiles each field's annotation string, every time). The worker's
  converter keeps them per class (:func:`cached_type_hints`);
* every dataclass encoded to JSON went through ``dataclasses.asdict``, which deep-copies the whole value first
  (7x the time of the encoding itself for a stage's input): the encoder now hands ``json`` the dataclass's fields
  and lets it recurse (:func:`shallow_dataclass_default`; the same JSON text).

This reaches into the sandbox's private ``_Instance`` and the converter's module (temporalio is pinned in
pyproject.toml); tests/workflows/test_runner.py fails if temporalio stops entering through ``_run_code`` or
converting dataclasses through ``get_type_hints``.
"""

from __future__ import annotations

import dataclasses
import threading
import typing
import weakref
from dataclasses import dataclass
from functools import lru_cache
from types import CodeType
from typing import Any

import temporalio.converter._payload_converter as _payload_converter
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance


@lru_cache(maxsize=256)
def compiled(code: str) -> CodeType:
    """The code object ``exec(code)`` would compile (same file name, so tracebacks read the same)."""
    return compile(code, "<string>", "exec")


_hints: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_hints_lock = threading.Lock()


def cached_type_hints(obj: Any, globalns: Any = None, localns: Any = None, include_extras: bool = False) -> Any:
    """``typing.get_type_hints``, kept per class for the plain call the converter makes (a copy each time, as
    ``get_type_hints`` returns a new dict). Weakly keyed: a class re-imported by a sandbox is not kept alive."""
    if globalns is not None or localns is not None or include_extras or not isinstance(obj, type):
        return typing.get_type_hints(obj, globalns, localns, include_extras)
    hints = _hints.get(obj)
    if hints is None:
        hints = typing.get_type_hints(obj)
        with _hints_lock:
            _hints[obj] = hints
    return dict(hints)


_asdict_default = _payload_converter.AdvancedJSONEncoder.default


def shallow_dataclass_default(self: Any, o: Any) -> Any:
    """``AdvancedJSONEncoder.default`` for a dataclass instance without ``dataclasses.asdict``'s deep copy: its
    fields, which ``json`` then encodes (calling this again for nested dataclasses)."""
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
    return _asdict_default(self, o)


def install_converter_shortcuts() -> None:
    """Make temporalio's payload converter read dataclass type hints through :func:`cached_type_hints` and encode
    dataclasses through :func:`shallow_dataclass_default` (process-wide: the sandbox passes temporalio through)."""
    _payload_converter.get_type_hints = cached_type_hints  # type: ignore[attr-defined]
    _payload_converter.AdvancedJSONEncoder.default = shallow_dataclass_default  # type: ignore[method-assign]


class _CompiledInstance(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        super()._run_code(compiled(code), **extra_globals)  # type: ignore[arg-type]  # exec takes a code object too

    def get_serialization_context(self, command_info: Any) -> Any:
        """The instance's answer, without entering the sandbox (SDK code reading its pending commands)."""
        inner: Any = self.globals_and_locals.get("__temporal_in_sandbox")
        if inner is None:
            return super().get_serialization_context(command_info)
        return inner.get_serialization_context(command_info)


@dataclass(frozen=True)
class CompiledSandboxedWorkflowRunner(SandboxedWorkflowRunner):
    """:class:`SandboxedWorkflowRunner` whose instances compile their entry code once."""

    def __post_init__(self) -> None:
        install_converter_shortcuts()

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledInstance(det, self.runner_class, self.restrictions)

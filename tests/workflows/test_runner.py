"""The worker's sandbox compiles its entry code once, and still enters workflows the way temporalio does."""

from __future__ import annotations

import dataclasses
import inspect
import typing

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

from workflows.all import workflow_runner
from workflows.runner import CompiledSandboxedWorkflowRunner, _CompiledInstance, compiled


def test_entry_code_is_compiled_once_per_string() -> None:
    code = "with __temporal_importer.applied():\n  __temporal_context = 1\n"
    first = compiled(code)
    assert compiled(code) is first
    assert first.co_filename == "<string>"  # what exec(str) names it: tracebacks read the same
    scope: dict[str, object] = {"__temporal_importer": _Applied()}
    exec(first, scope, scope)
    assert scope["__temporal_context"] == 1


def test_the_worker_runs_the_compiling_sandbox_with_its_passthrough() -> None:
    runner = workflow_runner()
    assert isinstance(runner, CompiledSandboxedWorkflowRunner) and isinstance(runner, SandboxedWorkflowRunner)
    assert issubclass(_CompiledInstance, _Instance)


def test_temporalio_still_enters_the_sandbox_through_run_code() -> None:
    """An upgrade of temporalio that enters another way would leave our override unused: this says so."""
    for method in ("_create_instance", "activate", "get_serialization_context", "get_external_store_context"):
        assert "self._run_code(" in inspect.getsource(getattr(_Instance, method)), method
    assert list(inspect.signature(_Instance._run_code).parameters) == ["self", "code", "extra_globals"]


class _Applied:
    def applied(self) -> _Applied:
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_converter_reads_dataclass_type_hints_once_per_class() -> None:
    import temporalio.converter._payload_converter as converter

    from workflows.messages import RunStageInput, StageResume
    from workflows.runner import cached_type_hints

    workflow_runner()
    assert converter.get_type_hints is cached_type_hints
    assert "get_type_hints(hint)" in inspect.getsource(converter.value_to_type)  # still how dataclasses convert
    first = cached_type_hints(RunStageInput)
    assert first == typing.get_type_hints(RunStageInput) and first["resume"] == StageResume | None
    first["stage"] = int  # a copy each time, as get_type_hints gives
    assert cached_type_hints(RunStageInput)["stage"] is not int
    stage = converter.value_to_type(RunStageInput, {"execution_id": "e", "application": "a", "stage": _STAGE}, [])
    assert stage.stage.tasks[0].status.value == "RUNNING"


def test_the_serialization_context_is_the_sandboxed_instances_answer() -> None:
    """Asked of the in-sandbox object directly: it must still only forward to the workflow instance."""
    from temporalio.worker.workflow_sandbox._in_sandbox import InSandbox

    source = inspect.getsource(InSandbox.get_serialization_context)
    assert source.rstrip().endswith("return self.instance.get_serialization_context(command_info)")
    assert "get_serialization_context" in _CompiledInstance.__dict__


_STAGE = {
    "id": "s",
    "ref_id": "1",
    "type": "wait",
    "name": "w",
    "context": {},
    "tasks": [{"id": "1", "name": "wait", "implementing_class": "W", "status": "RUNNING"}],
}


def test_dataclasses_encode_to_the_same_json_without_a_deep_copy() -> None:
    import json

    import temporalio.converter._payload_converter as converter

    from workflows.execution import StageState
    from workflows.messages import RunStageInput, RunStageResult, StageResume
    from workflows.runner import _asdict_default, shallow_dataclass_default

    workflow_runner()
    assert converter.AdvancedJSONEncoder.default is shallow_dataclass_default
    stage = converter.value_to_type(StageState, _STAGE, [])
    values = [
        RunStageInput("e", "a", stage, trigger={"p": [1, {"q": None}]}, resume=StageResume([stage], ["x"])),
        RunStageResult([stage, stage], end_row={"tasks": [{"id": "1"}]}),
    ]
    for value in values:
        fast = json.dumps(value, cls=converter.AdvancedJSONEncoder, sort_keys=True)
        assert fast == json.dumps(dataclasses.asdict(value), default=str, sort_keys=True)
    assert "dataclasses.asdict(o)" in inspect.getsource(_asdict_default)  # what temporalio did, and we replace

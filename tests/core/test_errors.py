"""The one exception tree (core.errors): every error class of ours derives from GennakerError, and no two share
a name, so a reader (and an ``except``) can tell them apart."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest

from core import errors
from core.errors import GennakerError

PACKAGES = (
    "core",
    "providers",
    "integrations",
    "bakery",
    "templates",
    "canary",
    "activities",
    "workflows",
    "api",
    "gennaker",
)
MODULES = ("worker",)
#: modules that do something when imported: a command's entry point, alembic's migration scripts
NOT_IMPORTED = ("__main__", "core.store.migrations")
#: private exceptions used as control flow inside one module, never raised out of it
SIGNALS = {
    "integrations.dinghy.gotemplate._Break",
    "integrations.dinghy.gotemplate._Continue",
    "integrations.dinghy.gotemplate._Located",
    "gennaker.payloads.parts._TooWide",
    "api.cache._Uncached",  # a failed shared computation handed to the requests that waited for it
}


def _modules() -> list[ModuleType]:
    found = [importlib.import_module(name) for name in MODULES]
    for package in PACKAGES:
        root = importlib.import_module(package)
        found.append(root)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if any(part in info.name for part in NOT_IMPORTED):
                continue
            found.append(importlib.import_module(info.name))
    return found


def _our_exceptions() -> list[type[BaseException]]:
    classes = []
    for module in _modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                classes.append(cls)
    return classes


@pytest.fixture(scope="module")
def exceptions() -> list[type[BaseException]]:
    found = _our_exceptions()
    assert len(found) > 60, "the walk found too few exception classes; did it import the packages?"
    return found


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_error_class_of_ours_derives_from_gennaker_error(exceptions: list[type[BaseException]]) -> None:
    outside = sorted(_qualified(c) for c in exceptions if not issubclass(c, GennakerError))
    assert [name for name in outside if name not in SIGNALS] == []


def test_no_two_error_classes_share_a_name(exceptions: list[type[BaseException]]) -> None:
    by_name: dict[str, set[str]] = defaultdict(set)
    for cls in exceptions:
        by_name[cls.__name__].add(_qualified(cls))
    assert {name: where for name, where in by_name.items() if len(where) > 1} == {}


def test_the_middle_classes_add_no_builtin_base() -> None:
    """Moving a class under a middle class must not make an ``except ValueError`` catch it."""
    middles = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, GennakerError)]
    for cls in middles:
        builtin = [b for b in cls.__mro__ if b.__module__ == "builtins" and b not in (Exception, BaseException, object)]
        assert builtin == [] or cls is errors.FieldError, cls


def test_reparented_classes_keep_their_builtin_bases() -> None:
    from bakery.errors import BakeRequestError
    from core.settings import ConfigFileError
    from providers.base import CloudError, TransientCloudError
    from providers.targets import TargetError
    from workflows.errors import InvalidPipelineError

    assert issubclass(BakeRequestError, ValueError) and issubclass(TargetError, ValueError)
    assert issubclass(ConfigFileError, errors.ConfigError) and issubclass(ConfigFileError, ValueError)
    assert issubclass(TransientCloudError, CloudError) and issubclass(CloudError, errors.ProviderError)
    assert not issubclass(InvalidPipelineError, ValueError)
    assert issubclass(InvalidPipelineError, errors.EngineError) and issubclass(
        InvalidPipelineError, errors.InvalidInputError
    )


def test_the_api_error_is_the_core_one_and_the_sdk_error_is_gate_error() -> None:
    from api.errors import ApiError
    from gennaker.client import ApiConnectionError, GateError, NotFound

    assert ApiError is errors.ApiError
    assert issubclass(GateError, errors.SdkError) and issubclass(NotFound, GateError)
    assert issubclass(ApiConnectionError, GateError)
    assert not issubclass(GateError, errors.ApiError)


# ---- Temporal's and our own errors told apart by their codes and types, not by their words ------------------


class _Handle:
    """A workflow or Schedule handle whose calls raise what it was given."""

    def __init__(self, error: BaseException, id: str = "01EXECUTION") -> None:
        self.error, self.id = error, id

    async def describe(self) -> None:
        raise self.error

    async def delete(self) -> None:
        raise self.error

    async def query(self, *_: object) -> None:
        raise self.error

    async def execute_update(self, *_: object) -> None:
        raise self.error


class _Client:
    def __init__(self, error: BaseException) -> None:
        self.handle = _Handle(error)

    def get_workflow_handle(self, _: str) -> _Handle:
        return self.handle

    def get_schedule_handle(self, _: str) -> _Handle:
        return self.handle


def _rpc(status_name: str, message: str) -> BaseException:
    from temporalio.service import RPCError, RPCStatusCode

    return RPCError(message, RPCStatusCode[status_name], b"")


GONE_IN_OTHER_WORDS = ("NOT_FOUND", "workflow execution already completed")
NOT_FOUND_WORDS_OTHER_STATUS = ("UNAVAILABLE", "upstream not found, try again")


def test_temporal_not_found_reads_the_status_code() -> None:
    assert errors.temporal_not_found(_rpc(*GONE_IN_OTHER_WORDS))
    assert not errors.temporal_not_found(_rpc(*NOT_FOUND_WORDS_OTHER_STATUS))
    assert not errors.temporal_not_found(LookupError("workflow not found"))


async def test_operations_say_no_such_execution_on_not_found_only() -> None:
    from workflows import operations

    with pytest.raises(operations.ExecutionNotFoundError):
        await operations.get_execution(_Client(_rpc(*GONE_IN_OTHER_WORDS)), "01EXECUTION")  # type: ignore[arg-type]
    with pytest.raises(Exception) as caught:
        await operations.get_execution(_Client(_rpc(*NOT_FOUND_WORDS_OTHER_STATUS)), "01EXECUTION")  # type: ignore[arg-type]
    assert not isinstance(caught.value, operations.ExecutionNotFoundError)
    with pytest.raises(operations.ExecutionNotFoundError):
        await operations._describe(_Handle(_rpc(*GONE_IN_OTHER_WORDS)))  # type: ignore[arg-type]


def _update_refused(exception_class: str, message: str) -> BaseException:
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.exceptions import ApplicationError

    return WorkflowUpdateFailedError(ApplicationError(message, type=exception_class))


async def test_a_restart_refusal_is_told_by_the_validators_exception_class() -> None:
    from workflows import operations
    from workflows.errors import ExecutionFinishingError, StageNotFinishedError

    finishing = _Handle(_update_refused(ExecutionFinishingError.__name__, "refused"))
    assert await operations._restart_running(finishing, "stage", "user") is False  # type: ignore[arg-type]
    # the words alone no longer decide: "is finishing" under another type is a refusal the user sees
    other = _Handle(_update_refused("ValueError", "execution x is finishing"))
    with pytest.raises(operations.OperationRefusedError, match="is finishing"):
        await operations._restart_running(other, "stage", "user")  # type: ignore[arg-type]
    assert issubclass(StageNotFinishedError, ValueError) and issubclass(StageNotFinishedError, errors.EngineError)


async def test_the_reconciler_takes_a_gone_workflow_by_its_status_code() -> None:
    from activities.reconciler import closed_status

    gone = await closed_status(_Client(_rpc(*GONE_IN_OTHER_WORDS)), "01EXECUTION")  # type: ignore[arg-type]
    assert gone is not None and gone[0] == "TERMINAL"
    assert await closed_status(_Client(_rpc(*NOT_FOUND_WORDS_OTHER_STATUS)), "01EXECUTION") is None  # type: ignore[arg-type]


async def test_the_concurrency_gate_counts_a_gone_workflow_as_closed_by_its_status_code() -> None:
    from activities.engine import EngineActivities, MemoryConfigSource

    gone = EngineActivities(_Client(_rpc(*GONE_IN_OTHER_WORDS)), "q", MemoryConfigSource())  # type: ignore[arg-type]
    assert await gone.closed_executions(["01EXECUTION"]) == ["01EXECUTION"]
    flaky = EngineActivities(_Client(_rpc(*NOT_FOUND_WORDS_OTHER_STATUS)), "q", MemoryConfigSource())  # type: ignore[arg-type]
    with pytest.raises(Exception, match="upstream not found"):
        await flaky.closed_executions(["01EXECUTION"])


async def test_schedules_gone_are_told_by_their_status_code() -> None:
    from integrations.schedules import delete_schedule
    from integrations.triggers.schedules import schedule_digest

    await delete_schedule(_Client(_rpc(*GONE_IN_OTHER_WORDS)), "s")  # type: ignore[arg-type]
    assert await schedule_digest(_Client(_rpc(*GONE_IN_OTHER_WORDS)), "s") is None  # type: ignore[arg-type]
    with pytest.raises(Exception, match="upstream not found"):
        await delete_schedule(_Client(_rpc(*NOT_FOUND_WORDS_OTHER_STATUS)), "s")  # type: ignore[arg-type]
    with pytest.raises(Exception, match="upstream not found"):
        await schedule_digest(_Client(_rpc(*NOT_FOUND_WORDS_OTHER_STATUS)), "s")  # type: ignore[arg-type]


def test_a_malformed_dinghyfile_is_told_by_its_class() -> None:
    from integrations.dinghy.gotemplate import DinghyTemplateError
    from integrations.dinghy.render import Context, MalformedDocumentError, render

    context = Context(load_module={}.get, load_local={}.get)
    with pytest.raises(MalformedDocumentError):
        render("dinghyfile", '{"application": ', context)
    with pytest.raises(MalformedDocumentError, match="^dinghyfile:1:.*globals: the file is not JSON"):
        render("dinghyfile", '{"globals": {"a": 1} "application": "x"}', context)
    # a template error whose words say "invalid JSON" is not a malformed document
    with pytest.raises(DinghyTemplateError, match="invalid JSON") as caught:
        render("dinghyfile", '{{ module "invalid JSON" }}', context)
    assert not isinstance(caught.value, MalformedDocumentError)


def test_a_compute_operation_error_carries_its_codes() -> None:
    """gce.create_server_group takes a lost create race by RESOURCE_ALREADY_EXISTS in ``reasons``, not its text."""
    from types import SimpleNamespace

    from providers.base import CloudError, InvalidRequestError
    from providers.gce_errors import operation_error

    entry = SimpleNamespace(code="RESOURCE_ALREADY_EXISTS", message="The resource 'app-v001' is in use")
    operation = SimpleNamespace(error=SimpleNamespace(errors=[entry]), http_error_status_code=409)
    err = operation_error(operation, "creating app-v001")
    assert isinstance(err, InvalidRequestError) and err.reasons == {"RESOURCE_ALREADY_EXISTS"}
    assert CloudError("creating app-v001: RESOURCE_ALREADY_EXISTS").reasons == frozenset()


def test_a_busy_sqlite_database_is_told_by_its_result_code(tmp_path: Path) -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from core.store.session import is_transient

    path = tmp_path / "busy.db"
    holder, other = sqlite3.connect(path, timeout=0), sqlite3.connect(path, timeout=0)
    holder.execute("CREATE TABLE t (x)")
    holder.commit()
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as busy:
        other.execute("BEGIN IMMEDIATE")
    holder.rollback()
    holder.close()
    other.close()
    assert is_transient(OperationalError("BEGIN IMMEDIATE", None, busy.value))
    worded_alike = sqlite3.OperationalError("database is locked")  # the words without SQLITE_BUSY's code
    assert not is_transient(OperationalError("SELECT 1", None, worded_alike))

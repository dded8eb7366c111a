"""The engine's store activities: the finish claim, notifications, error kinds, the previous release's activity."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from activities.engine import EngineActivities
from core.store import Store

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Finished:
    """Counts the downstream-trigger runs (the on_finished hook) per execution."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, execution: dict[str, Any]) -> None:
        self.calls.append(execution["id"])


def engine(store: Any, hook: Finished) -> EngineActivities:
    return EngineActivities(None, "q", None, store=store, on_finished=hook)  # type: ignore[arg-type]


def running(eid: str) -> dict[str, Any]:
    return {
        "id": eid,
        "application": "acts",
        "version": 1,
        "execution": {"status": "RUNNING", "pipelineConfigId": "c", "buildTime": 1},
        "stages": [{"seq": 0, "stage": {"id": "s", "status": "RUNNING"}}],
    }


async def test_downstream_triggers_run_once_per_finish_however_often_retried(store: Store) -> None:
    hook = Finished()
    acts = engine(store, hook)
    await acts.record_execution_update(running("E1"))
    assert hook.calls == []
    done = {"id": "E1", "version": 2, "execution": {"status": "SUCCEEDED", "endTime": 5}}
    for _ in range(3):  # the activity retried after it had applied
        await acts.record_execution_update(done)
    assert hook.calls == ["E1"]
    assert await acts.load_execution("E1") == store.executions.get("E1")


async def test_bad_updates_fail_for_good_and_missing_executions_are_not_retried(store: Store) -> None:
    acts = engine(store, Finished())
    with pytest.raises(ApplicationError) as err:
        await acts.record_execution_update({"id": "E3", "version": "x"})
    assert err.value.non_retryable and err.value.type == "InvalidExecutionUpdate"
    with pytest.raises(ApplicationError) as err:
        await acts.load_execution("nope")
    assert err.value.non_retryable and err.value.type == "ExecutionNotFound"


async def test_a_database_that_is_down_gives_a_retryable_error(tmp_path: Any) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = Store(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test?connect_timeout=2")
    acts = engine(down, Finished())
    with pytest.raises(ApplicationError) as err:
        await acts.record_execution_update(running("E4"))
    assert not err.value.non_retryable and err.value.type == "StoreUnavailable"
    down.close()

"""Log lines: JSON when asked, and every line an activity writes names its execution, stage and task: a task
activity (``TaskInput``) by what it works on, any other activity by its workflow's execution and its own name.
Both async and thread-pool activities, on a real worker against the dev server."""

from __future__ import annotations

import io
import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from core.observability import logs
from core.observability.worker import ObservabilityInterceptor
from core.tasks import TaskInput

log = logging.getLogger("gennaker.test.activity")


@activity.defn(name="observedTask")
async def observed_task(task: TaskInput) -> str:
    log.info("checking %s", task.task_name)
    return "ok"


@activity.defn(name="observedSync")
def observed_sync(note: str) -> str:
    log.warning("from a thread: %s", note)
    return note


@workflow.defn(name="ObservedLogs")
class ObservedLogs:
    @workflow.run
    async def run(self, task: TaskInput) -> None:
        timeout = timedelta(seconds=20)
        await workflow.execute_activity(observed_task, task, start_to_close_timeout=timeout)
        await workflow.execute_activity(observed_sync, "hello", start_to_close_timeout=timeout)


def test_json_lines_outside_an_activity_have_no_context() -> None:
    out = io.StringIO()
    handler = logs.handler("json", out)
    record = logging.LogRecord("gennaker.x", logging.ERROR, __file__, 1, "bad %s", ("thing",), None)
    handler.handle(record)
    doc = json.loads(out.getvalue())
    assert doc["message"] == "bad thing" and doc["level"] == "ERROR" and doc["logger"] == "gennaker.x"
    assert not {"executionId", "stageId", "taskName"} & set(doc)


def test_text_is_the_default_format() -> None:
    out = io.StringIO()
    logs.handler(stream=out).handle(logging.LogRecord("g", logging.INFO, __file__, 1, "plain", None, None))
    assert out.getvalue().rstrip().endswith("INFO g: plain")


async def test_activity_lines_carry_execution_stage_and_task(client: Client) -> None:
    out = io.StringIO()
    handler = logs.handler("json", out)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    queue = f"logs-{uuid.uuid4()}"
    execution_id = f"01LOGS{uuid.uuid4().hex[:8].upper()}"
    task = TaskInput(
        execution_id=execution_id,
        application="logapp",
        stage_id="01STAGE",
        stage_ref_id="1",
        stage_type="wait",
        task_name="waitTask",
        context={},
        stage_start_time_ms=0,
        task_start_time_ms=0,
    )
    try:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[ObservedLogs],
            activities=[observed_task, observed_sync],
            activity_executor=ThreadPoolExecutor(max_workers=2),
            workflow_runner=UnsandboxedWorkflowRunner(),
            interceptors=[ObservabilityInterceptor()],
        ):
            await client.execute_workflow(ObservedLogs.run, task, id=f"{execution_id}.stage-1", task_queue=queue)
    finally:
        log.removeHandler(handler)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    by_message = {doc["message"]: doc for doc in lines}
    checking = by_message["checking waitTask"]
    assert (checking["executionId"], checking["stageId"], checking["taskName"]) == (execution_id, "01STAGE", "waitTask")
    thread = by_message["from a thread: hello"]
    assert (thread["executionId"], thread["taskName"]) == (execution_id, "observedSync")
    assert thread["stageId"] == ""  # not a task: no stage of its own to name


def test_configure_replaces_plain_stream_handlers_and_keeps_the_hosts_own() -> None:
    """basicConfig's handler goes (one format per process); a host's own handler (pytest's capture is a
    StreamHandler subclass) keeps receiving records."""

    class HostHandler(logging.StreamHandler):  # type: ignore[type-arg]
        pass

    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    plain, host = logging.StreamHandler(io.StringIO()), HostHandler(io.StringIO())
    try:
        for h in list(root.handlers):
            root.removeHandler(h)
        root.addHandler(plain)
        root.addHandler(host)
        logs.configure("json")
        assert plain not in root.handlers and host in root.handlers
        logging.getLogger("gennaker.test").warning("still heard")
        assert "still heard" in host.stream.getvalue()
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved:
            root.addHandler(h)
        root.setLevel(level)

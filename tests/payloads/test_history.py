"""Large values through the real dev server: they run, and history keeps only references."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from google.protobuf.message import Message
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from gennaker.payloads.codec import ENCODING
from tests.api.conftest import serve_api
from tests.conftest import Gate

pytestmark = pytest.mark.temporal
MB = 1024 * 1024
SMALL_HISTORY = 64 * 1024


@activity.defn(name="payloadsTestProduce")
async def produce(size: int) -> str:
    return "r" * size


@workflow.defn(name="PayloadsTestBig", sandboxed=False)
class BigValues:
    """Takes a large input, gets a large activity result, answers with their sizes."""

    @workflow.run
    async def run(self, body: str) -> dict[str, Any]:
        made = await workflow.execute_activity(produce, MB, start_to_close_timeout=timedelta(seconds=60))
        return {"input": len(body), "activity": len(made), "same": made == "r" * MB}


async def history_bytes(handle: WorkflowHandle[Any, Any]) -> tuple[int, int]:
    """(total bytes of the history's events, how many claim-check references it holds)."""
    history = await handle.fetch_history()
    found = [p for event in history.events for p in payloads_in(event)]
    return sum(event.ByteSize() for event in history.events), sum(p.metadata.get("encoding") == ENCODING for p in found)


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload anywhere inside a protobuf message (inputs, results, memos, failures)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = value.values()
        elif field.is_repeated:
            items = value
        else:
            items = [value]
        for item in items:
            if isinstance(item, Message):
                yield from payloads_in(item)


async def test_a_4_mb_input_and_a_1_mb_activity_result_stay_out_of_history(client: Client) -> None:
    queue = f"payloads-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[BigValues],
        activities=[produce],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await client.start_workflow(BigValues.run, "i" * (4 * MB), id=f"big-{uuid.uuid4()}", task_queue=queue)
        assert await handle.result() == {"input": 4 * MB, "activity": MB, "same": True}
    total, references = await history_bytes(handle)
    assert total < SMALL_HISTORY, total
    assert references == 2  # the input and the activity's result


async def test_without_the_codec_temporal_refuses_such_an_input(client: Client) -> None:
    """What the codec prevents: the dev server rejects a 4 MB payload outright."""
    plain = await Client.connect(client.service_client.config.target_host, namespace=client.namespace)
    with pytest.raises(RPCError):
        await plain.start_workflow(BigValues.run, "i" * (4 * MB), id=f"plain-{uuid.uuid4()}", task_queue="nobody")


async def test_a_4_mb_webhook_trigger_runs_its_pipeline(client: Client, tmp_path: Any, payload_settings: Any) -> None:
    """Through the real API (POST /webhooks/webhook/{source}), its worker and store, on the session's blobs."""
    body = {"branch": "main", "blob": "w" * (4 * MB)}
    async with serve_api(client, tmp_path, payloads=payload_settings) as api:
        trigger = {"type": "webhook", "enabled": True, "source": "big", "payloadConstraints": {"branch": "main"}}
        pipeline = {
            "application": "bigapp",
            "name": "big-trigger",
            "triggers": [trigger],
            "stages": [{"refId": "1", "type": "wait", "name": "pause", "waitTime": 0}],
        }
        assert (await api.http.post("/pipelines", json=pipeline)).status_code == 200
        answer = await api.http.post("/webhooks/webhook/big", json=body)
        assert answer.status_code == 200, answer.text
        [started] = answer.json()["executions"]
        done = await api.finished(started["executionId"])
        assert done["status"] == "SUCCEEDED", done
        assert done["trigger"]["payload"] == body
        execution_id = started["executionId"]
        pipeline_total, references = await history_bytes(client.get_workflow_handle(execution_id))
        assert pipeline_total < SMALL_HISTORY, pipeline_total
        assert references >= 1
        stage_total, _ = await history_bytes(client.get_workflow_handle(f"{execution_id}.stage-1"))
        assert stage_total < SMALL_HISTORY, stage_total


async def test_the_gate_stack_and_the_session_client_read_each_others_payloads(client: Client, gate: Gate) -> None:
    """`gate` (ServedApi: uvicorn, its own client and worker) shares the session's blob store."""
    from workflows import operations
    from workflows.messages import RunPipelineInput

    async with httpx.AsyncClient(base_url=gate.url, timeout=60) as http:
        pipeline = {
            "application": "shared",
            "name": "big",
            "triggers": [{"type": "webhook", "enabled": True, "source": "shared"}],
            "stages": [{"refId": "1", "type": "wait", "name": "pause", "waitTime": 0}],
        }
        saved = await http.post("/pipelines", json=pipeline)
        assert saved.status_code == 200
        body = {"blob": "g" * (4 * MB)}  # over real HTTP this time
        answer = (await http.post("/webhooks/webhook/shared", json=body)).json()
        [started] = answer["executions"]
        # the API's client stored the trigger; the session client reads it back from the start event
        history = await client.get_workflow_handle(started["executionId"]).fetch_history()
        start = history.events[0].workflow_execution_started_event_attributes
        assert start.input.payloads[0].metadata["encoding"] == ENCODING
        [decoded] = await client.data_converter.decode(start.input.payloads, [RunPipelineInput])
        assert decoded.trigger["payload"] == body

        # the other way: the session client stores, the stack's worker reads and runs it
        config = saved.json()
        execution_id = await operations.start_pipeline(
            client, config, {"type": "manual", "payload": {"blob": "s" * (2 * MB)}}, task_queue=gate.settings.task_queue
        )
        await asyncio.wait_for(operations.wait_for_execution(client, execution_id), 60)  # the event, not a poll
        execution = (await http.get(f"/pipelines/{execution_id}")).json()
        assert execution["status"] == "SUCCEEDED", execution
        assert execution["trigger"]["payload"] == {"blob": "s" * (2 * MB)}

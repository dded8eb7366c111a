"""gennaker.Client and AsyncClient against the real stack: Gate served by uvicorn on loopback (a thread),
a worker on the session's Temporal dev server, and the store on a SQLite file.

The sync client blocks, so its scenarios run in a thread (``asyncio.to_thread``): the worker shares
the session's event loop and must keep running while the client waits.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from gennaker import ApiConnectionError, AsyncClient, BadRequest, Client, Conflict, GateError, NotFound
from gennaker.localstack import free_port
from gennaker.pipelines import ManualJudgment, Parameter, Pipeline, Wait

pytestmark = pytest.mark.temporal


@pytest.fixture
def gate_url(gate: Any) -> str:
    """Gate on loopback with a worker and a store (the shared ``gate`` fixture)."""
    return str(gate.url)


def judged_pipeline(name: str = "p", wait: int = 0) -> Pipeline:
    return Pipeline(
        name,
        application="demo",
        parameters=[Parameter("env", required=True, options=["staging", "prod"])],
        stages=[Wait(wait), ManualJudgment("Approve", inputs=["ship", "hold"])],
    )


# ---- the sync client ----------------------------------------------------------------------------------------------


def _sync_judge_flow(url: str) -> None:
    with Client(url, timeout=10) as gate:
        assert gate.health() == {"status": "UP"}
        app = gate.save_application("demo", email="team@example.com", description="the demo")
        assert app["name"] == "demo" and app["attributes"]["email"] == "team@example.com"
        assert "demo" in [a["name"] for a in gate.applications()]
        assert gate.application("demo")["attributes"]["description"] == "the demo"

        saved = gate.save_pipeline(judged_pipeline())
        assert saved["id"] and saved["name"] == "p"
        assert [p["name"] for p in gate.pipelines("demo")] == ["p"]
        assert gate.pipeline("demo", "p")["id"] == saved["id"]
        assert gate.pipeline_history(saved["id"], limit=5)[0]["name"] == "p"

        execution_id = gate.trigger("demo", "p", parameters={"env": "prod"})
        events = []
        for event in gate.watch(execution_id, poll=0.05):
            events.append((event["stage"], event["status"]))
            if event["stage"] == "Approve" and event["status"] == "RUNNING":
                judged = gate.judge(execution_id, "Approve", "continue", input="ship")
                assert judged["id"] == execution_id
        assert events[-1] == (None, "SUCCEEDED")
        assert ("Wait", "SUCCEEDED") in events and ("Approve", "SUCCEEDED") in events
        assert events.index(("Approve", "RUNNING")) < events.index(("Approve", "SUCCEEDED"))

        done = gate.wait(execution_id, timeout=30)
        assert done["status"] == "SUCCEEDED" and done["trigger"]["parameters"] == {"env": "prod"}
        assert done["stages"][1]["context"]["judgmentInput"] == "ship"
        summary = gate.execution(execution_id, expand=False)
        assert summary["id"] == execution_id and summary["stages"][0]["context"] == {}
        listed = gate.executions("demo", statuses=["SUCCEEDED"])
        assert execution_id in [e["id"] for e in listed]
        assert gate.executions("demo", statuses="TERMINAL") == []
        with pytest.raises(TimeoutError, match="still RUNNING"):
            gate.run("demo", saved["id"], parameters={"env": "staging"}, timeout=0.5)  # by id; waits for a judgment


async def test_sync_client_application_pipeline_trigger_watch_judge(gate_url):
    await asyncio.to_thread(_sync_judge_flow, gate_url)


def _sync_errors(url: str) -> None:
    with Client(url) as gate:
        gate.save_pipeline(judged_pipeline())
        with pytest.raises(NotFound) as missing:
            gate.pipeline("demo", "nope")
        assert missing.value.status == 404 and "nope" in missing.value.message
        with pytest.raises(NotFound):
            gate.trigger("demo", "nope")
        with pytest.raises(BadRequest) as bad:
            gate.trigger("demo", "p")
        assert bad.value.status == 400
        assert bad.value.field == "parameters.env" and bad.value.message == "Required parameter env is missing"
        assert isinstance(bad.value, GateError) and "parameters.env" in str(bad.value)
        with pytest.raises(BadRequest) as wrong:
            gate.trigger("demo", "p", parameters={"env": "moon"})
        assert wrong.value.field == "parameters.env"
        with pytest.raises(NotFound):
            gate.execution("01NOSUCHEXECUTION000000000")
        with pytest.raises(NotFound):
            gate.application("ghost")
        with pytest.raises(ValueError, match="continue' or 'stop"):
            gate.judge("whatever", "Approve", "perhaps")
        with pytest.raises(TypeError):
            gate.save_pipeline(["not", "a", "config"])  # type: ignore[arg-type]

        gate.delete_pipeline("demo", "p")
        with pytest.raises(NotFound):
            gate.pipeline("demo", "p")
        gate.save_application("gone")
        gate.delete_application("gone")
        with pytest.raises(NotFound):
            gate.application("gone")

    closed = f"http://127.0.0.1:{free_port()}"
    with Client(closed, timeout=2) as nowhere, pytest.raises(ApiConnectionError) as refused:
        nowhere.applications()
    assert refused.value.status is None and closed in str(refused.value) and "cannot reach Gate" in str(refused.value)
    assert isinstance(refused.value, GateError)


async def test_sync_client_errors(gate_url):
    await asyncio.to_thread(_sync_errors, gate_url)


# ---- the async client -----------------------------------------------------------------------------------------------


async def _until_running(gate: AsyncClient, execution_id: str, stage: str) -> None:
    async for event in gate.watch(execution_id, poll=0.05):
        if event["stage"] == stage and event["status"] == "RUNNING":
            return
    raise AssertionError(f"{stage} never ran")


async def test_async_client_stop_restart_continue(gate_url):
    async with AsyncClient(gate_url) as gate:
        await gate.save_application("demo")
        await gate.save_pipeline(judged_pipeline().to_json())  # a dict works as well as the builder
        execution_id = await gate.trigger("demo", "p", parameters={"env": "staging"}, user="sdk-test")
        await _until_running(gate, execution_id, "Approve")
        await gate.judge(execution_id, "Approve", "stop")
        stopped = await gate.wait(execution_id, timeout=30, poll=0.05)
        assert stopped["status"] == "TERMINAL" and stopped["trigger"]["user"] == "sdk-test"

        restarted = await gate.restart(execution_id, "Approve")
        assert restarted["id"] == execution_id
        statuses = []
        async for event in gate.watch(execution_id, poll=0.05):
            if event["stage"] is None:
                statuses.append(event["status"])
            if event["stage"] == "Approve" and event["status"] == "RUNNING":
                await gate.judge(execution_id, (await gate.execution(execution_id))["stages"][1]["id"], "continue")
        assert statuses[0] == "RUNNING" and statuses[-1] == "SUCCEEDED"
        assert (await gate.execution(execution_id))["status"] == "SUCCEEDED"


async def test_async_client_cancel_pause_skip_start_run(gate_url):
    async with AsyncClient(gate_url, headers={"X-Test": "1"}) as gate:
        await gate.save_pipeline(judged_pipeline("slow", wait=600))
        execution_id = await gate.trigger("demo", "slow", parameters={"env": "prod"})
        await _until_running(gate, execution_id, "Wait")
        await gate.pause(execution_id)
        paused = await gate.execution(execution_id)
        assert paused["status"] == "PAUSED"
        await gate.resume(execution_id)
        assert (await gate.execution(execution_id))["status"] == "RUNNING"
        with pytest.raises(Conflict):
            await gate.delete_execution(execution_id)  # still running
        await gate.cancel(execution_id, reason="enough")
        canceled = await gate.wait(execution_id, timeout=30, poll=0.05)
        assert canceled["status"] == "CANCELED" and canceled["cancellationReason"] == "enough"
        await gate.delete_execution(execution_id)
        assert execution_id not in [e["id"] for e in await gate.executions("demo", limit=10)]

        await gate.save_pipeline(Pipeline("skippy", application="demo", stages=[Wait(600, name="Long")]))
        skippy = await gate.trigger("demo", "skippy")
        await _until_running(gate, skippy, "Long")
        await gate.skip_wait(skippy, "Long")
        assert (await gate.wait(skippy, timeout=30, poll=0.05))["status"] == "SUCCEEDED"

        adhoc = await gate.start(
            Pipeline("adhoc", application="demo", parameters=[Parameter("who", required=True)], stages=[Wait(0)]),
            parameters={"who": "sdk"},
        )
        done = await gate.wait(adhoc, timeout=30, poll=0.05)
        assert done["status"] == "SUCCEEDED" and done["trigger"]["parameters"] == {"who": "sdk"}

        await gate.save_pipeline(Pipeline("quick", application="demo", stages=[Wait(0)]))
        ran = await gate.run("demo", "quick", timeout=30)
        assert ran["status"] == "SUCCEEDED" and ran["name"] == "quick"
        waiting = await gate.trigger("demo", "skippy")
        with pytest.raises(TimeoutError, match="still RUNNING"):
            await gate.wait(waiting, timeout=0.3, poll=0.05)
        await gate.cancel(waiting)
        assert (await gate.wait(waiting, timeout=30, poll=0.05))["status"] == "CANCELED"

        with pytest.raises(BadRequest) as bad:
            await gate.trigger("demo", "slow", parameters={})
        assert bad.value.field == "parameters.env"

    closed = f"http://127.0.0.1:{free_port()}"
    async with AsyncClient(closed, timeout=2) as nowhere:
        with pytest.raises(ApiConnectionError, match="cannot reach Gate at http://127.0.0.1"):
            await nowhere.health()


# ---- no server needed -----------------------------------------------------------------------------------------------


def test_error_bodies_map_to_the_error_tree():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/stale":
            body = {"status": 409, "error": "Conflict", "message": "stale", "path": "/stale"}
            return httpx.Response(409, json=body)
        if request.url.path == "/plain":
            return httpx.Response(502, text="bad gateway upstream")
        return httpx.Response(200, json={"ref": "/pipelines/01ABC"})

    with Client("http://gate.test", transport=httpx.MockTransport(answer)) as gate:
        with pytest.raises(Conflict) as conflict:
            gate._do(gate_call("GET", "/stale"))
        assert conflict.value.status == 409 and conflict.value.message == "stale" and conflict.value.field is None
        with pytest.raises(GateError) as plain:
            gate._do(gate_call("GET", "/plain"))
        assert type(plain.value) is GateError and plain.value.status == 502
        assert plain.value.message == "bad gateway upstream"
        assert gate.start({"application": "demo", "stages": []}) == "01ABC"


def gate_call(method: str, path: str) -> Any:
    from gennaker.client import _call

    return _call(method, path)


def test_import_gennaker_stays_light():
    code = (
        "import sys, gennaker, json; light = 'httpx' not in sys.modules and 'temporalio' not in sys.modules;"
        "from gennaker import Client, AsyncClient, GateError; print(json.dumps([light, Client.__name__]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [True, "Client"]

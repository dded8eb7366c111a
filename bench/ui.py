"""Deck's render times in Chromium: the executions page with 500 executions and an execution of 1,000 stages.

    .venv/bin/python -m bench.ui [--executions 500] [--stages 1000] [--runs 3]

The pages are served by the real UI server in front of a made-up Gate on loopback (no store, no engine), so the
figures are the page's own cost and its fetch: from the route change to the rows (or the graph and the stage panel) laid
out and painted (two animation frames after the last node is in the DOM). Issue 16's bar: under 1 s each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from typing import Any

from playwright.async_api import async_playwright

from gennaker.localstack import free_port
from ui.server import ServedUi

CHROMIUM = "/usr/bin/chromium"
STATUSES = ["SUCCEEDED", "TERMINAL", "CANCELED", "RUNNING", "SUCCEEDED"]
T0 = 1_767_000_000_000


def stage(i: int, *, branches: int = 1, status: str = "SUCCEEDED") -> dict[str, Any]:
    """Stage ``i`` of a wide graph: ``branches`` parallel lanes that join every ten stages."""
    requisites = [] if i == 0 else [str(i - 1)] if i % 10 else [str(i - 1 - b) for b in range(min(branches, i))]
    return {
        "id": f"s{i}", "refId": str(i), "type": "wait", "name": f"Stage {i}", "status": status,
        "requisiteStageRefIds": requisites, "startTime": T0 + i * 1000, "endTime": T0 + i * 1000 + 900,
        "context": {"waitTime": 1}, "outputs": {},
        "tasks": [{"id": "1", "name": "wait", "status": status, "startTime": T0, "endTime": T0 + 900}],
    }  # fmt: skip


def execution(n: int, stages: int, pipeline: str) -> dict[str, Any]:
    status = STATUSES[n % len(STATUSES)]
    return {
        "id": f"01BENCH{n:06d}", "name": pipeline, "application": "bench", "status": status,
        "pipelineConfigId": pipeline, "startTime": T0 + n * 60_000, "endTime": T0 + n * 60_000 + 30_000,
        "trigger": {"type": "manual", "user": f"user{n % 7}@example.com"},
        "stages": [stage(i, status=status) for i in range(stages)],
    }  # fmt: skip


def gate_answers(executions: int, stages: int) -> dict[str, Any]:
    pipelines = [f"pipeline-{p}" for p in range(10)]
    listed = [execution(n, 8, pipelines[n % len(pipelines)]) for n in range(executions)]
    big = execution(0, 0, "big")
    big["stages"] = [stage(i, branches=3) for i in range(stages)]
    return {
        "/auth/user": {"username": "anonymous", "admin": True, "authenticated": False, "roles": []},
        "/applications/bench/pipelineConfigs": [{"id": p, "name": p, "application": "bench"} for p in pipelines],
        "/applications/bench/pipelines": listed,
        "/pipelines/01BIG": big,
    }


class MadeUpGate:
    """A loopback HTTP server answering Gate's paths the pages read with made-up JSON (encoded once), so the
    benchmark pays the real network and proxy costs of its size but no store's."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.bodies = {path: json.dumps(doc).encode() for path, doc in answers.items()}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/events/stream":  # open and quiet until the page goes away, as Gate's is between transitions
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
            )
            await send({"type": "http.response.body", "body": b"retry: 600000\n\n", "more_body": True})
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        if path in self.bodies:
            status, kind, body = 200, b"application/json", self.bodies[path]
        else:
            status, kind, body = 404, b"application/json", b'{"message": "not made up"}'
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]})
        await send({"type": "http.response.body", "body": body})

    def _run(self) -> None:
        self._server.run()

    def __enter__(self) -> MadeUpGate:
        import uvicorn

        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", interface="asgi3"
        )
        self._server = uvicorn.Server(config)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


MEASURE = """async ([hash, selector, count]) => {
  const t0 = performance.now();
  location.hash = hash;
  while (document.querySelectorAll(selector).length < count) await new Promise((r) => requestAnimationFrame(r));
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}"""


async def measure(executions: int, stages: int, runs: int) -> dict[str, list[float]]:
    answers = gate_answers(executions, stages)
    found: dict[str, list[float]] = {"executions": [], "details": []}
    with MadeUpGate(answers) as gate, ServedUi(gate.url, port=free_port()) as ui:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            for _ in range(runs):
                await page.goto(f"{ui.url}/#/nowhere")
                await page.wait_for_selector("body[data-ready]")
                listed = ["#/applications/bench/executions?limit=100", ".execution", executions]
                found["executions"].append(await page.evaluate(MEASURE, listed))
                await page.goto(f"{ui.url}/#/nowhere")
                await page.wait_for_selector("body[data-ready]")
                details = ["#/applications/bench/executions/details/01BIG", ".node", stages]
                found["details"].append(await page.evaluate(MEASURE, details))
            await browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=500)
    parser.add_argument("--stages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    found = asyncio.run(measure(args.executions, args.stages, args.runs))
    for name, label in (("executions", f"{args.executions} executions"), ("details", f"{args.stages} stages")):
        times = found[name]
        print(f"{label:>16}: median {statistics.median(times):6.0f} ms  (runs: {', '.join(f'{t:.0f}' for t in times)})")


if __name__ == "__main__":
    main()

"""Beyond Kayenta, behind Gate: ``POST /v2/canaries/backtest`` (a config judged over past windows, see
canary/backtest.py) and ``GET /v2/canaries/canary/{id}/report`` (a run as an HTML page, canary/report.py).
Backtests start canary runs: EXECUTE on the application; a report is a read: READ on the run's application."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import HTMLResponse

from ..auth.enforce import EXECUTE, READ, GuardDep
from ..deps import ClientDep, SettingsDep, StoreDep
from ..errors import bad_request
from ..models.base import document
from ..models.canary import BacktestRequest, BacktestResult

router = APIRouter(tags=["canary"])
Json = dict[str, Any]


@router.post("/v2/canaries/backtest", response_model=BacktestResult)
async def backtest(
    store: StoreDep,
    client: ClientDep,
    settings: SettingsDep,
    guard: GuardDep,
    body: Annotated[BacktestRequest, Body()],
) -> Json:
    """Judge a config (``canaryConfigId`` or an ad hoc ``canaryConfig``) over ``windows``, or over the intervals
    earlier kayentaCanary stages recorded (``pipelineConfigId`` / ``executionIds``, ``limit``)."""
    from canary.backtest import BacktestError
    from canary.backtest import backtest as run

    async def authorize(application: str) -> None:
        await guard.app(application, EXECUTE)

    try:
        return await run(client, store, settings, document(body), authorize)
    except BacktestError as err:
        raise bad_request(str(err), field=err.field) from None


@router.get(
    "/v2/canaries/canary/{run_id}/report",
    # the page is HTML; errors stay Gate's JSON body, as on every route
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The report page"}},
)
async def report(run_id: str, store: StoreDep, guard: GuardDep) -> HTMLResponse:
    """The run as a page: per metric, control and experiment side by side, the window and the verdict's reason."""
    from canary.report import render

    canary = store.canary
    run = await asyncio.to_thread(canary.get_run, run_id)
    await guard.app(run.get("application"), READ)
    pairs: list[Json] = []
    if run.get("metricSetPairListId"):
        pairs = await asyncio.to_thread(canary.get_metric_sets, str(run["metricSetPairListId"]), "metricSetPairList")
    return HTMLResponse(render(run, pairs))

"""Backtesting: judge a canary config over past windows before it gates a deploy.

Windows come from the request (``windows``) or from the runCanary stages earlier executions recorded
(``pipelineConfigId`` / ``executionIds``, read from the store's execution projection). A window whose stored
metric-set pairs were fetched with the same queries (an earlier run over the same scopes and times) is judged
again from the store (Kayenta's ``/judges/judge``); any other window is fetched afresh by a canary run. Each
window reports the score and classification the config would have given, beside what was recorded then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import CanaryError

from . import runs
from .request import check
from .stage_plan import PlanError, parse_instant

Json = dict[str, Any]
MAX_WINDOWS = 50
_CONCURRENT_RUNS = 4


class BacktestError(CanaryError, ValueError):
    """A request answered 400; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Window:
    scopes: Json  # Kayenta's request scopes: {name: {controlScope, experimentScope}}
    recorded: Json = field(default_factory=dict)  # what an earlier stage recorded for it
    run: Json | None = None  # the earlier canary run over it, if any


def _scope_pair(raw: Json, index: int) -> tuple[str, Json]:
    where = f"windows[{index}]"
    for key in ("controlScope", "experimentScope", "startTimeIso", "endTimeIso"):
        if not raw.get(key):
            raise BacktestError(f"{where}.{key} is required", f"{where}.{key}")
    try:
        start = parse_instant(raw["startTimeIso"], f"{where}.startTimeIso")
        end = parse_instant(raw["endTimeIso"], f"{where}.endTimeIso")
    except PlanError as err:
        raise BacktestError(str(err), err.field) from None
    if end <= start:
        raise BacktestError(f"{where}.endTimeIso must be after startTimeIso", f"{where}.endTimeIso")
    step = raw.get("step", 60)
    if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
        raise BacktestError(f"{where}.step must be a positive number of seconds", f"{where}.step")

    def side(prefix: str) -> Json:
        return {"scope": raw[f"{prefix}Scope"], "location": raw.get(f"{prefix}Location") or "",
                "start": raw["startTimeIso"], "end": raw["endTimeIso"], "step": step,
                "extendedScopeParams": raw.get("extendedScopeParams") or {}}  # fmt: skip

    return str(raw.get("scopeName") or "default"), {
        "controlScope": side("control"),
        "experimentScope": side("experiment"),
    }


def explicit_windows(raw: Any) -> list[Window]:
    if not isinstance(raw, list) or not raw:
        raise BacktestError("windows must list at least one window", "windows")
    if len(raw) > MAX_WINDOWS:
        raise BacktestError(f"at most {MAX_WINDOWS} windows per backtest", "windows")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise BacktestError(f"windows[{i}] must be an object", f"windows[{i}]")
        name, pair = _scope_pair(item, i)
        out.append(Window({name: pair}))
    return out


def recorded_windows(executions: list[Json], application: str) -> list[Window]:
    """Every runCanary interval the application's executions recorded (scopes and the run that judged them), oldest
    first; executions of other applications are left out (the caller's permission is on this one)."""
    out = []
    mine = [e for e in executions if e.get("application") == application]
    for execution in sorted(mine, key=lambda e: e.get("buildTime") or 0):
        for stage in execution.get("stages") or []:
            ctx = stage.get("context") or {}
            if stage.get("type") != "runCanary" or not isinstance(ctx.get("scopes"), dict):
                continue
            recorded = {
                "executionId": execution.get("id"),
                "stageId": stage.get("id"),
                "stageName": stage.get("name"),
                "canaryExecutionId": ctx.get("canaryPipelineExecutionId"),
                "canaryScore": ctx.get("canaryScore"),
                "status": stage.get("status"),
            }
            out.append(Window(ctx["scopes"], recorded))
    return out[-MAX_WINDOWS:]


def _same_instant(a: Any, b: Any) -> bool:
    try:
        return parse_instant(a, "t") == parse_instant(b, "t")
    except PlanError:
        return False


def same_scopes(a: Json, b: Json) -> bool:
    """Do two requests' scopes cover the same series and times?"""
    if set(a) != set(b):
        return False
    for name, pair in a.items():
        for side in ("controlScope", "experimentScope"):
            x, y = pair.get(side) or {}, (b[name] or {}).get(side) or {}
            if (x.get("scope"), x.get("location") or "", float(x.get("step") or 60)) != (
                y.get("scope"),
                y.get("location") or "",
                float(y.get("step") or 60),
            ):
                return False
            if not (_same_instant(x.get("start"), y.get("start")) and _same_instant(x.get("end"), y.get("end"))):
                return False
    return True


def reusable(run: Json, config: Json) -> bool:
    """Were the run's stored pairs fetched with exactly this config's queries (same metrics, queries, scopes)?"""
    if run.get("status") != "SUCCEEDED" or not run.get("metricSetPairListId"):
        return False

    def queries(c: Json) -> dict[str, Any]:
        return {str(m.get("name")): (m.get("query"), m.get("scopeName") or "default") for m in c.get("metrics") or []}

    return queries(run.get("config") or {}) == queries(config)


def _thresholds(raw: Any) -> Json:
    raw = raw if raw is not None else {}
    if not isinstance(raw, dict):
        raise BacktestError("thresholds must be an object {pass, marginal}", "thresholds")
    out = {"pass": raw.get("pass", 75), "marginal": raw.get("marginal", 50)}
    for key, value in out.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BacktestError(f"thresholds.{key} must be a number", f"thresholds.{key}")
    return out


def _summary(judged: Json) -> Json:
    score = judged.get("score") or {}
    return {
        "score": score.get("score"),
        "classification": score.get("classification"),
        "classificationReason": score.get("classificationReason") or "",
        "metrics": [{"name": r.get("name"), "classification": r.get("classification"),
                     "classificationReason": r.get("classificationReason") or ""}
                    for r in judged.get("results") or []],
    }  # fmt: skip


async def backtest(
    client: Any, store: Any, settings: Any, body: Any, authorize: Callable[[str], Awaitable[None]] | None = None
) -> Json:
    """Run the backtest ``body`` asks for (BacktestError names a bad field); one row per window. ``authorize`` is
    awaited with the application before anything is read or started (Gate's permission check)."""
    from core.store import NotFoundError

    if not isinstance(body, dict):
        raise BacktestError("the body must be a JSON object", "body")
    canary = store.canary
    config_id = body.get("canaryConfigId")
    if isinstance(body.get("canaryConfig"), dict):
        config = body["canaryConfig"]
    elif config_id:
        try:
            config = await asyncio.to_thread(canary.get_config, str(config_id))
        except NotFoundError:
            raise BacktestError(f"no canary config with id '{config_id}'", "canaryConfigId") from None
    else:
        raise BacktestError("canaryConfigId or canaryConfig is required", "canaryConfigId")
    application = str(body.get("application") or (config.get("applications") or ["ad-hoc"])[0])
    if authorize is not None:
        await authorize(application)
    thresholds = _thresholds(body.get("thresholds"))
    if body.get("windows") is not None:
        windows = explicit_windows(body["windows"])
    elif body.get("pipelineConfigId") or body.get("executionIds"):
        limit = body.get("limit", 10)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise BacktestError("limit must be a whole number from 1 to 100", "limit")
        executions = await asyncio.to_thread(
            store.executions.query,
            pipeline_config_ids=[str(body["pipelineConfigId"])] if body.get("pipelineConfigId") else None,
            execution_ids=[str(i) for i in body.get("executionIds") or []] or None,
            limit=limit,
        )
        windows = recorded_windows(executions, application)
        if not windows:
            raise BacktestError(
                f"those executions of application '{application}' recorded no kayentaCanary intervals",
                "pipelineConfigId",
            )
    else:
        raise BacktestError("give windows, or pipelineConfigId / executionIds to replay recorded ones", "windows")

    earlier = await asyncio.to_thread(canary.list_runs, application, 200, 1, ["SUCCEEDED"])
    for w in windows:
        run_id = w.recorded.get("canaryExecutionId")
        known = None
        if run_id:
            try:
                known = await asyncio.to_thread(canary.get_run, str(run_id))
            except NotFoundError:
                known = None
        if known is None or not reusable(known, config):
            known = next((r for r in earlier if reusable(r, config) and same_scopes(
                (r.get("canaryExecutionRequest") or {}).get("scopes") or {}, w.scopes)), None)  # fmt: skip
        w.run = known if known is not None and reusable(known, config) else None

    for w in windows:  # every request is checked before any run starts
        if w.run is None:
            try:
                check(config, {"scopes": w.scopes, "thresholds": thresholds})
            except runs.RequestError as err:
                raise BacktestError(str(err), err.field or "windows") from None
    gate = asyncio.Semaphore(_CONCURRENT_RUNS)

    async def judge_one(index: int, w: Window) -> Json:
        first = next(iter(w.scopes.values()))
        row: Json = {
            "index": index,
            "startTimeIso": first["experimentScope"].get("start"),
            "endTimeIso": first["experimentScope"].get("end"),
            "controlScope": first["controlScope"].get("scope"),
            "experimentScope": first["experimentScope"].get("scope"),
            "scopes": w.scopes,
        }
        if w.recorded:
            row["recorded"] = w.recorded
        try:
            if w.run is not None:
                pair_list = str(w.run["metricSetPairListId"])
                judged = await asyncio.to_thread(runs.rejudge, store, pair_list, config, thresholds)
                row.update(source="stored pairs", canaryExecutionId=w.run.get("id"), metricSetPairListId=pair_list)
            else:
                async with gate:
                    request = {"scopes": w.scopes, "thresholds": thresholds}
                    run_id = await runs.start_run(client, store, settings, runs.RunRequest(
                        config, request, application, str(config_id) if config_id else None,
                        metrics_account_name=body.get("metricsAccountName"), extra={"backtest": True}))  # fmt: skip
                    await client.get_workflow_handle(run_id).result()
                status = await asyncio.to_thread(runs.get_status, store, run_id)
                row.update(
                    source="fetched", canaryExecutionId=run_id, metricSetPairListId=status.get("metricSetPairListId")
                )
                if status.get("status") != "succeeded":
                    exception = status.get("exception") or {}
                    raise RuntimeError(((exception.get("details") or {}).get("error")) or status.get("status"))
                judged = status["result"]["judgeResult"]
        except Exception as err:  # noqa: BLE001 - one window's failure is that window's answer
            row.update(error=str(err), classification=None, score=None)
            return row
        row.update(_summary(judged))
        return row

    rows = await asyncio.gather(*(judge_one(i, w) for i, w in enumerate(windows)))
    counts: dict[str, int] = {}
    for row in rows:
        key = row.get("classification") or "Error"
        counts[key] = counts.get(key, 0) + 1
    return {
        "canaryConfigId": config_id,
        "canaryConfigName": config.get("name"),
        "application": application,
        "thresholds": thresholds,
        "windows": list(rows),
        "summary": counts,
    }

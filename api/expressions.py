"""Trying expressions against a stored execution, as Orca's expression endpoints do: as seen from the
whole execution, from one stage, or as an ad-hoc Evaluate Variables stage placed after some stages.

Evaluation is CPU work on user input, so it never runs on the event loop: each request is evaluated in a
worker thread (a few at once) with one step budget for the whole request and a wall-clock budget
(``request_limits.expression_time_budget_s``). Running out of either fails the expressions still to be
evaluated, recorded in ``detail`` as Orca records failed expressions; the request still answers 200.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from workflows import expressions as expr

from . import limits
from .errors import ApiError, bad_request

Json = dict[str, Any]
SPEL_VERSIONS = ("v3", "v4")


def _root(execution: Json, **extra: Any) -> Json:
    trigger = execution.get("trigger") or {}
    return {**extra, "trigger": trigger, "parameters": trigger.get("parameters") or {}, "execution": execution}


def _context(execution: Json, root: Json, fallback: list[Json], stage_id: str | None = None) -> expr.EvaluationContext:
    return expr.EvaluationContext(
        root=root,
        fallback=fallback,
        execution=execution,
        current_stage_id=stage_id,
        user=(execution.get("authentication") or {}).get("user"),
        timestamp_ms=int(time.time() * 1000),
    )


def _answer(result: expr.ProcessResult) -> Json:
    return {"result": result.value, "detail": result.summary} if result.summary else {"result": result.value}


def _upstream(execution: Json, ref_ids: list[str]) -> list[Json]:
    """The top-level stages with these refIds and every stage they depend on, nearest first."""
    by_ref = {s.get("refId"): s for s in execution.get("stages", []) if not s.get("parentStageId")}
    found: dict[int, Json] = {}  # id(stage) -> stage, in the order found (linear in long chains)
    todo = deque(ref_ids)
    while todo:
        stage = by_ref.get(todo.popleft())
        if stage is None or id(stage) in found:
            continue
        found[id(stage)] = stage
        todo.extend(str(r) for r in stage.get("requisiteStageRefIds") or [])
    return list(found.values())


#: evaluations running at once; further requests wait for a slot (the machine has few cores)
_SLOTS = 4
_slots: asyncio.Semaphore | None = None


async def _off_loop(work: Callable[[expr.Budget], Json]) -> Json:
    """Run ``work`` in a thread with the request's step budget and wall-clock budget."""
    global _slots
    if _slots is None:
        _slots = asyncio.Semaphore(_SLOTS)
    seconds = limits.current().expression_time_budget_s
    deadline = time.monotonic() + seconds
    message = (
        f"expression evaluation took longer than the API's time budget of {seconds:g} s "
        "(request_limits.expression_time_budget_s)"
    )
    budget = expr.Budget(expr.MAX_DOCUMENT_STEPS, lambda: message if time.monotonic() > deadline else None)
    async with _slots:
        try:
            return await asyncio.wait_for(asyncio.to_thread(work, budget), timeout=seconds + 5)
        except TimeoutError:
            raise ApiError(503, message) from None


async def for_execution(execution: Json, expression: str) -> Json:
    """``${...}`` as seen from the execution: trigger, parameters, execution, and every stage's outputs."""
    return await _off_loop(lambda budget: _for_execution(execution, expression, budget))


async def for_stage(execution: Json, stage_id: str, expression: str) -> Json:
    """``${...}`` as the stage saw it (see :func:`_for_stage`)."""
    return await _off_loop(lambda budget: _for_stage(execution, stage_id, expression, budget))


async def evaluate_variables(execution: Json, requisite_ref_ids: list[str], spel_version: str, variables: Any) -> Json:
    """Orca's dry run of an Evaluate Variables stage (see :func:`_evaluate_variables`)."""
    return await _off_loop(
        lambda budget: _evaluate_variables(execution, requisite_ref_ids, spel_version, variables, budget)
    )


def _for_execution(execution: Json, expression: str, budget: expr.Budget) -> Json:
    outputs = [s.get("outputs") or {} for s in reversed(execution.get("stages", []))]
    return _answer(expr.process(expression, _context(execution, _root(execution), outputs), budget))


def _for_stage(execution: Json, stage_id: str, expression: str, budget: expr.Budget) -> Json:
    """``${...}`` as the stage saw it: its context, then its own and its ancestors' outputs."""
    stage = next((s for s in execution.get("stages", []) if s.get("id") == stage_id), None)
    if stage is None:
        raise ApiError(404, f"Stage {stage_id} not found in execution {execution.get('id')}")
    ancestors = _upstream(execution, [str(r) for r in stage.get("requisiteStageRefIds") or []])
    fallback = [stage.get("outputs") or {}, *(s.get("outputs") or {} for s in ancestors)]
    root = _root(execution, **(stage.get("context") or {}))
    return _answer(expr.process(expression, _context(execution, root, fallback, stage_id), budget))


def _evaluate_variables(
    execution: Json, requisite_ref_ids: list[str], spel_version: str, variables: Any, budget: expr.Budget
) -> Json:
    """Orca's dry run of an Evaluate Variables stage placed after ``requisite_ref_ids``: each variable in
    order, later ones seeing earlier ones; the answer is ``{result: [{key, value}], detail}``. All the
    variables draw from one step budget: the request is one document."""
    if spel_version and spel_version not in SPEL_VERSIONS:
        raise bad_request(f"SpEL evaluator version {spel_version} is not supported", field="spelVersion")
    if not isinstance(variables, list):
        raise bad_request("the body must be a list of {key, value} variables")
    ancestors = _upstream(execution, requisite_ref_ids)
    evaluated: Json = {}
    fallback = [evaluated, *(s.get("outputs") or {} for s in ancestors)]
    ctx = _context(execution, _root(execution), fallback)
    result: list[Json] = []
    detail: Json = {}
    for i, variable in enumerate(variables):
        if not isinstance(variable, dict) or not isinstance(variable.get("key"), str) or not variable["key"]:
            raise bad_request(f"variables[{i}].key must be a non-empty string", field=f"[{i}].key")
        processed = expr.process(variable.get("value"), ctx, budget)
        detail.update(processed.summary or {})
        evaluated[variable["key"]] = processed.value
        result.append({**variable, "value": processed.value})
    return {"result": result, "detail": detail} if detail else {"result": result}

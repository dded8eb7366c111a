"""Orca's ``V2ConfigStageInjectionTransform``: config stages replace template stages by ``refId``, join the graph
through ``requisiteStageRefIds``, and ``inject`` rules (first, last, before, after) splice stages in."""

from __future__ import annotations

import copy
from typing import Any

from templates.documents import TemplateError

JSON = dict[str, Any]


def stage_definition(stage: JSON) -> JSON:
    """A ``V2StageDefinition``: the body flat or under ``config`` (both land in one map), refIds as strings."""
    out = {k: copy.deepcopy(v) for k, v in stage.items() if k != "config"}
    if isinstance(stage.get("config"), dict):
        for k, v in stage["config"].items():
            out.setdefault(k, copy.deepcopy(v))
    out["refId"] = str(out.get("refId"))
    out["requisiteStageRefIds"] = [str(r) for r in out.get("requisiteStageRefIds") or []]
    return out


def _has_rule(stage: JSON) -> bool:
    rule = stage.get("inject")
    if not isinstance(rule, dict):
        return False
    return bool(
        rule.get("first") or rule.get("last") or rule.get("before") is not None or rule.get("after") is not None
    )


def _dfs(ref: str, graph: dict[str, JSON], state: dict[str, str], out: list[JSON], out_order: dict[str, int]) -> None:
    state[ref] = "visiting"
    stage = graph.get(ref)
    if stage is None:
        state[ref] = "visited"
        return
    for parent in stage["requisiteStageRefIds"]:
        seen = state.get(parent)
        if seen == "visiting":
            raise TemplateError(f"Cycle detected in graph (discovered on stage: {ref})", "stages")
        if seen != "visited":
            _dfs(parent, graph, state, out, out_order)
    if not any(s is stage for s in out):
        out.append(stage)
    state[stage["refId"]] = "visited"
    for parent in stage["requisiteStageRefIds"]:
        out_order[parent] = out_order.get(parent, 0) + 1


def create_graph(stages: list[JSON], out_order: dict[str, int] | None = None) -> list[JSON]:
    """Stages in topological order (parents first); a cycle is an error with Orca's message."""
    graph = {s["refId"]: s for s in stages}
    state: dict[str, str] = {}
    out: list[JSON] = []
    order = out_order if out_order is not None else {}
    for ref in graph:
        if state.get(ref) != "visited":
            _dfs(ref, graph, state, out, order)
    return out


def _target(stage: JSON, target_id: str, stages: list[JSON]) -> JSON:
    for s in stages:
        if s["refId"] == target_id:
            return s
    raise TemplateError(f"could not inject '{stage['refId']}' stage: unknown target stage id '{target_id}'", "stages")


def _inject_first(stage: JSON, stages: list[JSON]) -> None:
    for s in stages:
        if not s["requisiteStageRefIds"]:
            s["requisiteStageRefIds"].append(stage["refId"])
    stages.insert(0, stage)


def _inject_last(stage: JSON, stages: list[JSON]) -> None:
    out_order = {s["refId"]: 0 for s in stages}
    for s in create_graph(stages, out_order):
        if out_order.get(s["refId"]) == 0 and s["refId"] not in stage["requisiteStageRefIds"]:
            stage["requisiteStageRefIds"].append(s["refId"])
    stages.append(stage)
    create_graph(stages)


def _inject_before(stage: JSON, targets: list[str], stages: list[JSON]) -> None:
    edges: list[str] = []
    indexes: list[int] = []
    for target_id in targets:
        target = _target(stage, target_id, stages)
        edges += [e for e in target["requisiteStageRefIds"] if e not in edges]
        target["requisiteStageRefIds"] = [stage["refId"]]
        indexes.append(next(i for i, s in enumerate(stages) if s is target))
    stage["requisiteStageRefIds"] += [e for e in edges if e not in stage["requisiteStageRefIds"]]
    stages.insert(max(indexes) if indexes else len(stages), stage)
    create_graph(stages)


def _inject_after(stage: JSON, targets: list[str], stages: list[JSON]) -> None:
    indexes: list[int] = []
    for target_id in targets:
        target = _target(stage, target_id, stages)
        indexes.append(next(i for i, s in enumerate(stages) if s is target))
        if target_id not in stage["requisiteStageRefIds"]:
            stage["requisiteStageRefIds"].append(target_id)
        for s in stages:
            if target_id in s["requisiteStageRefIds"]:
                s["requisiteStageRefIds"] = [r for r in s["requisiteStageRefIds"] if r != target_id]
                s["requisiteStageRefIds"].append(stage["refId"])
    stages.insert((max(indexes) + 1) if indexes else len(stages), stage)
    create_graph(stages)


def _inject(rules_from: list[JSON], stages: list[JSON]) -> list[JSON]:
    for stage in list(rules_from):
        if not _has_rule(stage):
            continue  # Orca skips a stage whose inject has no rule (an empty object included)
        rule = stage["inject"]
        stages[:] = [s for s in stages if s["refId"] != stage["refId"]]
        if rule.get("first"):
            _inject_first(stage, stages)
        elif rule.get("last"):
            _inject_last(stage, stages)
        elif rule.get("before") is not None:
            _inject_before(stage, list(rule["before"]), stages)
        elif rule.get("after") is not None:
            _inject_after(stage, list(rule["after"]), stages)
        else:
            raise TemplateError(f"stage did not have any valid injections defined (id: {stage['refId']})", "stages")
    return stages


def transform(template_stages: list[JSON], config_stages: list[JSON]) -> list[JSON]:
    """The template's stage graph with the config's stages applied, as Orca orders it."""
    tstages = [stage_definition(s) for s in template_stages]
    cstages = [stage_definition(s) for s in config_stages]
    for cs in cstages:  # a config stage with a template stage's refId replaces it whole
        for i, ts in enumerate(tstages):
            if ts["refId"] == cs["refId"]:
                tstages[i] = cs
    present = {s["refId"] for s in tstages}
    # Orca adds every config stage with requisites; one already placed by replacement is not added twice
    # (Orca's map of refIds would fail on the duplicate).
    tstages += [cs for cs in cstages if cs["requisiteStageRefIds"] and cs["refId"] not in present]
    stages = create_graph(tstages)
    stages = _inject(list(stages), stages)
    return _inject(cstages, stages)


def without_rules(stages: list[JSON]) -> list[JSON]:
    """The stages as the execution gets them: ``inject`` rules have done their work."""
    return [{k: v for k, v in s.items() if k != "inject"} for s in stages]

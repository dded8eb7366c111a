"""The stage graph: ``refId`` / ``requisiteStageRefIds`` edges, checked once, walked many times.

When no stage has a refId, Orca treats the list as a straight line and numbers the stages
"0", "1", ...; we do the same, so a legacy linear pipeline runs unchanged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.status import PROCEED, ExecutionStatus

from .config import StageConfig
from .errors import InvalidPipelineError

#: most top-level stages one pipeline may have. Orca runs 1,000-stage pipelines; the walks here are
#: iterative and linear, so the bound is about history size, not recursion.
MAX_STAGES = 5_000


@dataclass(frozen=True)
class StageNode:
    ref_id: str
    requisites: tuple[str, ...]
    index: int


class StageGraph:
    """A validated DAG of top-level stages keyed by refId (in config order)."""

    def __init__(self, nodes: list[StageNode]) -> None:
        self.nodes = {n.ref_id: n for n in nodes}
        self.order = [n.ref_id for n in nodes]
        self.children: dict[str, list[str]] = {r: [] for r in self.order}
        for n in nodes:
            for parent in n.requisites:
                self.children[parent].append(n.ref_id)

    @classmethod
    def build(cls, stages: list[StageConfig]) -> StageGraph:
        if len(stages) > MAX_STAGES:
            raise InvalidPipelineError(
                f"the pipeline has {len(stages)} stages; the limit is {MAX_STAGES} top-level stages", field="stages"
            )
        if stages and not any(s.ref_id for s in stages):
            nodes = [StageNode(str(i), (str(i - 1),) if i else (), i) for i in range(len(stages))]
            return cls(nodes)
        seen: dict[str, StageConfig] = {}
        for s in stages:
            if not s.ref_id:
                raise InvalidPipelineError(
                    "is missing while other stages have one", field=f"stages[{s.index}].refId", stage=s.label
                )
            if s.ref_id in seen:
                raise InvalidPipelineError(
                    f"duplicates the refId of stage {seen[s.ref_id].label}",
                    field=f"stages[{s.index}].refId",
                    stage=s.label,
                )
            seen[s.ref_id] = s
        for s in stages:
            for i, req in enumerate(s.requisite_ref_ids):
                if req not in seen:
                    raise InvalidPipelineError(
                        f"names refId '{req}', which no stage has",
                        field=f"stages[{s.index}].requisiteStageRefIds[{i}]",
                        stage=s.label,
                    )
                if req == s.ref_id:
                    raise InvalidPipelineError(
                        "a stage cannot depend on itself",
                        field=f"stages[{s.index}].requisiteStageRefIds[{i}]",
                        stage=s.label,
                    )
        graph = cls([StageNode(s.ref_id, tuple(dict.fromkeys(s.requisite_ref_ids)), s.index) for s in stages])
        cycle = graph._find_cycle()
        if cycle:
            first = seen[cycle[0]]
            path = " -> ".join(cycle + [cycle[0]])
            raise InvalidPipelineError(
                f"stages form a cycle: {path}", field=f"stages[{first.index}].requisiteStageRefIds", stage=first.label
            )
        return graph

    def _find_cycle(self) -> list[str] | None:
        """A cycle's refIds in order, or None. Depth-first with an explicit stack: a chain of thousands
        of stages must not exhaust Python's recursion limit."""
        white, grey, black = 0, 1, 2
        color = dict.fromkeys(self.order, white)
        for start in self.order:
            if color[start] != white:
                continue
            path: list[str] = [start]  # the grey stages, root first
            position: dict[str, int] = {start: 0}
            todo: list[tuple[str, int]] = [(start, 0)]  # (stage, index of its next child to visit)
            color[start] = grey
            while todo:
                ref, i = todo[-1]
                children = self.children[ref]
                if i == len(children):
                    todo.pop()
                    path.pop()
                    del position[ref]
                    color[ref] = black
                    continue
                todo[-1] = (ref, i + 1)
                child = children[i]
                if color[child] == grey:
                    return path[position[child] :]
                if color[child] == white:
                    color[child] = grey
                    position[child] = len(path)
                    path.append(child)
                    todo.append((child, 0))
        return None

    def roots(self) -> list[str]:
        return [r for r in self.order if not self.nodes[r].requisites]

    def ready(self, statuses: Mapping[str, ExecutionStatus]) -> list[str]:
        """Stages not yet started whose every parent finished in a status that lets them proceed."""
        return [
            r
            for r in self.order
            if statuses.get(r, ExecutionStatus.NOT_STARTED) == ExecutionStatus.NOT_STARTED
            and all(statuses.get(p) in PROCEED for p in self.nodes[r].requisites)
        ]

    def downstream(self, ref_ids: Iterable[str]) -> list[str]:
        """The given stages and everything that depends on them, in config order."""
        found: set[str] = set()
        todo = list(ref_ids)
        while todo:
            ref = todo.pop()
            if ref in found:
                continue
            found.add(ref)
            todo.extend(self.children[ref])
        return [r for r in self.order if r in found]

    def upstream(self, ref_id: str) -> list[str]:
        """Every ancestor of a stage (not the stage itself), nearest first (breadth-first, linear time)."""
        found: dict[str, None] = {}
        todo = deque(self.nodes[ref_id].requisites)
        while todo:
            ref = todo.popleft()
            if ref not in found:
                found[ref] = None
                todo.extend(self.nodes[ref].requisites)
        return list(found)

    def blocked(self, statuses: Mapping[str, ExecutionStatus]) -> set[str]:
        """Stages that can never start because an ancestor halted (or is halted by a failure)."""
        halted = {
            r
            for r, s in statuses.items()
            if s in (ExecutionStatus.TERMINAL, ExecutionStatus.STOPPED, ExecutionStatus.CANCELED)
        }
        return set(self.downstream(halted)) - halted if halted else set()

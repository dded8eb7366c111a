"""Record the replay corpus from real executions: a pytest plugin, ``make replay-record``.

    .venv/bin/pytest -p tests.replay.recorder <the engine's tests> -q -p no:cacheprovider

The existing tests run their pipelines against their stand-ins (moto for deploys, the Jenkins stand-in, the
kube-apiserver of tests/k8s, local HTTP servers for webhooks, packer for bakes) on the session's Temporal dev
server. When the session ends, this plugin walks the closed workflows on that server and keeps, for every
workflow type and every stage type, one closed history (completed first, the longest of at most 250 events),
written to ``tests/replay/histories/<BUILD_ID>/<name>.json`` with the build id it was recorded under. Existing files of
that build are replaced only for the kinds recorded again.

Synthetic stages (a deploy strategy's ``shrinkCluster``/``scaleDownCluster``/``pinServerGroup``, a canary's
``runCanary``, an execution window's ``restrictExecutionDuringTimeWindow``) run inside their parent's stage
workflow, so their code is in the parent's history, not a workflow of their own. A stage type that no kept history
runs, top-level or synthetic, is looked for in the other stage histories and kept as ``synthetic-<type>.json`` (the
parent's history, ``synthetic_type`` naming the type). test_coverage.py checks every stage type of the catalog is
run by some history of the current build.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from gennaker.versioning import BUILD_ID

HISTORIES = Path(__file__).resolve().parent / "histories"
#: where the plugin writes (for a trial run); the replay test always reads HISTORIES
OUTPUT = Path(os.environ.get("GENNAKER_REPLAY_OUTPUT") or HISTORIES)
STAGE_WORKFLOW = "Stage"
INDEX = "index.json"
# Closed statuses worth replaying, best first (a terminated or timed-out history says little of the code).
PREFERRED = ("Completed", "ContinuedAsNew", "Canceled", "Failed")
MAX_EVENTS = 250
# A history holding a claim-check reference would need the recording's blob store to replay: left out.
CLAIM_CHECK = base64.b64encode(b"binary/gennaker-claim-check").decode()


@dataclass
class Candidate:
    name: str
    workflow_id: str
    run_id: str
    workflow_type: str
    stage_type: str | None
    length: int
    status_rank: int = 0


def stage_type_of(value: Any) -> str | None:
    """The stage type in a stage workflow's input: the first object (breadth first) with ``refId`` and ``type``."""
    queue = [value]
    while queue:
        item = queue.pop(0)
        if isinstance(item, dict):
            if isinstance(item.get("type"), str) and "refId" in item:
                return str(item["type"])
            queue.extend(item.values())
        elif isinstance(item, list):
            queue.extend(item)
    return None


def kind(workflow_type: str, stage_type: str | None) -> str:
    """The corpus entry's name: ``stage-<type>`` for stages, the workflow type otherwise."""
    return f"stage-{stage_type}" if stage_type else workflow_type


async def _stage_type(client: Client, workflow_id: str, run_id: str) -> str | None:
    async for event in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events(page_size=1):
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        for payload in payloads:
            if payload.metadata.get("encoding") == b"json/plain":
                return stage_type_of(json.loads(payload.data))
        return None
    return None


def _registered() -> frozenset[str]:
    from workflows.stages import known_types

    return frozenset(known_types())


# The stage types the code registers, read when the plugin loads: before the tests register stand-in types of
# their own, whose histories the real workflows could not replay.
REGISTERED = _registered()


async def candidates(client: Client, query: str = "") -> AsyncIterator[Candidate]:
    """Every completed, canceled or failed workflow on the server (matching ``query``, a visibility query), with
    its stage type."""
    statuses = " OR ".join(f'ExecutionStatus="{s}"' for s in PREFERRED)
    condition = f"({statuses})" + (f" AND {query}" if query else "")
    async for wf in client.list_workflows(condition):
        if wf.status is None or wf.status.name.title().replace("_", "") not in PREFERRED:
            continue
        stage = await _stage_type(client, wf.id, wf.run_id) if wf.workflow_type == STAGE_WORKFLOW else None
        if wf.workflow_type == STAGE_WORKFLOW and (stage is None or stage not in REGISTERED):
            continue
        yield Candidate(
            kind(wf.workflow_type, stage),
            wf.id,
            wf.run_id,
            wf.workflow_type,
            stage,
            wf.history_length,
            PREFERRED.index(wf.status.name.title().replace("_", "")),
        )


def ranked(found: Iterable[Candidate]) -> dict[str, list[Candidate]]:
    """Per kind, the best candidate first: completed before canceled before failed, then the longest history of
    at most MAX_EVENTS events (it exercises the most of the workflow's code), then the shorter ones."""
    by_kind: dict[str, list[Candidate]] = {}
    for candidate in found:
        by_kind.setdefault(candidate.name, []).append(candidate)
    return {
        name: sorted(
            group,
            key=lambda c: (c.status_rank, c.length > MAX_EVENTS, -c.length if c.length <= MAX_EVENTS else c.length),
        )
        for name, group in by_kind.items()
    }


JSON_PLAIN = base64.b64encode(b"json/plain").decode()


def _decoded(payload: Any) -> Any:
    if not isinstance(payload, dict) or (payload.get("metadata") or {}).get("encoding") != JSON_PLAIN:
        return None
    try:
        return json.loads(base64.b64decode(payload.get("data") or ""))
    except ValueError:
        return None


def stage_types_run(history: dict[str, Any]) -> set[str]:
    """The stage types a recorded stage workflow history (``history.to_json()``, parsed) ran: its own (from its
    input), the stage of every task it scheduled (a task's input names its ``stage_type``: an on-failure stage of a
    failed stage too) and, when it completed, every stage of its result (its synthetic stages included)."""
    events = history.get("events") or []
    found: set[str] = set()
    for event in events:
        scheduled = event.get("activityTaskScheduledEventAttributes") or {}
        for payload in (scheduled.get("input") or {}).get("payloads") or []:
            value = _decoded(payload)
            if isinstance(value, dict) and isinstance(value.get("stage_type"), str):
                found.add(value["stage_type"])
    for event in events[:1]:
        for payload in ((event.get("workflowExecutionStartedEventAttributes") or {}).get("input") or {}).get(
            "payloads"
        ) or []:
            own = stage_type_of(_decoded(payload))
            found |= {own} if own else set()
    for event in events[-1:]:
        result = (event.get("workflowExecutionCompletedEventAttributes") or {}).get("result") or {}
        for payload in result.get("payloads") or []:
            value = _decoded(payload)
            stages = value.get("stages") if isinstance(value, dict) else None
            for stage in stages if isinstance(stages, list) else []:
                if isinstance(stage, dict) and isinstance(stage.get("type"), str):
                    found.add(stage["type"])
    return found


def _document(candidate: Candidate, build_id: str, text: str, synthetic: str | None = None) -> str:
    doc = {
        "build_id": build_id,
        "workflow_type": candidate.workflow_type,
        "stage_type": candidate.stage_type,
        "workflow_id": candidate.workflow_id,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "history": json.loads(text),
    }
    if synthetic:
        doc["synthetic_type"] = synthetic
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def types_in_directory(target: Path) -> set[str]:
    """Every stage type the stage histories stored in ``target`` run."""
    found: set[str] = set()
    for path in target.glob("*.json"):
        if path.name == INDEX:
            continue
        doc = json.loads(path.read_text())
        if doc.get("workflow_type") == STAGE_WORKFLOW:
            found |= stage_types_run(doc["history"])
    return found


#: at most this many more stage histories are read looking for the synthetic stage types no kept history runs
SYNTHETIC_SEARCH = 2000


def _round_robin(by_kind: dict[str, list[Candidate]]) -> list[Candidate]:
    """The stage histories, one of each stage kind in turn (each kind's best first, as ``ranked`` orders them:
    completed ones first), so that the search reaches every kind's variants (a CI stage whose build failed, with
    its on-failure property stage) early."""
    groups = [group for _name, group in sorted(by_kind.items()) if group and group[0].workflow_type == STAGE_WORKFLOW]
    return [group[i] for i in range(max((len(g) for g in groups), default=0)) for group in groups if i < len(group)]


async def record(client: Client, directory: Path, build_id: str = BUILD_ID, query: str = "") -> list[str]:
    """Write one history per kind under ``directory/<build_id>`` (of the workflows ``query`` selects); returns
    the kinds written."""
    target = directory / build_id
    target.mkdir(parents=True, exist_ok=True)
    written = []
    by_kind = ranked([c async for c in candidates(client, query)])
    for name, group in sorted(by_kind.items()):
        for candidate in group[:5]:
            history = await client.get_workflow_handle(candidate.workflow_id, run_id=candidate.run_id).fetch_history()
            text = history.to_json()
            if CLAIM_CHECK in text:
                continue
            (target / f"{name}.json").write_text(_document(candidate, build_id, text))
            written.append(name)
            break
    missing = set(REGISTERED) - types_in_directory(target)
    for candidate in _round_robin(by_kind)[:SYNTHETIC_SEARCH]:
        if not missing:
            break
        history = await client.get_workflow_handle(candidate.workflow_id, run_id=candidate.run_id).fetch_history()
        text = history.to_json()
        if CLAIM_CHECK in text:
            continue
        ran = stage_types_run(json.loads(text)) & missing
        for synthetic in sorted(ran):
            (target / f"synthetic-{synthetic}.json").write_text(_document(candidate, build_id, text, synthetic))
            written.append(f"synthetic-{synthetic}")
        missing -= ran
    index = sorted(p.stem for p in target.glob("*.json") if p.name != INDEX)
    (target / INDEX).write_text(json.dumps({"build_id": build_id, "kinds": index}, indent=1) + "\n")
    return written


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def _record_replay_corpus(temporal_env: WorkflowEnvironment) -> AsyncIterator[None]:
    """At the end of the session, before the dev server stops: record what the tests ran."""
    yield
    written = await record(temporal_env.client, OUTPUT)
    print(f"\nreplay corpus: {len(written)} histories of build {BUILD_ID} in {OUTPUT / BUILD_ID}: {written}")

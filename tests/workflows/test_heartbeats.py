"""Stage tasks whose activities heartbeat while their calls run are scheduled with a heartbeat timeout, so a worker
that dies during a call is noticed within it (core/tasks.py ``HEARTBEATING_ACTIVITIES``)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import activities
from core.tasks import HEARTBEATING_ACTIVITIES, SIDE_HEARTBEAT_S
from workflows.pipeline import stage_workflow_id

#: how a body beats: through a family's ``guarded`` wrapper or ``heartbeating()`` around its calls
_BEATS = re.compile(r"guarded\(|with heartbeating\(\)")
_CALLS = re.compile(r"self\.(\w+)\(")


def _beats(cls: type, source: str, seen: set[str]) -> bool:
    """Does this body beat, itself or in a method of its class it calls (``self._send(...)``, ``self._run(...)``)?"""
    if _BEATS.search(source):
        return True
    for name in _CALLS.findall(source):
        helper = getattr(cls, name, None)
        if name not in seen and inspect.isfunction(helper):
            seen.add(name)
            if _beats(cls, inspect.getsource(helper), seen):
                return True
    return False


def _activities_that_beat() -> tuple[set[str], set[str]]:
    """(every activity name of the activities package, those whose bodies beat)."""
    names, beating = set(), set()
    for module in pkgutil.iter_modules(activities.__path__):
        mod = importlib.import_module(f"activities.{module.name}")
        for cls in vars(mod).values():
            if inspect.isclass(cls) and cls.__module__ == mod.__name__:
                for fn in vars(cls).values():
                    definition = getattr(fn, "__temporal_activity_definition", None)
                    if definition is not None:
                        names.add(str(definition.name))
                        if _beats(cls, inspect.getsource(fn), set()):
                            beating.add(str(definition.name))
    return names, beating


def test_the_list_names_exactly_the_activities_that_beat_while_they_run() -> None:
    names, beating = _activities_that_beat()
    # a name listed for an activity that does not beat would have its healthy calls killed by the timeout;
    # an activity that beats but is not listed waits out its start-to-close timeout after a worker dies
    assert beating == set(HEARTBEATING_ACTIVITIES)
    assert {"create_webhook", "monitor_webhook", "find_image"} <= beating and "monitor_jenkins_job" in names


@pytest.mark.temporal
async def test_a_task_calling_one_is_scheduled_with_the_heartbeat_timeout(engine) -> None:
    config = {
        "application": "beats",
        "name": "find",
        "stages": [
            {
                "refId": "1",
                "type": "findImage",
                "name": "find",
                "cloudProvider": "aws",
                "credentials": "nowhere",
                "cluster": "beats-main",
                "regions": ["us-east-1"],
                "selectionStrategy": "NEWEST",
            }
        ],
    }
    done = await engine.run(config)
    handle = engine.client.get_workflow_handle(stage_workflow_id(done["id"], "1", 0))
    scheduled = [
        e.activity_task_scheduled_event_attributes
        async for e in handle.fetch_history_events()
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    find = [s for s in scheduled if s.activity_type.name == "find_image"]
    assert find and all(s.heartbeat_timeout.ToTimedelta().total_seconds() == SIDE_HEARTBEAT_S for s in find)

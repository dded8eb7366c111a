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

#: how an activity's body beats: through a family's ``guarded`` wrapper or ``heartbeating()`` around the whole body
_BEATS = re.compile(r"guarded\(|self\._run\(|with heartbeating\(\)")
#: activities that beat around one call only, with the heartbeat timeout their task sets itself
_OWN_TIMEOUT = {"create_webhook", "monitor_webhook"}


def _activity_definitions() -> dict[str, str]:
    """Every activity method of the activities package → its source."""
    found = {}
    for module in pkgutil.iter_modules(activities.__path__):
        mod = importlib.import_module(f"activities.{module.name}")
        for cls in vars(mod).values():
            if inspect.isclass(cls) and cls.__module__ == mod.__name__:
                for fn in vars(cls).values():
                    definition = getattr(fn, "__temporal_activity_definition", None)
                    if definition is not None:
                        found[str(definition.name)] = inspect.getsource(fn)
    return found


def test_the_list_names_exactly_the_activities_that_beat_while_they_run() -> None:
    definitions = _activity_definitions()
    beating = {name for name, source in definitions.items() if _BEATS.search(source)}
    # a name listed for an activity that does not beat would have its healthy calls killed by the timeout;
    # an activity that beats but is not listed waits out its start-to-close timeout after a worker dies
    assert beating == set(HEARTBEATING_ACTIVITIES)
    assert set(definitions) >= _OWN_TIMEOUT and not _OWN_TIMEOUT & beating


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

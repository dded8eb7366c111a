"""A canceled deploy with ``rollback.onFailure``: put the cluster back as it was before the deploy.

Orca does not roll a deploy back when it is canceled (a canceled stage is not a failed one, so its
on-failure stages never run); Gennaker does, for the clusters that asked for a rollback on failure,
because a deploy canceled half way (the old group disabled or scaled down, the new one half grown)
otherwise leaves the cluster in a state nobody chose. It runs as the deploy's cancel hook, one short
activity: no waiting for instances, only the calls that restore traffic.

Per deployed cluster and region, from ``deploy.plan``:

1. the source group (the one the deploy replaced) is enabled and, if the deploy scaled or pinned it,
   resized back to the capacity it had before the deploy;
2. then the new group is disabled (``rollback.destroyLatest``: destroyed) -- only once the source is
   back: with no source left (a first deploy, or highlander already destroyed it) the new group is
   left serving, never leaving the cluster with nothing enabled.

A create still in flight when the cancel arrives may finish moments later: the hook waits a little
for the planned group to appear before it concludes nothing was created.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from core.tasks import TaskInput, TaskResult
from providers.base import Capacity, ServerGroup, ServerGroupCloud

from .deploy_base import ProviderSessions

log = logging.getLogger(__name__)
JSON = dict[str, Any]
#: how long to wait for a group whose create was in flight when the cancel came
CREATE_IN_FLIGHT_WAIT_S = 15.0


def _wants_rollback(cluster: JSON) -> tuple[bool, bool]:
    rollback = cluster.get("rollback")
    if not isinstance(rollback, dict):
        return False, False
    return rollback.get("onFailure") in (True, "true"), rollback.get("destroyLatest") in (True, "true")


def _appeared(cloud: ServerGroupCloud, item: JSON, wait_s: float) -> ServerGroup | None:
    deadline = time.monotonic() + wait_s
    while True:
        group = cloud.server_group(item["account"], item["region"], item["serverGroupName"])
        if group is not None or time.monotonic() >= deadline:
            return group
        time.sleep(1.0)


def cancel_rollback(sessions: ProviderSessions, inp: TaskInput, clusters: list[JSON]) -> TaskResult:
    """Undo what a canceled deploy did, for each cluster with ``rollback.onFailure``; reports what it did."""
    created = {n for names in (inp.context.get("deploy.server.groups") or {}).values() for n in names}
    done: list[str] = []
    for item in inp.context.get("deploy.plan") or []:
        on_failure, destroy = _wants_rollback(clusters[int(item["cluster"])])
        if not on_failure:
            continue
        session = sessions.session(item["cloudProvider"])
        cloud = session.cloud
        account, region, new_name = item["account"], item["region"], item["serverGroupName"]
        new = _appeared(cloud, item, 0 if new_name in created else CREATE_IN_FLIGHT_WAIT_S)
        source = item.get("source") if isinstance(item.get("source"), dict) else None
        restored = None
        if source is not None:
            restored = cloud.server_group(account, region, str(source["serverGroupName"]))
        if restored is None:
            done.append(f"{new_name}: left as it is (no group to restore in {region})")
            continue
        cloud.enable(account, region, restored.name)
        before = Capacity(**source["capacity"])  # type: ignore[index]
        if restored.capacity != before:
            cloud.resize(account, region, restored.name, before)
        session.refresh(account, region, restored.name)
        done.append(f"{restored.name}: enabled at {before.to_json()}")
        if new is not None:
            if destroy:
                cloud.destroy(account, region, new_name)
            else:
                cloud.disable(account, region, new_name)
            session.refresh(account, region, new_name)
            done.append(f"{new_name}: {'destroyed' if destroy else 'disabled'}")
    log.info("deploy %s canceled: %s", inp.stage_id, "; ".join(done) or "nothing to roll back")
    return TaskResult.succeeded({"cancelRollback": done})

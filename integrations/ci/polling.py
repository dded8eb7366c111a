"""Igor's build monitor over a :class:`~.base.BuildService`: which builds of a job finished since the last
poll, by the same cursor rules as the Jenkins monitor (``integrations/jenkins/polling.py``, whose functions
decide here too): nothing fires on first sight, a build fires once, a build finishing while an older one
still runs is remembered as posted, a job whose newest build went below its cursor starts again there.

Builds started by a Spinnaker stage (Igor's ``spinnakerTriggered``) move the cursor but post no event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from integrations.jenkins.polling import Cursor, delta_with_builds, delta_without_builds

from .base import CiBuild


@dataclass(frozen=True)
class CiJobDelta:
    job: str
    finished: list[CiBuild] = field(default_factory=list)
    cursor: Cursor | None = None


def job_delta(
    job: str, builds: Sequence[CiBuild], cursor: Cursor | None, *, handle_first_builds: bool = False
) -> CiJobDelta:
    """The job's finished builds to post (oldest first) and the cursor after them, from its newest builds."""
    newest = max((b.number for b in builds), default=None)
    last = {"number": newest} if newest is not None else None
    delta = delta_without_builds(job, last, cursor, handle_first_builds=handle_first_builds)
    if delta is None:
        assert newest is not None
        delta = delta_with_builds(job, newest, cursor, [b.to_build_info() for b in builds])
    by_number = {b.number: b for b in builds}
    finished = [by_number[int(b["number"])] for b in delta.finished]
    return CiJobDelta(job, [b for b in finished if not b.spinnaker_triggered], delta.cursor)

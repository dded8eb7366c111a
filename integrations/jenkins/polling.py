"""Igor's ``JenkinsBuildMonitor`` as pure rules: which builds of a job finished since the last poll, and
where the job's cursor goes next. Tested as tables (``tests/integrations/jenkins/test_triggers_polling.py``).

A cursor is two things per master and job: ``last_build``, the number at and below which every build has
been seen, and ``posted``, the newer builds whose events went out already because they finished while an
older build still ran. Igor keeps the same (a timestamp cursor and "event posted" markers); build numbers
are used here because Jenkins numbers a job's builds in order and never reuses a number.

- A job without builds is skipped.
- The first time a job is seen its cursor is set to its last build and nothing is posted, unless
  ``handle_first_builds`` (Igor's ``spinnaker.build.handleFirstBuilds``) asks for its listed builds.
- A job whose last build is its cursor is up to date: its builds are not even read.
- A job whose last build is *below* its cursor was re-created: the cursor starts again there.
- Otherwise every finished build above the cursor that was not posted is posted, oldest first; the
  cursor moves to just below the oldest build still running (to the last build when none runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.status import ExecutionStatus

from .builds import build_outcome

JSON = dict[str, Any]


@dataclass(frozen=True)
class Cursor:
    last_build: int
    posted: frozenset[int] = frozenset()

    def to_json(self) -> JSON:
        return {"lastBuild": self.last_build, "posted": sorted(self.posted)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Cursor | None:
        if not data:
            return None
        return cls(int(data["lastBuild"]), frozenset(int(n) for n in data.get("posted") or []))


@dataclass(frozen=True)
class JobDelta:
    """What one poll found for one job: the finished builds to post (Jenkins' JSON, oldest first) and the
    cursor to save afterwards (None: leave it as it is)."""

    job: str
    finished: list[JSON] = field(default_factory=list)
    cursor: Cursor | None = None


def flatten_jobs(tree: Iterable[Any], folder: str = "") -> list[tuple[str, JSON | None]]:
    """(Spinnaker job name, its ``lastBuild``) for every job of Igor's job tree; folders (items with
    ``jobs``) are walked into and named ``folder/job/name``, as Igor names them."""
    found: list[tuple[str, JSON | None]] = []
    for item in tree:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            continue
        name = f"{folder}/job/{item['name']}" if folder else str(item["name"])
        if isinstance(item.get("jobs"), list):
            found.extend(flatten_jobs(item["jobs"], name))
            continue
        last = item.get("lastBuild")
        found.append((name, dict(last) if isinstance(last, Mapping) else None))
    return found


def build_number(build: Mapping[str, Any] | None) -> int | None:
    value = build.get("number") if build is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_running(build: Mapping[str, Any]) -> bool:
    """Still building, or finished without a result Jenkins reports yet (Orca's rule: RUNNING)."""
    return build_outcome(build).status is ExecutionStatus.RUNNING


def delta_without_builds(
    job: str, last_build: Mapping[str, Any] | None, cursor: Cursor | None, *, handle_first_builds: bool = False
) -> JobDelta | None:
    """The job's delta when it can be decided from its last build alone, or None when its builds must be read."""
    newest = build_number(last_build)
    if newest is None:
        return JobDelta(job)
    if cursor is None:
        return None if handle_first_builds else JobDelta(job, cursor=Cursor(newest))
    if newest == cursor.last_build:
        return JobDelta(job)
    if newest < cursor.last_build:
        return JobDelta(job, cursor=Cursor(newest))
    return None


def delta_with_builds(job: str, newest: int, cursor: Cursor | None, builds: Iterable[Any]) -> JobDelta:
    """The finished builds above the cursor (up to ``newest``, the job's last build when it was listed) that
    were not posted yet, and the cursor after them."""
    floor = cursor.last_build if cursor is not None else 0
    posted = cursor.posted if cursor is not None else frozenset()
    window = {
        n: b for b in builds if isinstance(b, Mapping) and (n := build_number(b)) is not None and floor < n <= newest
    }
    running = [n for n, b in window.items() if is_running(b)]
    finished = [dict(window[n]) for n in sorted(window) if n not in running and n not in posted]
    last = min(running) - 1 if running else newest
    still_posted = frozenset(n for n in posted | {int(b["number"]) for b in finished} if n > last)
    after = Cursor(last, still_posted)
    return JobDelta(job, finished, after if after != cursor else None)

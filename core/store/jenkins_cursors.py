"""Igor's poll cursors: per Jenkins master and job, the last build seen and the builds already posted as
triggers, so a restart neither misses nor repeats a build."""

from __future__ import annotations

import json

from sqlalchemy import delete, select
from sqlmodel import col

from .models import JenkinsBuildCursor
from .session import Database, retrying
from .values import Doc, as_int, dumps, now_ms


class JenkinsCursors:
    """The poll cursors of Jenkins jobs, by master."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, master: str) -> dict[str, Doc]:
        """Every job's poll cursor on ``master``: ``{job: {"lastBuild": n, "posted": [numbers]}}``."""
        stmt = select(JenkinsBuildCursor).where(col(JenkinsBuildCursor.master) == master)
        with self._db.session() as s:
            return {r.job: {"lastBuild": r.last_build, "posted": json.loads(r.posted)} for r in s.scalars(stmt)}

    @retrying
    def save(self, master: str, cursors: dict[str, Doc]) -> None:
        """Create or replace the cursors of these jobs on ``master`` (other jobs' cursors are kept)."""
        now = now_ms()
        with self._db.session(write=True) as s:
            for job, cursor in cursors.items():
                last = as_int(cursor.get("lastBuild"), "lastBuild")
                posted = dumps(sorted({as_int(n, "posted") for n in cursor.get("posted") or []}))
                row = s.get(JenkinsBuildCursor, (master, job), with_for_update=True)
                if row is None:
                    s.add(JenkinsBuildCursor(master=master, job=job, last_build=last, posted=posted, updated_at=now))
                else:
                    row.last_build, row.posted, row.updated_at = last, posted, now

    @retrying
    def delete(self, master: str) -> int:
        """Forget every cursor of ``master`` (its jobs are seen for the first time on the next poll)."""
        with self._db.session(write=True) as s:
            result = s.execute(delete(JenkinsBuildCursor).where(col(JenkinsBuildCursor.master) == master))
            return int(getattr(result, "rowcount", 0) or 0)

"""Echo's event stream as an outbox: the events of every transition the projection records, written in the same
transaction as the transition (an event exists iff its transition was recorded, once), numbered by a global
sequence that REST listeners, ``GET /events`` and ``gennaker events tail`` read from a cursor.

The events are derived from the rows' changes (:func:`derive`): the execution header's status gives
``orca:pipeline:*`` (``orca:orchestration:*``), each stage row's status ``orca:stage:*`` and the tasks inside it
``orca:task:*``, with the JSON Orca sends Echo (docs/operations.md, "Events"). Trigger intake appends its own.

Sequence numbers may commit out of order on PostgreSQL and MySQL (two transactions, the later one first): a reader
never moves past a gap younger than ``GAP_GRACE_MS`` (:meth:`EventOutbox.after`), so a slow transaction's events
are not skipped; an older gap is a rolled-back transaction's number and is passed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.status import end_event_word

from .errors import ValidationError
from .models import AutoId, Body, Execution, ExecutionStage
from .session import Database, first_write_retried, retrying

Doc = dict[str, Any]
_META = sa.MetaData()
OUTBOX = sa.Table(
    "echo_events", _META,
    sa.Column("seq", AutoId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("application", sa.String(255), nullable=True),
    sa.Column("execution_id", sa.String(255), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("body", Body, nullable=False),
)  # fmt: skip
CURSORS = sa.Table(
    "echo_event_cursors", _META,
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)  # fmt: skip
_EXECUTIONS = Execution.__table__  # type: ignore[attr-defined]
_STAGES = ExecutionStage.__table__  # type: ignore[attr-defined]

#: a gap in the sequence younger than this may still be a transaction in flight; readers wait for it
GAP_GRACE_MS = 10_000
MAX_PAGE = 1_000
_FINISHED = frozenset({"SUCCEEDED", "FAILED_CONTINUE", "TERMINAL", "CANCELED", "STOPPED", "SKIPPED"})
#: Orca's ``ExecutionStatus.isSuccessful()``: an execution's or a task's end is ``complete`` in these, else ``failed``
#: (a stage's end is ``complete`` only when SUCCEEDED: see :func:`_after_word`)
_WAITING = ("NOT_STARTED", "BUFFERED")


def now_ms() -> int:
    return int(time.time() * 1000)


# --- what a transition looks like before and after --------------------------------------------------------------


def capture(s: Session, eid: str, stage_ids: Iterable[str] | None) -> Doc:
    """The header and the given stages (all when None) of one execution as stored now, decoded."""
    row = s.execute(select(_EXECUTIONS.c.body).where(_EXECUTIONS.c.id == eid)).first()
    header = json.loads(row.body) if row is not None and row.body else None
    stmt = select(_STAGES.c.stage_id, _STAGES.c.body).where(_STAGES.c.execution_id == eid)
    if stage_ids is not None:
        ids = list(dict.fromkeys(stage_ids))
        if not ids:
            return {"header": header, "stages": {}}
        stmt = stmt.where(_STAGES.c.stage_id.in_(ids[:500]))
    stages = {sid: json.loads(body) for sid, body in s.execute(stmt).all() if body}
    return {"header": header, "stages": stages}


def all_stages(s: Session, eid: str) -> list[Doc]:
    """Every stage of the execution in Gate's order (for the execution events)."""
    stmt = (
        select(_STAGES.c.body)
        .where(_STAGES.c.execution_id == eid, _STAGES.c.body.is_not(None))
        .order_by(_STAGES.c.seq, _STAGES.c.stage_id)
    )
    return [json.loads(text) for text in s.scalars(stmt)]


def record_update(s: Session, update: Doc, before: Doc) -> None:
    """Append the events of an engine write just applied in ``s``; ``before`` is what the write touched as it was
    (``projection.read_rows``, read under the header's row lock). The stages after it are the update's own where
    its version won (the projection's rule: not lower than the row's), so only a header change is read back."""
    eid, version = update["id"], update["version"]
    removed = set(update.get("removeStageIds") or [])
    old_stages: dict[str, Doc] = {}
    new_stages: dict[str, Doc] = {}
    for item in update["stages"]:
        sid = item["stage"]["id"]
        if sid in removed:
            continue
        body, row_version = before["stages"].get(sid, (None, -1))
        own = version if item.get("version") is None else item["version"]
        old = json.loads(body) if body else None
        new = item["stage"] if own >= row_version else old
        if new is None or _status(old) == _status(new) and _task_statuses(old) == _task_statuses(new):
            continue
        if old is not None:
            old_stages[sid] = old
        new_stages[sid] = new
    header_before = json.loads(before["header"].body) if before["header"] is not None else None
    header_after = header_before
    if update.get("execution") is not None or header_before is None:
        text = s.scalar(select(_EXECUTIONS.c.body).where(_EXECUTIONS.c.id == eid))
        header_after = json.loads(text) if text else None
    if header_after is None or (not new_stages and _status(header_before) == _status(header_after)):
        return
    old_doc = {"header": header_before, "stages": old_stages}
    new_doc = {"header": header_after, "stages": new_stages}
    stages = all_stages(s, eid) if header_changed(old_doc, new_doc) else None
    append(s, derive(old_doc, new_doc, all_stages=stages))


def _task_statuses(stage: Doc | None) -> list[str]:
    return [_status(t) for t in (stage or {}).get("tasks") or [] if isinstance(t, dict)]


def record(s: Session, eid: str, before: Doc, stage_ids: list[str] | None) -> None:
    """Append the events of the write just made in ``s`` (``before`` captured under the header's lock)."""
    after = capture(s, eid, stage_ids)
    stages = all_stages(s, eid) if header_changed(before, after) else None
    append(s, derive(before, after, all_stages=stages))


def _status(doc: Doc | None) -> str:
    return str((doc or {}).get("status") or "NOT_STARTED").upper()


def _after_word(status: str, kind: str) -> str:
    """Orca's word for a finished execution, stage or task (core.status.end_event_word)."""
    return end_event_word(status, kind)


def _phases(before: str, after: str, *, kind: str) -> list[str]:
    """The event words a status change means: ``starting`` on entering RUNNING (or finishing without passing it),
    then the ``after`` word on finishing. A restart (finished -> running) starts again; nothing else counts. A stage
    skipped before it ran only ends (Orca's SkipStageHandler sends StageComplete alone); a task or an execution
    that never ran sends nothing."""
    if before == after or after in _WAITING:
        return []
    if after == "SKIPPED" and before in _WAITING:
        return ["skipped"] if kind == "stage" else []
    words: list[str] = []
    if before in _WAITING or (before in _FINISHED and after not in _FINISHED):
        words.append("starting")
    if after in _FINISHED and before not in _FINISHED:
        words.append(_after_word(after, kind))
    return words


def header_changed(before: Doc, after: Doc) -> bool:
    """Whether the execution's status changed (then its event carries the whole execution: see :func:`derive`)."""
    return after.get("header") is not None and _status(before.get("header")) != _status(after.get("header"))


def derive(before: Doc, after: Doc, *, created: int | None = None, all_stages: list[Doc] | None = None) -> list[Doc]:
    """Echo's events for the change from ``before`` to ``after`` (two :func:`capture` results), in Orca's order:
    the execution starting, then stages and their tasks by the stages' order, then the execution's end.
    ``all_stages`` (in Gate's order) fills the execution events' ``execution.stages``."""
    header = after.get("header")
    if header is None:
        return []
    created = now_ms() if created is None else created
    kind = "orchestration" if str(header.get("type") or "PIPELINE").upper() == "ORCHESTRATION" else "pipeline"
    run = _phases(_status(before.get("header")), _status(header), kind="execution")
    events: list[Doc] = []
    if "starting" in run:
        events.append(_execution_event(kind, "starting", header, all_stages, created))
    old_stages = before.get("stages") or {}
    for sid, stage in sorted((after.get("stages") or {}).items(), key=lambda kv: _start_key(kv[1])):
        events.extend(_stage_events(header, old_stages.get(sid), stage, created))
    for word in run:
        if word != "starting":
            events.append(_execution_event(kind, word, header, all_stages, created))
    return events


def _start_key(stage: Doc) -> tuple[int, str]:
    return int(stage.get("startTime") or 0), str(stage.get("id") or "")


def _details(event_type: str, application: str | None, created: int) -> Doc:
    """Echo's ``Metadata`` as its REST listener posts it: Orca sends source, type and application; Echo stamps
    ``created`` (epoch ms, a string) and keeps its empty ``requestHeaders`` map; null fields (``organization``,
    ``project``, ``_content_id``, ``attributes``, an execution without application) are left out (NON_NULL)."""
    details: Doc = {"source": "orca", "type": event_type, "created": str(created)}
    if application is not None:
        details["application"] = application
    details["requestHeaders"] = {}
    return details


def _execution_event(kind: str, word: str, header: Doc, stages: list[Doc] | None, created: int) -> Doc:
    execution = {**header, "stages": stages or []}
    return {
        "details": _details(f"orca:{kind}:{word}", header.get("application"), created),
        "content": {"execution": execution, "executionId": header.get("id")},
        "eventId": str(uuid.uuid4()),
    }


def _stage_content(header: Doc, stage: Doc) -> Doc:
    """Orca's stage event content (EchoNotifyingStageListener.recordEvent), in its order, null fields left out as
    Echo's mapper does. ``canceled`` is the execution's flag, as Orca reads it. ``execution`` is the execution's
    header without ``stages`` (Orca sends the whole execution with every stage event, and with every task event
    unless ``echo.events.includeFullExecution`` is false): a listener that needs the stages reads the execution
    events' ``content.execution`` or ``GET /pipelines/{executionId}``."""
    content: Doc = {
        "standalone": str(header.get("type") or "").upper() == "ORCHESTRATION",
        "canceled": bool(header.get("canceled")),
        "context": stage.get("context") or {},
        "startTime": stage.get("startTime"),
        "endTime": stage.get("endTime"),
        "executionId": header.get("id"),
        "stageId": stage.get("id"),
        "isSynthetic": bool(stage.get("syntheticStageOwner")),
        "name": stage.get("name"),
    }
    return {k: v for k, v in content.items() if v is not None}


def _stage_events(header: Doc, old: Doc | None, stage: Doc, created: int) -> list[Doc]:
    application = header.get("application")
    base = _stage_content(header, stage)
    content = {**base, "execution": header}
    words = _phases(_status(old), _status(stage), kind="stage")
    events = [
        {"details": _details(f"orca:stage:{w}", application, created), "content": content, "eventId": str(uuid.uuid4())}
        for w in words
        if w == "starting"
    ]
    old_tasks = {str(t.get("id")): t for t in (old or {}).get("tasks") or [] if isinstance(t, dict)}
    for task in stage.get("tasks") or []:
        if not isinstance(task, dict):
            continue
        for w in _phases(_status(old_tasks.get(str(task.get("id")))), _status(task), kind="task"):
            events.append(
                {
                    "details": _details(f"orca:task:{w}", application, created),
                    "content": {**base, "taskName": f"{stage.get('type')}.{task.get('name')}", "execution": header},
                    "eventId": str(uuid.uuid4()),
                }
            )
    events.extend(
        {"details": _details(f"orca:stage:{w}", application, created), "content": content, "eventId": str(uuid.uuid4())}
        for w in words
        if w != "starting"
    )
    return events


# --- the outbox -------------------------------------------------------------------------------------------------


def append(s: Session, events: list[Doc]) -> None:
    """Write events into the outbox in the caller's transaction, in order."""
    if not events:
        return
    rows = []
    for event in events:
        details = event.get("details") or {}
        content = event.get("content") or {}
        execution_id = content.get("executionId") if isinstance(content, dict) else None
        rows.append(
            {
                "event_id": str(event["eventId"])[:64],
                "type": str(details.get("type") or "unknown")[:64],
                "application": str(details["application"])[:255].lower() if details.get("application") else None,
                "execution_id": str(execution_id)[:255] if execution_id else None,
                "created_at": int(details.get("created") or now_ms()),
                "body": json.dumps(event, separators=(",", ":"), ensure_ascii=False),
            }
        )
    s.execute(OUTBOX.insert(), rows)  # one statement; the sequence follows the rows' order


def _row(r: Any) -> Doc:
    event: Doc = json.loads(r.body)
    return {"seq": r.seq, **event}


class EventOutbox:
    """The outbox's reads and the writes that are not a projection transition (trigger events)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @retrying
    def append(self, events: list[Doc]) -> None:
        """Append events in their own transaction (trigger intake)."""
        with self._db.session(write=True) as s:
            append(s, events)

    def head(self) -> int:
        """The highest sequence number written so far (0 when none)."""
        with self._db.session() as s:
            return int(s.scalar(select(sa.func.max(OUTBOX.c.seq))) or 0)

    def after(self, cursor: int, *, limit: int = 100, grace_ms: int = GAP_GRACE_MS) -> list[Doc]:
        """Events after ``cursor`` in sequence order, stopping before a gap that may still fill (see the module)."""
        limit = _limit(limit)
        with self._db.session() as s:
            rows = s.execute(select(OUTBOX).where(OUTBOX.c.seq > cursor).order_by(OUTBOX.c.seq).limit(limit)).all()
        out: list[Doc] = []
        expected = cursor + 1
        young = now_ms() - grace_ms
        for r in rows:
            if r.seq != expected and r.created_at > young:
                break
            out.append(_row(r))
            expected = r.seq + 1
        return out

    def for_application(
        self,
        application: str,
        cursor: int,
        *,
        execution_id: str | None = None,
        limit: int = 100,
        grace_ms: int = GAP_GRACE_MS,
    ) -> list[Doc]:
        """One application's events after ``cursor`` in sequence order (Deck's live stream), read through the
        ``(application, seq)`` index: an application without new events costs one index probe that finds nothing.

        The gap rule of :meth:`after` holds: when the events found leave holes in the global sequence between
        ``cursor`` and the last of them (rare: only concurrent transactions make holes), the holes' neighbours are
        read and the answer stops before the first hole that may still fill, which may be this application's."""
        limit = _limit(limit)
        t = OUTBOX
        stmt = select(t).where(t.c.application == application.lower(), t.c.seq > cursor)
        if execution_id:
            stmt = stmt.where(t.c.execution_id == execution_id)
        with self._db.session() as s:
            rows = s.execute(stmt.order_by(t.c.seq).limit(limit)).all()
            if not rows:
                return []
            last = int(rows[-1].seq)
            present = int(s.scalar(select(sa.func.count()).where(t.c.seq > cursor, t.c.seq <= last)) or 0)
            if present == last - cursor:
                return [_row(r) for r in rows]
            around = s.execute(
                select(t.c.seq, t.c.created_at).where(t.c.seq > cursor, t.c.seq <= last).order_by(t.c.seq)
            ).all()
        young = now_ms() - grace_ms
        expected, stop = cursor + 1, last + 1
        for seq, created_at in around:
            if seq != expected and created_at > young:
                stop = expected
                break
            expected = seq + 1
        return [_row(r) for r in rows if r.seq < stop]

    def settled(self, *, grace_ms: int = GAP_GRACE_MS) -> int:
        """The last event before the first one younger than the gap grace (the head when none is): no transaction
        in flight can still fill a hole up to there, by :meth:`after`'s rule (a hole just below a young event may).
        A live stream with nothing to send moves its cursor here. Two index reads: the last seconds' ``created_at``
        and the primary key just below them."""
        with self._db.session() as s:
            young = s.scalar(select(sa.func.min(OUTBOX.c.seq)).where(OUTBOX.c.created_at > now_ms() - grace_ms))
            below = select(sa.func.max(OUTBOX.c.seq))
            if young is not None:  # the last event before it: a hole between the two may still fill
                below = below.where(OUTBOX.c.seq < young)
            return int(s.scalar(below) or 0)

    def recent(
        self,
        *,
        types: list[str] | None = None,
        applications: list[str] | None = None,
        execution_id: str | None = None,
        since: int | None = None,
        limit: int = 100,
    ) -> list[Doc]:
        """Events matching the filters, oldest first: after sequence ``since`` when given, else the newest."""
        limit = _limit(limit)
        t = OUTBOX
        conds: list[Any] = []
        if types:
            conds.append(t.c.type.in_(types))
        if applications is not None:
            if not applications:
                return []
            conds.append(t.c.application.in_([a.lower() for a in applications]))
        if execution_id:
            conds.append(t.c.execution_id == execution_id)
        stmt = select(t).where(*conds)
        if since is not None:
            stmt = stmt.where(t.c.seq > since).order_by(t.c.seq).limit(limit)
        else:
            stmt = stmt.order_by(t.c.seq.desc()).limit(limit)
        with self._db.session() as s:
            rows = s.execute(stmt).all()
        rows = sorted(rows, key=lambda r: r.seq)
        return [_row(r) for r in rows]

    def cursor(self, endpoint: str) -> int | None:
        """The last sequence number ``endpoint``'s delivery handled, None before its first."""
        with self._db.session() as s:
            value = s.scalar(select(CURSORS.c.seq).where(CURSORS.c.endpoint == endpoint))
        return None if value is None else int(value)

    def save_cursor(self, endpoint: str, seq: int) -> None:
        """Move ``endpoint``'s cursor forward to ``seq`` (never back)."""
        first_write_retried(self._save_cursor, (endpoint, seq))

    @retrying
    def _save_cursor(self, arg: tuple[str, int]) -> None:
        endpoint, seq = arg
        with self._db.session(write=True) as s:
            moved = s.execute(
                sa.update(CURSORS)
                .where(CURSORS.c.endpoint == endpoint, CURSORS.c.seq <= seq)
                .values(seq=seq, updated_at=now_ms())
            )
            if not moved.rowcount:  # type: ignore[attr-defined]
                exists = s.scalar(select(CURSORS.c.seq).where(CURSORS.c.endpoint == endpoint))
                if exists is None:
                    s.execute(CURSORS.insert().values(endpoint=endpoint, seq=seq, updated_at=now_ms()))

    @retrying
    def purge(self, *, older_than_ms: int) -> int:
        """Drop events created before the given time; returns how many."""
        with self._db.session(write=True) as s:
            result = s.execute(sa.delete(OUTBOX).where(OUTBOX.c.created_at < older_than_ms))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _limit(limit: Any) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValidationError("'limit' must be a positive integer", field="limit")
    return min(limit, MAX_PAGE)

"""The engine's projection of executions: the read side Gate serves, written by the engine at every transition
(`apply_update`, conditional per row on versions) and kept after Temporal's retention. The SQL of a write and of
assembling Gate's JSON from stored text is in `projection.py`; here are the transactions, the retries and the reads.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, literal_column, select, union_all
from sqlalchemy.orm import Session

from . import changes, events, projection
from .errors import ExecutionDeletedError, NotFoundError, ValidationError
from .models import DeletedExecution, Execution, ExecutionStage
from .session import Database, first_write_retried, retrying
from .values import Doc, as_int, now_ms, required_text, str_list

_EXECUTIONS = Execution.__table__  # type: ignore[attr-defined]
_STAGES = ExecutionStage.__table__  # type: ignore[attr-defined]

_HEADER = (
    _EXECUTIONS.c.id,
    _EXECUTIONS.c.application,
    _EXECUTIONS.c.status,
    _EXECUTIONS.c.build_time,
    _EXECUTIONS.c.version,
)


def _header_doc(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "application": row.application,
        "status": row.status,
        "buildTime": row.build_time,
        "version": row.version,
    }


def _locked_capture(s: Session, eid: str, stage_ids: list[str] | None) -> Doc:
    """The rows before a write, read under the header's lock (writers of one execution queue on it), so the
    events derived from before and after are this write's alone."""
    s.execute(select(_EXECUTIONS.c.id).where(_EXECUTIONS.c.id == eid).with_for_update()).first()
    return events.capture(s, eid, stage_ids)


def _bump_application_of(s: Session, eid: str, header: Any) -> None:
    """Move the execution's application's counter; ``header`` is its row as read before the write (None before the
    first write, whose application is read back)."""
    application = header.application if header is not None else None
    if application is None:
        application = s.scalar(select(_EXECUTIONS.c.application).where(_EXECUTIONS.c.id == eid))
    if application is not None:
        changes.bump(s, [changes.executions_scope(str(application))])


class Executions:
    """Executions as Gate shows them: a header row and a row per stage."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @retrying
    def save(self, execution: Doc) -> None:
        """Insert or replace by `id` the whole Gate JSON (header and every stage) in one transaction: the previous
        release's writes, imports and tests. The engine writes with `apply_update`."""
        if not isinstance(execution, dict):
            raise ValidationError("an execution must be a JSON object", field="execution")
        doc = {**execution, "id": required_text(execution, "id", "An execution")}
        required_text(execution, "application", "An execution")
        if doc.get("stages") is not None and not isinstance(doc["stages"], list):
            raise ValidationError("'stages' must be a list", field="stages")
        first_write_retried(self._save, doc)

    @retrying
    def _save(self, doc: Doc) -> Doc:
        with self._db.session(write=True) as s:
            if s.get(DeletedExecution, doc["id"]) is None:  # a deleted execution stays deleted
                before = _locked_capture(s, doc["id"], None)
                projection.replace_execution(s, doc)
                events.record(s, doc["id"], before, None)
                changes.bump(s, [changes.executions_scope(doc["application"])])
        return doc

    def apply_update(self, update: Doc) -> Doc:
        """Apply one engine write (header keys, stage rows, removals, engine data) in one transaction, each row
        only if the update's `version` is not lower than the row's. Returns ``{"applied", "finishedFirst"}``.
        See docs/store.md for the update's shape."""
        return first_write_retried(self._apply_update, projection.check_update(update))

    @retrying
    def _apply_update(self, update: Doc) -> Doc:
        with self._db.session(write=True) as s:
            before = projection.read_rows(s, update)  # locks the execution's row first
            result = projection.apply_update(s, update, before)
            if result["applied"]:  # Echo's events of this transition, in its transaction (core/store/events.py)
                events.record_update(s, update, before)
                # last: the API's answer cache (core/store/changes.py)
                _bump_application_of(s, update["id"], before["header"])
            return result

    def add_system_notification(self, execution_id: str, notification: Doc) -> bool:
        """Append one ``systemNotifications`` entry (Deck's banner) to the stored header, keeping its version, so
        the engine's next write neither loses it (``projection.keep_delivery_failures``) nor is refused. An entry
        already there is not added twice (a retried call). False when the execution is not stored."""
        if not isinstance(notification, dict):
            raise ValidationError("a system notification must be a JSON object", field="notification")
        return bool(first_write_retried(self._add_system_notification, (execution_id, notification)))

    @retrying
    def _add_system_notification(self, arg: tuple[str, Doc]) -> bool:
        eid, notification = arg
        with self._db.session(write=True) as s:
            row = s.execute(
                select(_EXECUTIONS.c.application, _EXECUTIONS.c.body, _EXECUTIONS.c.status)
                .where(_EXECUTIONS.c.id == eid)
                .with_for_update()
            ).first()
            if row is None:
                return False
            doc = json.loads(row.body)
            entries = [n for n in doc.get("systemNotifications") or [] if isinstance(n, dict)]
            if notification in entries:
                return True
            doc["systemNotifications"] = [*entries, notification]
            values: Doc = {"body": projection.dumps(doc)}
            s.execute(projection.update_stmt(eid, values))
            if row.status in projection.FINISHED:  # a finished execution's listing text is kept assembled
                s.execute(projection.update_stmt(eid, {"summary": projection.summary_text(s, eid)}))
            changes.bump(s, [changes.executions_scope(str(row.application))])  # last (core/store/changes.py)
            return True

    def get(self, execution_id: str) -> Doc:
        """The execution's Gate JSON (expand=true): header and stages in order."""
        return json.loads(self.get_text(execution_id)[2])  # type: ignore[no-any-return]

    def get_text(self, execution_id: str, *, expand: bool = True) -> tuple[str, str, str]:
        """``(application, status, Gate JSON text)`` of one execution, assembled from stored text without decoding
        it (Gate's GET sends the text as is)."""
        t = _EXECUTIONS
        with self._db.connect() as conn:  # Core, not the ORM: 1,000 rows read as text
            row = conn.execute(select(t.c.application, t.c.status, t.c.body).where(t.c.id == execution_id)).first()
            if row is None:
                deleted = select(DeletedExecution.__table__.c.id).where(  # type: ignore[attr-defined]
                    DeletedExecution.__table__.c.id == execution_id  # type: ignore[attr-defined]
                )
                if conn.execute(deleted).first() is not None:
                    raise ExecutionDeletedError(f"Execution {execution_id} was deleted")
                raise NotFoundError(f"Execution {execution_id} not found")
            stages = projection.stage_texts(conn, execution_id, expand=expand)
        return row.application, row.status, projection.assemble(row.body, stages)

    def stage(self, execution_id: str, stage_id: str) -> Doc | None:
        """One stored stage's JSON (one row, whatever the execution's size); None when there is none."""
        stmt = select(_STAGES.c.body).where(_STAGES.c.execution_id == execution_id, _STAGES.c.stage_id == stage_id)
        with self._db.connect() as conn:
            body = conn.execute(stmt).scalar()
        return json.loads(body) if body else None

    def get_engine(self, execution_id: str) -> Doc | None:
        """The engine-private data of an execution (None when it has none or does not exist)."""
        with self._db.session() as s:
            text = s.scalars(select(_EXECUTIONS.c.engine).where(_EXECUTIONS.c.id == execution_id)).first()
        doc: Doc | None = None if text is None else json.loads(text)
        return doc

    def unhandled_finish(self, execution_id: str) -> tuple[int, Doc] | None:
        """``(finished version, execution)`` when the execution is finished and its downstream triggers have not
        run for that finish yet; None otherwise."""
        t = _EXECUTIONS
        with self._db.session() as s:
            row = s.execute(select(t.c.finished_version, t.c.handled_version).where(t.c.id == execution_id)).first()
        if row is None or row.finished_version is None or row.handled_version == row.finished_version:
            return None
        return row.finished_version, self.get(execution_id)

    @retrying
    def mark_finish_handled(self, execution_id: str, finished_version: int) -> None:
        """Record that the downstream triggers of this finish have run."""
        with self._db.session(write=True) as s:
            s.execute(projection.update_stmt(execution_id, {"handled_version": finished_version}))

    def unfinished(self, *, built_before_ms: int, after: tuple[int, str] | None = None, limit: int = 500) -> list[Doc]:
        """Headers of executions not finished, built before the given time, oldest first, after the
        ``(buildTime, id)`` of the previous page: the reconciler's candidates."""
        t = _EXECUTIONS
        conds = [t.c.status.not_in(sorted(projection.FINISHED)), t.c.build_time < built_before_ms]
        if after is not None:
            conds.append((t.c.build_time > after[0]) | ((t.c.build_time == after[0]) & (t.c.id > after[1])))
        stmt = select(*_HEADER).where(*conds).order_by(t.c.build_time, t.c.id).limit(limit)
        with self._db.session() as s:
            return [_header_doc(r) for r in s.execute(stmt)]

    def header(self, execution_id: str) -> Doc | None:
        """``{id, application, status, buildTime, version}`` of one execution, or None."""
        with self._db.session() as s:
            row = s.execute(select(*_HEADER).where(_EXECUTIONS.c.id == execution_id)).first()
        return None if row is None else _header_doc(row)

    def query(
        self,
        *,
        application: str | None = None,
        pipeline_config_ids: list[str] | None = None,
        execution_ids: list[str] | None = None,
        statuses: list[str] | None = None,
        type: str | None = "PIPELINE",  # noqa: A002 - Orca's name for it
        limit_per_config: int | None = None,
        limit: int | None = None,
        trigger_types: list[str] | None = None,
        start_after_ms: int | None = None,
        start_before_ms: int | None = None,
        expand: bool = True,
        raw: bool = False,
    ) -> list[Any]:
        """Executions newest `buildTime` first. `limit_per_config` keeps the N newest per pipeline config (Orca's
        `limit`); `start_after_ms`/`start_before_ms` bound `buildTime` inclusively (Orca's search boundaries).
        A filter given as an empty list matches nothing; None means no filter."""
        t = _EXECUTIONS
        conds: list[Any] = []
        for column, values in (
            (t.c.pipeline_config_id, str_list(pipeline_config_ids)),
            (t.c.id, str_list(execution_ids)),
            (t.c.status, None if statuses is None else [str(v).upper() for v in statuses]),
            (t.c.trigger_type, str_list(trigger_types)),
        ):
            if values is not None:
                if not values:
                    return []
                conds.append(column.in_(values))
        if application is not None:
            conds.append(t.c.application == application.strip().lower())
        if type is not None:
            conds.append(t.c.type == type.upper())
        if start_after_ms is not None:
            conds.append(t.c.build_time >= as_int(start_after_ms, "startTime"))
        if start_before_ms is not None:
            conds.append(t.c.build_time <= as_int(start_before_ms, "endTime"))
        for value in (limit, limit_per_config):
            if value is not None and as_int(value, "limit") < 1:
                raise ValidationError("'limit' must be at least 1", field="limit")
        newest = (t.c.build_time.desc(), t.c.id.desc())
        with self._db.session() as s:
            if limit_per_config is not None:
                ids = self._newest_per_config(s, conds, application, pipeline_config_ids, int(limit_per_config))
                if not ids:
                    return []
                conds = [t.c.id.in_(ids)]
            # expand=False sends a finished execution's stored summary as is; the others are assembled from
            # the header and the stage rows' stored text, never decoded
            summary = literal_column("NULL") if expand else t.c.summary
            stmt = select(t.c.id, t.c.status, t.c.body, summary).where(*conds).order_by(*newest)
            if limit is not None:
                stmt = stmt.limit(int(limit))
            rows = s.execute(stmt).all()
            assemble = [r.id for r in rows if r[3] is None]
            stages = projection.stages_of(s, assemble, expand=expand) if assemble else {}
        texts = [
            (status, summary if summary is not None else projection.assemble(body, stages[eid]))
            for eid, status, body, summary in rows
        ]
        if raw:
            return texts  # (status, JSON text) for callers that pass them straight through
        return [json.loads(text) for _, text in texts]

    def _newest_per_config(
        self, s: Session, conds: list[Any], application: str | None, config_ids: list[str] | None, n: int
    ) -> list[str]:
        """Ids of the `n` newest matching executions of each pipeline config (no config counts as one).

        One `ORDER BY build_time DESC LIMIT n` per config on the (pipeline_config_id, build_time) index, so the cost
        grows with configs x n, not with the executions stored (a window function would rank all of them).
        """
        t = _EXECUTIONS
        configs: list[str | None]
        if config_ids is not None:
            configs = list(dict.fromkeys(config_ids))
        else:
            distinct = select(t.c.pipeline_config_id).distinct()
            if application is not None:
                distinct = distinct.where(t.c.application == application.strip().lower())
            configs = list(s.scalars(distinct))
        ids: list[str] = []
        for start in range(0, len(configs), 50):  # bounded statement size
            parts = []
            for config in configs[start : start + 50]:
                same = t.c.pipeline_config_id.is_(None) if config is None else t.c.pipeline_config_id == config
                newest = select(t.c.id).where(*conds, same).order_by(t.c.build_time.desc(), t.c.id.desc()).limit(n)
                sub = newest.subquery()
                parts.append(select(sub.c.id))
            ids.extend(s.scalars(union_all(*parts)))
        return ids

    @retrying
    def delete(self, execution_id: str) -> None:
        """Remove the execution and leave a tombstone, in one transaction."""
        with self._db.session(write=True) as s:
            application = s.scalar(select(_EXECUTIONS.c.application).where(_EXECUTIONS.c.id == execution_id))
            if s.execute(delete(_EXECUTIONS).where(_EXECUTIONS.c.id == execution_id)).rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"Execution {execution_id} not found")
            s.execute(delete(_STAGES).where(_STAGES.c.execution_id == execution_id))
            if s.get(DeletedExecution, execution_id) is None:
                s.add(DeletedExecution(id=execution_id, deleted_at=now_ms()))
            changes.bump(s, [changes.executions_scope(str(application))])  # last (core/store/changes.py)

"""The execution projection's SQL: a header row per execution plus a row per stage, written conditionally on
versions and read back by concatenating stored JSON text (no decode/re-encode of whole executions).

Functions here take an open session (one transaction, opened by `executions.Executions`, which validates, retries
and translates errors). The header's `body` is Gate's execution JSON without `stages`; each stage row holds one
stage's JSON (`body`) and its expand=false form (`summary`); a stage row with a NULL body is a removed stage's
tombstone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.summaries import summary_context

from .errors import ValidationError
from .models import KEY_LENGTH, DeletedExecution, Execution, ExecutionStage

Doc = dict[str, Any]
EXECUTIONS = Execution.__table__  # type: ignore[attr-defined]
STAGES = ExecutionStage.__table__  # type: ignore[attr-defined]
FINISHED = frozenset({"SUCCEEDED", "FAILED_CONTINUE", "TERMINAL", "CANCELED", "STOPPED", "SKIPPED"})
CHUNK = 500  # ids per IN (...) list


def dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def stage_summary(stage: Doc) -> Doc:
    """A stage as Gate's expand=false shows it (context cut to ``group``, no outputs, no tasks)."""
    return {**stage, "context": summary_context(stage.get("context")), "outputs": {}, "tasks": []}


def assemble(header: str, stages: Iterable[str]) -> str:
    """Gate's execution JSON text from the header's JSON text and the stages' JSON texts, in order."""
    listed = '"stages":[' + ",".join(stages) + "]"
    return "{" + listed + "}" if header.strip() == "{}" else header.rstrip()[:-1] + "," + listed + "}"


def header_columns(doc: Doc) -> Doc:
    """The header's searchable columns, copied from its JSON."""
    trigger = doc.get("trigger")
    trigger_type = trigger.get("type") if isinstance(trigger, dict) else None
    start_time = _optional_int(doc.get("startTime"), "startTime")
    build_time = _optional_int(doc.get("buildTime"), "buildTime")
    name = doc.get("name")
    application = doc.get("application")
    if not isinstance(application, str) or not application.strip():
        raise ValidationError("an execution requires a non-blank 'application'", field="application")
    return {
        "application": application.strip().lower()[:KEY_LENGTH],
        "pipeline_config_id": str(doc["pipelineConfigId"])[:KEY_LENGTH] if doc.get("pipelineConfigId") else None,
        "type": str(doc.get("type") or "PIPELINE").upper()[:32],
        "status": str(doc.get("status") or "NOT_STARTED").upper()[:32],
        "name": name[:KEY_LENGTH] if isinstance(name, str) else None,
        "trigger_type": str(trigger_type)[:64] if trigger_type is not None else None,
        "build_time": build_time if build_time is not None else (start_time or 0),
        "start_time": start_time,
        "end_time": _optional_int(doc.get("endTime"), "endTime"),
    }


def _optional_int(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(f"'{field}' must be an integer, got {value!r}", field=field)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"'{field}' must be an integer, got {value!r}", field=field) from None


def check_update(update: Any) -> Doc:
    """Validate an update (see docs/store.md); returns it normalised. Bad input names the field."""
    if not isinstance(update, dict):
        raise ValidationError("an execution update must be a JSON object", field="update")
    eid = update.get("id")
    if not isinstance(eid, str) or not eid.strip() or len(eid) > KEY_LENGTH:
        raise ValidationError("an execution update requires an 'id' (a non-blank string)", field="id")
    version = update.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValidationError("an execution update requires a non-negative integer 'version'", field="version")
    for field in ("execution", "engine"):
        if update.get(field) is not None and not isinstance(update[field], dict):
            raise ValidationError(f"'{field}' must be a JSON object", field=field)
    if isinstance(update.get("execution"), dict) and "stages" in update["execution"]:
        raise ValidationError("'execution' must not carry 'stages' (send them in 'stages')", field="execution.stages")
    stages = [] if update.get("stages") is None else update["stages"]
    if not isinstance(stages, list):
        raise ValidationError("'stages' must be a list of {seq, stage}", field="stages")
    for i, item in enumerate(stages):
        where = f"stages[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("stage"), dict):
            raise ValidationError(f"{where} must be {{'seq': int, 'stage': {{...}}}}", field=where)
        seq = item.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ValidationError(f"{where}.seq must be an integer", field=f"{where}.seq")
        sid = item["stage"].get("id")
        if not isinstance(sid, str) or not sid or len(sid) > KEY_LENGTH:
            raise ValidationError(f"{where}.stage.id must be a non-blank string", field=f"{where}.stage.id")
        own = item.get("version")
        if own is not None and (not isinstance(own, int) or isinstance(own, bool) or own < 0):
            raise ValidationError(f"{where}.version must be a non-negative integer", field=f"{where}.version")
    removed = [] if update.get("removeStageIds") is None else update["removeStageIds"]
    if not isinstance(removed, list) or not all(isinstance(r, str) for r in removed):
        raise ValidationError("'removeStageIds' must be a list of stage ids", field="removeStageIds")
    application = update.get("application")
    if application is not None and (not isinstance(application, str) or not application.strip()):
        raise ValidationError("'application' must be a non-blank string", field="application")
    return {**update, "id": eid, "stages": stages, "removeStageIds": removed}


def _merge(stored: Doc, changes: Doc | None) -> Doc:
    if not changes:
        return stored
    merged = dict(stored)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


#: the ``systemNotifications`` group of a notification that could not be sent: the notifications' reader
#: (activities/notification_events.py) adds it to the stored header, never the engine
DELIVERY_GROUP = "notification"


def keep_delivery_failures(stored: Doc, doc: Doc) -> Doc:
    """``doc`` (an engine write merged into the stored header) with the stored notification failures kept: the
    engine sends its own ``systemNotifications`` and never these, which the notifications' reader adds beside it
    while the execution runs (:meth:`Executions.add_system_notification`)."""
    failures = [
        n for n in stored.get("systemNotifications") or [] if isinstance(n, dict) and n.get("group") == DELIVERY_GROUP
    ]
    if not failures:
        return doc
    own = [n for n in doc.get("systemNotifications") or [] if n not in failures]
    return {**doc, "systemNotifications": [*own, *failures]}


def read_rows(s: Session, update: Doc) -> Doc:
    """What an update touches, as stored before it, read in the caller's transaction: ``header`` (the execution's
    row, locked so that writers of one execution queue on it: application, version, body, status, engine; None
    before its first write) and ``stages`` (stage id -> (body text, version) of the update's stages and removals
    that exist). Two statements; :func:`apply_update` and the events of the write (core/store/events.py) share it."""
    eid = update["id"]
    t = EXECUTIONS
    header = s.execute(
        select(t.c.application, t.c.version, t.c.body, t.c.status, t.c.engine).where(t.c.id == eid).with_for_update()
    ).first()
    ids = list(dict.fromkeys([*(item["stage"]["id"] for item in update["stages"]), *update["removeStageIds"]]))
    stages: dict[str, tuple[str | None, int]] = {}
    for start in range(0, len(ids), CHUNK):
        stmt = select(STAGES.c.stage_id, STAGES.c.body, STAGES.c.version).where(
            STAGES.c.execution_id == eid, STAGES.c.stage_id.in_(ids[start : start + CHUNK])
        )
        stages.update((sid, (body, version)) for sid, body, version in s.execute(stmt).all())
    return {"header": header, "stages": stages}


def apply_update(s: Session, update: Doc, rows: Doc) -> Doc:
    """Apply a checked update in the caller's transaction, each row only if the update's version is not lower than
    the row's. ``rows`` is :func:`read_rows` of this update, read first in this transaction (it locks the header row,
    so writers of one execution queue on it)."""
    eid, version = update["id"], update["version"]
    deleted = DeletedExecution.__table__  # type: ignore[attr-defined]
    if s.execute(select(deleted.c.id).where(deleted.c.id == eid)).first() is not None:
        return {"applied": False, "finishedFirst": False}
    t = EXECUTIONS
    row = rows["header"]
    header_change = update.get("execution") is not None or update.get("engine") is not None
    applied = finished_first = False
    status: str | None
    if row is None:
        application = update.get("application") or (update.get("execution") or {}).get("application")
        if not application:
            raise ValidationError(f"the first write of execution {eid} requires 'application'", field="application")
        doc = _merge({"id": eid, "application": application}, update.get("execution"))
        doc["id"] = eid
        doc.setdefault("application", application)
        cols = header_columns(doc)
        status = cols["status"]
        finished_first = status in FINISHED
        s.execute(
            t.insert().values(
                id=eid,
                **cols,
                body=dumps(doc),
                summary=None,
                version=version if header_change else 0,  # no header keys given: the first header write wins
                engine=dumps(update["engine"]) if update.get("engine") is not None else None,
                finished_version=version if finished_first else None,
            )
        )
        applied = True
    else:
        status = row.status
        if header_change and version >= row.version:
            stored = json.loads(row.body)
            doc = keep_delivery_failures(stored, _merge(stored, update.get("execution")))
            doc["id"] = eid
            cols = header_columns(doc)
            values: Doc = {**cols, "body": dumps(doc), "version": version}
            if update.get("engine") is not None:
                values["engine"] = dumps(_merge(json.loads(row.engine or "{}"), update["engine"]))
            was_finished = row.status in FINISHED
            status = cols["status"]
            if status in FINISHED and not was_finished:
                finished_first = True
                values["finished_version"] = version
            elif status not in FINISHED:
                values["finished_version"] = None
                values["summary"] = None
            s.execute(update_stmt(eid, values))
            applied = True
    known = {sid: stage_version for sid, (_, stage_version) in rows["stages"].items()}
    if _apply_stages(s, eid, version, update["stages"], update["removeStageIds"], known):
        applied = True
    if applied and status in FINISHED:
        s.execute(update_stmt(eid, {"summary": summary_text(s, eid)}))
    return {"applied": applied, "finishedFirst": finished_first}


def update_stmt(eid: str, values: Doc) -> Any:
    return update(EXECUTIONS).where(EXECUTIONS.c.id == eid).values(**values)


def _apply_stages(
    s: Session, eid: str, version: int, stages: list[Doc], removed: list[str], known: dict[str, int]
) -> bool:
    """Write the stage rows and removals whose version wins over ``known`` (stage id -> stored version)."""
    wanted = {item["stage"]["id"]: item for item in stages}
    inserts: list[Doc] = []
    changed = False
    for sid, item in wanted.items():
        if sid in removed:
            continue
        row_version = version if item.get("version") is None else item["version"]  # a row may carry its own
        values = {
            "seq": item["seq"],
            "version": row_version,
            "body": dumps(item["stage"]),
            "summary": dumps(stage_summary(item["stage"])),
        }
        if sid not in known:
            inserts.append({"execution_id": eid, "stage_id": sid, **values})
        elif row_version >= known[sid]:
            s.execute(
                update(STAGES)
                .where(STAGES.c.execution_id == eid, STAGES.c.stage_id == sid, STAGES.c.version <= row_version)
                .values(**values)
            )
            changed = True
    for sid in removed:
        tombstone = {"seq": 0, "version": version, "body": None, "summary": None}
        if sid not in known:
            inserts.append({"execution_id": eid, "stage_id": sid, **tombstone})
        elif version >= known[sid]:
            s.execute(
                update(STAGES)
                .where(STAGES.c.execution_id == eid, STAGES.c.stage_id == sid, STAGES.c.version <= version)
                .values(**tombstone)
            )
            changed = True
    if inserts:
        s.execute(STAGES.insert(), inserts)
        changed = True
    return changed


def stage_texts(s: Session | Connection, eid: str, *, expand: bool = True) -> list[str]:
    column = STAGES.c.body if expand else STAGES.c.summary
    return list(
        s.scalars(
            select(column)
            .where(STAGES.c.execution_id == eid, STAGES.c.body.is_not(None))
            .order_by(STAGES.c.seq, STAGES.c.stage_id)
        ).all()
    )


def stages_of(s: Session, ids: list[str], *, expand: bool) -> dict[str, list[str]]:
    """The stages' JSON texts of several executions, each in Gate's order."""
    found: dict[str, list[str]] = {eid: [] for eid in ids}
    column = STAGES.c.body if expand else STAGES.c.summary
    for start in range(0, len(ids), CHUNK):
        stmt = (
            select(STAGES.c.execution_id, column)
            .where(STAGES.c.execution_id.in_(ids[start : start + CHUNK]), STAGES.c.body.is_not(None))
            .order_by(STAGES.c.execution_id, STAGES.c.seq, STAGES.c.stage_id)
        )
        for eid, text in s.execute(stmt).all():
            found[eid].append(text)
    return found


def summary_text(s: Session, eid: str) -> str:
    body = s.scalars(select(EXECUTIONS.c.body).where(EXECUTIONS.c.id == eid)).one()
    return assemble(body, stage_texts(s, eid, expand=False))


def replace_execution(s: Session, doc: Doc) -> None:
    """The whole execution at once (`save_execution`: the previous release's writes, tests, imports): the header
    and every stage row are replaced; versions stay as they are."""
    eid = doc["id"]
    header = {k: v for k, v in doc.items() if k != "stages"}
    cols = header_columns(header)
    stages = [st for st in doc.get("stages") or [] if isinstance(st, dict)]
    row = s.execute(
        select(EXECUTIONS.c.version, EXECUTIONS.c.status).where(EXECUTIONS.c.id == eid).with_for_update()
    ).first()
    version = row.version if row is not None else 0
    s.execute(delete(STAGES).where(STAGES.c.execution_id == eid))
    seen: set[str] = set()
    rows = []
    for i, stage in enumerate(stages):
        sid = stage.get("id")
        key = sid if isinstance(sid, str) and sid and len(sid) <= KEY_LENGTH and sid not in seen else f"~{i}"
        seen.add(key)
        rows.append(
            {
                "execution_id": eid,
                "stage_id": key,
                "seq": i,
                "version": version,
                "body": dumps(stage),
                "summary": dumps(stage_summary(stage)),
            }
        )
    if rows:
        s.execute(STAGES.insert(), rows)
    finished = cols["status"] in FINISHED
    values: Doc = {
        **cols,
        "body": dumps(header),
        "summary": dumps({**header, "stages": [stage_summary(st) for st in stages]}) if finished else None,
    }
    if row is None:
        s.execute(EXECUTIONS.insert().values(id=eid, version=0, finished_version=0 if finished else None, **values))
        return
    if finished and row.status not in FINISHED:
        values["finished_version"] = version
    elif not finished:
        values["finished_version"] = None
    s.execute(update_stmt(eid, values))

"""Front50's pipeline and strategy configs with their revision history: a config is one document under its
``kind`` and ``id``; every save appends a revision (kept after a delete, as Front50 keeps it). Names are unique per
application and ids unique without regard to case.
"""

from __future__ import annotations

import copy
import json
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from .errors import ConflictError, NotFoundError, StaleError, ValidationError
from .models import KEY_LENGTH, PipelineConfig, PipelineConfigRevision
from .session import Database, retrying
from .values import Doc, as_int, dumps, now_ms, optional_int, required_text

KINDS = ("pipeline", "strategy")
HISTORY_LIMIT = 20


class Pipelines:
    """Pipeline and strategy configs (``kind``) and their revisions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self, application: str | None = None, kind: str = "pipeline") -> list[Doc]:
        """Configs sorted as Front50 sorts them: by `index` (absent last), then name ignoring case. For one
        application the returned `index` values are renumbered 0..n-1, as Front50 answers."""
        _check_kind(kind)
        stmt = select(col(PipelineConfig.body)).where(col(PipelineConfig.kind) == kind)
        if application is not None:
            stmt = stmt.where(col(PipelineConfig.application) == application.strip().lower())
        with self._db.session() as s:
            docs = [json.loads(b) for b in s.scalars(stmt)]
        docs.sort(key=_pipeline_order)
        if application is not None:
            for i, doc in enumerate(docs):
                doc["index"] = i
        return docs

    def get(self, pipeline_id: str, kind: str = "pipeline") -> Doc:
        _check_kind(kind)
        with self._db.session() as s:
            row = s.get(PipelineConfig, (kind, pipeline_id))
            if row is None:
                raise NotFoundError(f"No {kind} found with id {pipeline_id}")
            doc: Doc = json.loads(row.body)
            return doc

    def check_id(self, pipeline_id: str, kind: str = "pipeline") -> None:
        """ConflictError (409 naming ``id``) when a stored pipeline's id differs from this one only in case."""
        _check_kind(kind)
        with self._db.session() as s:
            _check_id_case(s, kind, pipeline_id)

    def get_by_name(self, application: str, name: str, kind: str = "pipeline") -> Doc:
        _check_kind(kind)
        with self._db.session() as s:
            row = self._by_name(s, application, name, kind)
            doc: Doc = json.loads(row.body)
            return doc

    @retrying
    def save(self, config: Doc, user: str, *, stale_check: bool = False, kind: str = "pipeline") -> Doc:
        """Create or update (by `id`) a config, Front50's `POST /pipelines`; returns the document as stored."""
        _check_kind(kind)
        if not isinstance(config, dict):
            raise ValidationError(f"a {kind} config must be a JSON object", field=kind)
        doc = copy.deepcopy(config)
        application = required_text(doc, "application", f"A {kind}")
        name = doc["name"] = required_text(doc, "name", f"A {kind}")
        given_id = doc.get("id")
        if given_id is not None and not isinstance(given_id, str):
            raise ValidationError(f"{kind} 'id' must be a string", field="id")
        new_id = not given_id
        pipeline_id: str = given_id or str(uuid.uuid4())
        doc["id"] = pipeline_id
        if len(pipeline_id) > KEY_LENGTH:
            raise ValidationError(f"{kind} 'id' is longer than {KEY_LENGTH} characters", field="id")
        _assign_cron_trigger_ids(doc, regenerate=new_id or doc.get("regenerateCronTriggerIds") is True)
        position = optional_int(doc.get("index"), "index")
        submitted = optional_int(doc.get("lastModified"), "lastModified") if stale_check and not new_id else None
        app_key, name_key = application.lower(), name.lower()
        taken = f"A {kind} with name {name} already exists in application {application}"
        now = now_ms()
        with self._db.session(write=True, conflict=taken) as s:
            row = s.get(PipelineConfig, (kind, pipeline_id), with_for_update=True)
            if row is not None and submitted is not None and submitted != row.last_modified:
                raise StaleError(
                    f"The submitted {kind} is stale. submitted updateTs {submitted} "
                    f"does not match stored updateTs {row.last_modified}"
                )
            clash = select(col(PipelineConfig.id)).where(
                col(PipelineConfig.kind) == kind,
                col(PipelineConfig.application) == app_key,
                col(PipelineConfig.name) == name_key,
                col(PipelineConfig.id) != pipeline_id,
            )
            if s.scalars(clash).first() is not None:
                raise ConflictError(taken)
            if row is None:  # ids are unique without regard to case: a managed service account is named after one
                _check_id_case(s, kind, pipeline_id)
            if row is not None and position is None and row.position is not None and "index" not in doc:
                doc["index"] = position = row.position  # Orca's SavePipelineTask keeps the stored index
            # Strictly increasing, so two saves within one millisecond still differ for staleCheck.
            modified = max(now, row.last_modified + 1) if row is not None else now
            doc.update(lastModified=modified, updateTs=str(modified), lastModifiedBy=user)
            body = dumps(doc)
            if row is None:
                s.add(
                    PipelineConfig(
                        kind=kind,
                        id=pipeline_id,
                        id_key=pipeline_id.lower(),
                        application=app_key,
                        name=name_key,
                        position=position,
                        created_at=now,
                        last_modified=modified,
                        body=body,
                    )
                )
            else:
                row.application, row.name, row.position, row.last_modified, row.body = (
                    app_key,
                    name_key,
                    position,
                    modified,
                    body,
                )
            s.add(PipelineConfigRevision(kind=kind, pipeline_id=pipeline_id, recorded_at=now, body=body))
        return doc

    @retrying
    def delete(self, application: str, name: str, kind: str = "pipeline") -> None:
        """Delete by application and name (ignoring case); its revision history is kept, as Front50 keeps it."""
        _check_kind(kind)
        with self._db.session(write=True) as s:
            s.delete(self._by_name(s, application, name, kind))

    def history(self, pipeline_id: str, limit: int = HISTORY_LIMIT, kind: str = "pipeline") -> list[Doc]:
        """Saved revisions, newest first, each the whole document as saved; [] for an unknown id (as Front50)."""
        _check_kind(kind)
        if as_int(limit, "limit") < 1:
            raise ValidationError("'limit' must be at least 1", field="limit")
        stmt = (
            select(col(PipelineConfigRevision.body))
            .where(col(PipelineConfigRevision.kind) == kind, col(PipelineConfigRevision.pipeline_id) == pipeline_id)
            .order_by(col(PipelineConfigRevision.rev).desc())
            .limit(int(limit))
        )
        with self._db.session() as s:
            return [json.loads(b) for b in s.scalars(stmt)]

    @retrying
    def reorder(self, application: str, ids_to_index: dict[str, int], kind: str = "pipeline") -> None:
        """Set `index` of the given configs (Deck's drag and drop); not a revision, `lastModified` unchanged."""
        _check_kind(kind)
        if not isinstance(ids_to_index, dict):
            raise ValidationError("'idsToIndices' must be an object of id to index", field="idsToIndices")
        indices = {str(k): as_int(v, "idsToIndices") for k, v in ids_to_index.items()}
        app_key = application.strip().lower()
        with self._db.session(write=True) as s:
            rows = {
                r.id: r
                for r in s.scalars(
                    select(PipelineConfig)
                    .where(col(PipelineConfig.kind) == kind, col(PipelineConfig.id).in_(indices))
                    .with_for_update()
                )
            }
            for pipeline_id, index in indices.items():
                row = rows.get(pipeline_id)
                if row is None or row.application != app_key:
                    raise NotFoundError(f"No {kind} with id {pipeline_id} in application {application}")
                doc = json.loads(row.body)
                doc["index"] = index
                row.position, row.body = index, dumps(doc)

    def _by_name(self, s: Session, application: str, name: str, kind: str) -> PipelineConfig:
        row = s.scalars(
            select(PipelineConfig).where(
                col(PipelineConfig.kind) == kind,
                col(PipelineConfig.application) == application.strip().lower(),
                col(PipelineConfig.name) == name.strip().lower(),
            )
        ).first()
        if row is None:
            raise NotFoundError(f"No {kind} named {name} in application {application}")
        return row


def _check_id_case(s: Session, kind: str, pipeline_id: str) -> None:
    """Refuse a new id that differs from a stored one only in case (409 naming ``id``)."""
    other = s.scalars(
        select(col(PipelineConfig.id)).where(
            col(PipelineConfig.kind) == kind,
            func.lower(col(PipelineConfig.id)) == pipeline_id.lower(),
            col(PipelineConfig.id) != pipeline_id,
        )
    ).first()
    if other is not None:
        raise ConflictError(
            f"{kind} 'id' {pipeline_id} differs only in case from the id of {kind} {other}; ids are unique"
            " without regard to case"
        )


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}", field="kind")


def _assign_cron_trigger_ids(doc: Doc, *, regenerate: bool) -> None:
    """Every cron trigger gets an id (Echo keys its Quartz jobs by it); new pipelines, or
    `regenerateCronTriggerIds: true`, get fresh ones for all so a copied pipeline does not share them."""
    triggers = doc.get("triggers")
    if triggers is None:
        return
    if not isinstance(triggers, list):
        raise ValidationError("'triggers' must be a list", field="triggers")
    for trigger in triggers:
        is_cron = isinstance(trigger, dict) and str(trigger.get("type", "")).lower() == "cron"
        if is_cron and (regenerate or not trigger.get("id")):
            trigger["id"] = str(uuid.uuid4())


def _pipeline_order(doc: Doc) -> tuple[str, int, int, str]:
    try:
        index: int | None = optional_int(doc.get("index"), "index")
    except ValidationError:
        index = None
    label = str(doc.get("name") or doc.get("id") or "")
    return (str(doc.get("application", "")).lower(), index is None, index or 0, label.lower())

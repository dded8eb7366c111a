"""The store: Front50's documents (applications, pipeline and strategy configs with history, projects) and the
engine's execution projection, in one SQL database (SQLite, PostgreSQL or MySQL/MariaDB).

Every public method is one transaction and returns plain dicts. Documents are kept whole as JSON text, so unknown
keys round-trip; a few fields are copied into columns to look up, sort and filter by. Database and driver errors
are translated into `api.store.errors` here and never escape.
"""

from __future__ import annotations

import copy
import functools
import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, delete, event, func, literal_column, select, union_all, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from sqlmodel import col

from . import projection
from .errors import ConflictError, ExecutionDeletedError, NotFoundError, StaleError, StoreError, ValidationError
from .models import (
    KEY_LENGTH,
    ApiToken,
    Application,
    AuditEvent,
    Bake,
    CloudCacheItem,
    CloudCacheStatus,
    DeletedExecution,
    Execution,
    ExecutionStage,
    JenkinsBuildCursor,
    NotificationConfig,
    PipelineConfig,
    PipelineConfigRevision,
    Project,
    ServiceAccount,
    TriggerEvent,
    UserRoles,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
KINDS = ("pipeline", "strategy")
# Front50's ApplicationNameValidator with the regex its own tests configure (letters, digits, '.', '_', '-').
APPLICATION_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
HISTORY_LIMIT = 20
ATTEMPTS = 5  # of a write that hit a deadlock or a lock timeout
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


Doc = dict[str, Any]
GLOBAL_NOTIFICATIONS = "__GLOBAL"
#: Front50's NOTIFICATION_FORMATS: the keys of a notification document that hold lists of entries
NOTIFICATION_TYPES = ("bearychat", "email", "githubStatus", "googlechat", "microsoftteams", "pubsub", "slack", "sms")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _required_text(doc: Doc, field: str, what: str) -> str:
    value = doc.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} requires a non-blank '{field}'", field=field)
    value = value.strip()
    if len(value) > KEY_LENGTH:
        raise ValidationError(f"{what} '{field}' is longer than {KEY_LENGTH} characters", field=field)
    return value


def _as_int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"'{field}' must be an integer, got {value!r}", field=field)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"'{field}' must be an integer, got {value!r}", field=field) from None


def _optional_int(value: Any, field: str) -> int | None:
    return None if value is None else _as_int(value, field)


def _ids(values: Iterable[str] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


P = ParamSpec("P")
R = TypeVar("R")


class _TransientError(StoreError):
    """A deadlock, serialization failure or lock timeout: the whole operation may simply be run again."""


def _is_transient(exc: DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in ("40001", "40P01", "55P03"):  # PostgreSQL
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in (1205, 1213):  # MySQL lock wait timeout, deadlock
        return True
    return "database is locked" in str(orig)  # SQLite past busy_timeout


def _retrying(method: Callable[P, R]) -> Callable[P, R]:
    """Run a write again (a fresh transaction) when the database chose it as a deadlock victim."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return method(*args, **kwargs)
            except _TransientError:
                if attempt == ATTEMPTS:
                    raise
                time.sleep(0.005 * 2**attempt * (1 + random.random()))
        raise AssertionError("unreachable")

    return wrapper


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0][:300]


class Store:
    """Front50's store plus the execution projection; safe to share between threads (a session per call)."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ValidationError(f"invalid database URL: {exc}", field="database_url") from None
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if parsed.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool
            else:
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self._engine: Engine = create_engine(parsed, **kwargs)
        except (ArgumentError, ImportError) as exc:  # unknown dialect or driver not installed
            raise StoreError(f"cannot use database URL {parsed.render_as_string(hide_password=True)}: {exc}") from None
        if self.dialect == "sqlite":
            _sqlite_setup(self._engine, wal=bool(parsed.database) and parsed.database != ":memory:")
        self._writer = self._engine.execution_options(gennaker_write=True)

    # ---- lifecycle -------------------------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest revision (`alembic upgrade head`); harmless when already there."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
        with self._translated(), self._writer.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _translated(self, conflict: str | None = None) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except IntegrityError as exc:
            raise ConflictError(conflict or f"conflicting write: {_short(exc)}") from None
        except DataError as exc:
            raise ValidationError(f"value rejected by the database: {_short(exc)}") from None
        except DBAPIError as exc:
            if _is_transient(exc):
                raise _TransientError(f"database busy: {_short(exc)}") from None
            raise StoreError(f"database error: {_short(exc)}") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {_short(exc)}") from None

    @contextmanager
    def _session(self, *, write: bool = False, conflict: str | None = None) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back (nothing written) when it raises."""
        with (
            self._translated(conflict),
            Session(self._writer if write else self._engine) as session,
            session.begin(),
        ):
            yield session

    # ---- applications ----------------------------------------------------------------------------------------

    def list_applications(self) -> list[Doc]:
        with self._session() as s:
            return [json.loads(b) for b in s.scalars(select(col(Application.body)).order_by(col(Application.name)))]

    def get_application(self, name: str) -> Doc:
        with self._session() as s:
            row = s.get(Application, name.strip().lower())
            if row is None:
                raise NotFoundError(f"Application {name} not found")
            return json.loads(row.body)

    @_retrying
    def save_application(self, app: Doc, user: str, *, replace: bool = False) -> Doc:
        """Create or update; an update merges the given attributes into the stored ones (Front50's PATCH; None
        values are ignored) or, with `replace`, replaces them (PUT). `createTs` survives either way."""
        if not isinstance(app, dict):
            raise ValidationError("an application must be a JSON object", field="application")
        name = _required_text(app, "name", "An application").lower()
        if not APPLICATION_NAME.match(name):
            raise ValidationError(
                f"Application name '{name}' may contain only letters, digits, '.', '_' and '-'", field="name"
            )
        incoming = {k: copy.deepcopy(v) for k, v in app.items() if v is not None}
        _check_permissions(incoming.get("permissions"))
        if isinstance(incoming.get("cloudProviders"), list):  # Front50 hands Orca a comma-separated string
            incoming["cloudProviders"] = ",".join(str(p) for p in incoming["cloudProviders"])
        now = now_ms()
        with self._session(write=True, conflict=f"Application {name} already exists") as s:
            row = s.get(Application, name, with_for_update=True)
            stored = json.loads(row.body) if row is not None else {}
            doc = incoming if replace else {**stored, **incoming}
            doc.update(name=name, createTs=stored.get("createTs", str(now)), updateTs=str(now), lastModifiedBy=user)
            doc.setdefault("user", user)
            if row is None:
                s.add(Application(name=name, created_at=now, updated_at=now, body=_dumps(doc)))
            else:
                row.updated_at, row.body = now, _dumps(doc)
        return doc

    @_retrying
    def delete_application(self, name: str, user: str) -> None:
        """Delete the application with its pipelines and strategies, and take it out of projects (as Front50
        does). Revision history and executions are kept."""
        key = name.strip().lower()
        with self._session(write=True) as s:
            row = s.get(Application, key, with_for_update=True)
            if row is None:
                raise NotFoundError(f"Application {name} not found")
            s.execute(delete(PipelineConfig).where(col(PipelineConfig.application) == key))
            for project in s.scalars(select(Project)):
                doc = json.loads(project.body)
                if _remove_application(doc, key):
                    doc.update(updateTs=str(now_ms()), lastModifiedBy=user)
                    project.body = _dumps(doc)
            s.delete(row)

    # ---- pipeline and strategy configs -----------------------------------------------------------------------

    def list_pipelines(self, application: str | None = None, kind: str = "pipeline") -> list[Doc]:
        """Configs sorted as Front50 sorts them: by `index` (absent last), then name ignoring case. For one
        application the returned `index` values are renumbered 0..n-1, as Front50 answers."""
        _check_kind(kind)
        stmt = select(col(PipelineConfig.body)).where(col(PipelineConfig.kind) == kind)
        if application is not None:
            stmt = stmt.where(col(PipelineConfig.application) == application.strip().lower())
        with self._session() as s:
            docs = [json.loads(b) for b in s.scalars(stmt)]
        docs.sort(key=_pipeline_order)
        if application is not None:
            for i, doc in enumerate(docs):
                doc["index"] = i
        return docs

    def get_pipeline(self, pipeline_id: str, kind: str = "pipeline") -> Doc:
        _check_kind(kind)
        with self._session() as s:
            row = s.get(PipelineConfig, (kind, pipeline_id))
            if row is None:
                raise NotFoundError(f"No {kind} found with id {pipeline_id}")
            return json.loads(row.body)

    def check_pipeline_id(self, pipeline_id: str, kind: str = "pipeline") -> None:
        """ConflictError (409 naming ``id``) when a stored pipeline's id differs from this one only in case."""
        _check_kind(kind)
        with self._session() as s:
            _check_id_case(s, kind, pipeline_id)

    def get_pipeline_by_name(self, application: str, name: str, kind: str = "pipeline") -> Doc:
        _check_kind(kind)
        with self._session() as s:
            row = self._by_name(s, application, name, kind)
            return json.loads(row.body)

    @_retrying
    def save_pipeline(self, config: Doc, user: str, *, stale_check: bool = False, kind: str = "pipeline") -> Doc:
        """Create or update (by `id`) a config, Front50's `POST /pipelines`; returns the document as stored."""
        _check_kind(kind)
        if not isinstance(config, dict):
            raise ValidationError(f"a {kind} config must be a JSON object", field=kind)
        doc = copy.deepcopy(config)
        application = _required_text(doc, "application", f"A {kind}")
        name = doc["name"] = _required_text(doc, "name", f"A {kind}")
        given_id = doc.get("id")
        if given_id is not None and not isinstance(given_id, str):
            raise ValidationError(f"{kind} 'id' must be a string", field="id")
        new_id = not given_id
        pipeline_id: str = given_id or str(uuid.uuid4())
        doc["id"] = pipeline_id
        if len(pipeline_id) > KEY_LENGTH:
            raise ValidationError(f"{kind} 'id' is longer than {KEY_LENGTH} characters", field="id")
        _assign_cron_trigger_ids(doc, regenerate=new_id or doc.get("regenerateCronTriggerIds") is True)
        position = _optional_int(doc.get("index"), "index")
        submitted = _optional_int(doc.get("lastModified"), "lastModified") if stale_check and not new_id else None
        app_key, name_key = application.lower(), name.lower()
        taken = f"A {kind} with name {name} already exists in application {application}"
        now = now_ms()
        with self._session(write=True, conflict=taken) as s:
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
            body = _dumps(doc)
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

    @_retrying
    def delete_pipeline(self, application: str, name: str, kind: str = "pipeline") -> None:
        """Delete by application and name (ignoring case); its revision history is kept, as Front50 keeps it."""
        _check_kind(kind)
        with self._session(write=True) as s:
            s.delete(self._by_name(s, application, name, kind))

    def pipeline_history(self, pipeline_id: str, limit: int = HISTORY_LIMIT, kind: str = "pipeline") -> list[Doc]:
        """Saved revisions, newest first, each the whole document as saved; [] for an unknown id (as Front50)."""
        _check_kind(kind)
        if _as_int(limit, "limit") < 1:
            raise ValidationError("'limit' must be at least 1", field="limit")
        stmt = (
            select(col(PipelineConfigRevision.body))
            .where(col(PipelineConfigRevision.kind) == kind, col(PipelineConfigRevision.pipeline_id) == pipeline_id)
            .order_by(col(PipelineConfigRevision.rev).desc())
            .limit(int(limit))
        )
        with self._session() as s:
            return [json.loads(b) for b in s.scalars(stmt)]

    @_retrying
    def reorder_pipelines(self, application: str, ids_to_index: dict[str, int], kind: str = "pipeline") -> None:
        """Set `index` of the given configs (Deck's drag and drop); not a revision, `lastModified` unchanged."""
        _check_kind(kind)
        if not isinstance(ids_to_index, dict):
            raise ValidationError("'idsToIndices' must be an object of id to index", field="idsToIndices")
        indices = {str(k): _as_int(v, "idsToIndices") for k, v in ids_to_index.items()}
        app_key = application.strip().lower()
        with self._session(write=True) as s:
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
                row.position, row.body = index, _dumps(doc)

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

    # ---- projects --------------------------------------------------------------------------------------------

    def list_projects(self) -> list[Doc]:
        with self._session() as s:
            return [json.loads(b) for b in s.scalars(select(col(Project.body)).order_by(col(Project.name)))]

    def get_project(self, id_or_name: str) -> Doc:
        """By name (ignoring case) first, then by id, as Front50's `GET /v2/projects/{projectId}`."""
        with self._session() as s:
            return json.loads(self._project(s, id_or_name).body)

    @_retrying
    def save_project(self, project: Doc, user: str) -> Doc:
        """Create (id assigned when absent) or replace a project; names are unique ignoring case."""
        if not isinstance(project, dict):
            raise ValidationError("a project must be a JSON object", field="project")
        doc = copy.deepcopy(project)
        name = doc["name"] = _required_text(doc, "name", "A project")
        config = doc.setdefault("config", {})
        if not isinstance(config, dict):
            raise ValidationError("project 'config' must be an object", field="config")
        for key in ("applications", "clusters", "pipelineConfigs"):
            if not isinstance(config.setdefault(key, []), list):
                raise ValidationError(f"project 'config.{key}' must be a list", field=f"config.{key}")
        project_id = doc.get("id") or str(uuid.uuid4())
        if not isinstance(project_id, str) or len(project_id) > KEY_LENGTH:
            raise ValidationError("project 'id' must be a string of at most 255 characters", field="id")
        doc["id"] = project_id
        taken = f"A Project named {name} already exists"
        now = now_ms()
        with self._session(write=True, conflict=taken) as s:
            clash = select(col(Project.id)).where(col(Project.name) == name.lower(), col(Project.id) != project_id)
            if s.scalars(clash).first() is not None:
                raise ConflictError(taken)
            row = s.get(Project, project_id, with_for_update=True)
            created = json.loads(row.body).get("createTs", str(row.created_at)) if row is not None else str(now)
            doc.update(createTs=created, updateTs=str(now), lastModifiedBy=user)
            if row is None:
                s.add(Project(id=project_id, name=name.lower(), created_at=now, updated_at=now, body=_dumps(doc)))
            else:
                row.name, row.updated_at, row.body = name.lower(), now, _dumps(doc)
        return doc

    @_retrying
    def delete_project(self, id_or_name: str) -> None:
        with self._session(write=True) as s:
            s.delete(self._project(s, id_or_name))

    def _project(self, s: Session, id_or_name: str) -> Project:
        row = s.scalars(select(Project).where(col(Project.name) == id_or_name.strip().lower())).first()
        row = row or s.get(Project, id_or_name)
        if row is None:
            raise NotFoundError(f"Project {id_or_name} not found")
        return row

    # ---- executions (the engine's projection) ----------------------------------------------------------------

    @_retrying
    def save_execution(self, execution: Doc) -> None:
        """Insert or replace by `id` the whole Gate JSON (header and every stage) in one transaction: the previous
        release's writes, imports and tests. The engine writes with `apply_execution_update`."""
        if not isinstance(execution, dict):
            raise ValidationError("an execution must be a JSON object", field="execution")
        doc = {**execution, "id": _required_text(execution, "id", "An execution")}
        _required_text(execution, "application", "An execution")
        if doc.get("stages") is not None and not isinstance(doc["stages"], list):
            raise ValidationError("'stages' must be a list", field="stages")
        self._first_write_retried(self._save_execution, doc)

    @_retrying
    def _save_execution(self, doc: Doc) -> Doc:
        with self._session(write=True) as s:
            if s.get(DeletedExecution, doc["id"]) is None:  # a deleted execution stays deleted
                projection.replace_execution(s, doc)
        return doc

    @staticmethod
    def _first_write_retried(write: Callable[[Doc], Doc], doc: Doc) -> Doc:
        """Run a write again when another process inserted the same execution's header first: the next
        attempt finds the row and updates it."""
        for attempt in range(ATTEMPTS):
            try:
                return write(doc)
            except ConflictError:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def apply_execution_update(self, update: Doc) -> Doc:
        """Apply one engine write (header keys, stage rows, removals, engine data) in one transaction, each row
        only if the update's `version` is not lower than the row's. Returns ``{"applied", "finishedFirst"}``.
        See docs/store.md for the update's shape."""
        return self._first_write_retried(self._apply_execution_update, projection.check_update(update))

    @_retrying
    def _apply_execution_update(self, update: Doc) -> Doc:
        with self._session(write=True) as s:
            return projection.apply_update(s, update)

    def get_execution(self, execution_id: str) -> Doc:
        """The execution's Gate JSON (expand=true): header and stages in order."""
        return json.loads(self.get_execution_text(execution_id)[2])  # type: ignore[no-any-return]

    def get_execution_text(self, execution_id: str, *, expand: bool = True) -> tuple[str, str, str]:
        """``(application, status, Gate JSON text)`` of one execution, assembled from stored text without decoding
        it (Gate's GET sends the text as is)."""
        t = _EXECUTIONS
        with self._translated(), self._engine.connect() as conn:  # Core, not the ORM: 1,000 rows read as text
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

    def get_execution_engine(self, execution_id: str) -> Doc | None:
        """The engine-private data of an execution (None when it has none or does not exist)."""
        with self._session() as s:
            text = s.scalars(select(_EXECUTIONS.c.engine).where(_EXECUTIONS.c.id == execution_id)).first()
        return None if text is None else json.loads(text)  # type: ignore[no-any-return]

    def unhandled_finish(self, execution_id: str) -> tuple[int, Doc] | None:
        """``(finished version, execution)`` when the execution is finished and its downstream triggers have not
        run for that finish yet; None otherwise."""
        t = _EXECUTIONS
        with self._session() as s:
            row = s.execute(select(t.c.finished_version, t.c.handled_version).where(t.c.id == execution_id)).first()
        if row is None or row.finished_version is None or row.handled_version == row.finished_version:
            return None
        return row.finished_version, self.get_execution(execution_id)

    @_retrying
    def mark_finish_handled(self, execution_id: str, finished_version: int) -> None:
        """Record that the downstream triggers of this finish have run."""
        with self._session(write=True) as s:
            s.execute(projection.update_stmt(execution_id, {"handled_version": finished_version}))

    def unfinished_executions(
        self, *, built_before_ms: int, after: tuple[int, str] | None = None, limit: int = 500
    ) -> list[Doc]:
        """Headers of executions not finished, built before the given time, oldest first, after the
        ``(buildTime, id)`` of the previous page: the reconciler's candidates."""
        t = _EXECUTIONS
        conds = [t.c.status.not_in(sorted(projection.FINISHED)), t.c.build_time < built_before_ms]
        if after is not None:
            conds.append((t.c.build_time > after[0]) | ((t.c.build_time == after[0]) & (t.c.id > after[1])))
        stmt = select(*_HEADER).where(*conds).order_by(t.c.build_time, t.c.id).limit(limit)
        with self._session() as s:
            return [_header_doc(r) for r in s.execute(stmt)]

    def execution_header(self, execution_id: str) -> Doc | None:
        """``{id, application, status, buildTime, version}`` of one execution, or None."""
        with self._session() as s:
            row = s.execute(select(*_HEADER).where(_EXECUTIONS.c.id == execution_id)).first()
        return None if row is None else _header_doc(row)

    def list_executions(
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
            (t.c.pipeline_config_id, _ids(pipeline_config_ids)),
            (t.c.id, _ids(execution_ids)),
            (t.c.status, None if statuses is None else [str(v).upper() for v in statuses]),
            (t.c.trigger_type, _ids(trigger_types)),
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
            conds.append(t.c.build_time >= _as_int(start_after_ms, "startTime"))
        if start_before_ms is not None:
            conds.append(t.c.build_time <= _as_int(start_before_ms, "endTime"))
        for value in (limit, limit_per_config):
            if value is not None and _as_int(value, "limit") < 1:
                raise ValidationError("'limit' must be at least 1", field="limit")
        newest = (t.c.build_time.desc(), t.c.id.desc())
        with self._session() as s:
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

    @_retrying
    def delete_execution(self, execution_id: str) -> None:
        """Remove the execution and leave a tombstone, in one transaction."""
        with self._session(write=True) as s:
            if s.execute(delete(_EXECUTIONS).where(_EXECUTIONS.c.id == execution_id)).rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(f"Execution {execution_id} not found")
            s.execute(delete(_STAGES).where(_STAGES.c.execution_id == execution_id))
            if s.get(DeletedExecution, execution_id) is None:
                s.add(DeletedExecution(id=execution_id, deleted_at=now_ms()))

    # ---- notification documents (Front50's /notifications/{level}/{name}) ---------------------------------------

    def get_notifications(self, application: str) -> Doc:
        """An application's notifications with the global ones appended per type, as Front50 answers them."""
        app = application.strip().lower()
        with self._session() as s:
            own = s.get(NotificationConfig, ("application", app))
            glob = s.get(NotificationConfig, ("global", GLOBAL_NOTIFICATIONS))
            doc: Doc = json.loads(own.body) if own is not None else {"application": app}
            extra: Doc = json.loads(glob.body) if glob is not None else {}
        for kind, entries in extra.items():
            if isinstance(entries, list):
                doc.setdefault(kind, [])
                if isinstance(doc[kind], list):
                    doc[kind] = [*doc[kind], *entries]
        return doc

    def save_notifications(self, application: str | None, doc: Doc, user: str) -> Doc:
        """Replace an application's notification document (``None``: the global one)."""
        if not isinstance(doc, dict):
            raise ValidationError("notifications must be a JSON object of lists by type", field="notifications")
        for kind, entries in doc.items():
            if kind in NOTIFICATION_TYPES and not (
                isinstance(entries, list) and all(isinstance(e, dict) for e in entries)
            ):
                raise ValidationError(f"notifications '{kind}' must be a list of objects", field=kind)
        level, name = ("application", application.strip().lower()) if application else ("global", GLOBAL_NOTIFICATIONS)
        body = {**copy.deepcopy(doc), "lastModified": now_ms(), "lastModifiedBy": user}
        if application:
            body["application"] = name
        with self._session(write=True) as s:
            row = s.get(NotificationConfig, (level, name), with_for_update=True)
            if row is None:
                s.add(NotificationConfig(level=level, name=name, updated_at=now_ms(), body=_dumps(body)))
            else:
                row.body, row.updated_at = _dumps(body), now_ms()
        return body

    def delete_notifications(self, application: str) -> None:
        with self._session(write=True) as s:
            row = s.get(NotificationConfig, ("application", application.strip().lower()))
            if row is not None:
                s.delete(row)

    def notification_entries(self, application: str) -> list[Doc]:
        """The application's (and global) notification entries as one list, each with its ``type``."""
        doc = self.get_notifications(application)
        return [
            {**entry, "type": entry.get("type") or kind}
            for kind, entries in doc.items()
            if isinstance(entries, list)
            for entry in entries
            if isinstance(entry, dict)
        ]

    # ---- the cloud cache (Clouddriver's) ---------------------------------------------------------------------

    def replace_cloud_cache(
        self, provider: str, account: str, kind: str, items: list[Doc], *, error: str | None = None
    ) -> None:
        """Replace everything cached of one kind in one account (one transaction), and stamp the refresh.
        Each item is Gate's JSON with ``region`` and ``name`` (and ``moniker.app``/``cluster`` when known)."""
        rows = [self._cache_row(provider, account, kind, item) for item in items]
        with self._session(write=True) as s:
            if error is None:
                s.execute(
                    delete(CloudCacheItem).where(
                        col(CloudCacheItem.provider) == provider,
                        col(CloudCacheItem.account) == account,
                        col(CloudCacheItem.kind) == kind,
                    )
                )
                s.add_all(rows)
            status = s.get(CloudCacheStatus, (provider, account), with_for_update=True)
            if status is None:
                s.add(CloudCacheStatus(provider=provider, account=account, refreshed_at=now_ms(), error=error))
            else:
                status.error = error
                if error is None:
                    status.refreshed_at = now_ms()

    def put_cloud_cache_item(self, provider: str, account: str, kind: str, item: Doc) -> None:
        """Write one object through the cache (a deploy just changed it)."""
        row = self._cache_row(provider, account, kind, item)
        with self._session(write=True) as s:
            s.merge(row)

    def drop_cloud_cache_item(self, provider: str, account: str, kind: str, region: str, name: str) -> None:
        with self._session(write=True) as s:
            found = s.get(CloudCacheItem, (provider, account, kind, region, name))
            if found is not None:
                s.delete(found)

    @staticmethod
    def _cache_row(provider: str, account: str, kind: str, item: Doc) -> CloudCacheItem:
        raw = item.get("moniker")
        moniker: Doc = raw if isinstance(raw, dict) else {}
        return CloudCacheItem(
            provider=provider,
            account=account,
            kind=kind,
            region=str(item.get("region") or ""),
            name=str(item.get("name") or item.get("imageId") or ""),
            application=(moniker.get("app") or item.get("application") or None),
            cluster=(moniker.get("cluster") or item.get("cluster") or None),
            body=_dumps(item),
        )

    def cloud_cache(
        self,
        kind: str,
        *,
        application: str | None = None,
        account: str | None = None,
        cluster: str | None = None,
        region: str | None = None,
        name: str | None = None,
        provider: str | None = None,
    ) -> list[Doc]:
        stmt = select(col(CloudCacheItem.body)).where(col(CloudCacheItem.kind) == kind)
        for column, value in (
            (CloudCacheItem.application, application),
            (CloudCacheItem.account, account),
            (CloudCacheItem.cluster, cluster),
            (CloudCacheItem.region, region),
            (CloudCacheItem.name, name),
            (CloudCacheItem.provider, provider),
        ):
            if value is not None:
                stmt = stmt.where(col(column) == value)
        with self._session() as s:
            return [json.loads(b) for b in s.scalars(stmt.order_by(col(CloudCacheItem.name)))]

    def cloud_cache_status(self) -> list[Doc]:
        with self._session() as s:
            rows = s.scalars(select(CloudCacheStatus)).all()
            return [
                {"provider": r.provider, "account": r.account, "refreshedAt": r.refreshed_at, "error": r.error}
                for r in rows
            ]

    # ---- trigger events --------------------------------------------------------------------------------------

    def claim_trigger_event(self, event_key: str, pipeline_config_id: str, execution_id: str) -> tuple[str, bool]:
        """Record that ``event_key`` starts ``execution_id`` of a pipeline, unless the event was claimed for
        that pipeline before: then answer the earlier execution id. Returns ``(execution id, claimed now)``."""
        key = event_key[:KEY_LENGTH]
        try:
            with self._session(write=True) as s:
                s.add(
                    TriggerEvent(
                        event_key=key,
                        pipeline_config_id=pipeline_config_id,
                        execution_id=execution_id,
                        created_at=now_ms(),
                    )
                )
            return execution_id, True
        except ConflictError:
            with self._session() as s:
                row = s.get(TriggerEvent, (key, pipeline_config_id))
                earlier = row.execution_id if row is not None else None
            if earlier is None:  # pragma: no cover - a conflict whose row vanished: only a concurrent purge does that
                raise
            return earlier, False

    # ---- Jenkins poll cursors --------------------------------------------------------------------------------

    def jenkins_cursors(self, master: str) -> dict[str, Doc]:
        """Every job's poll cursor on ``master``: ``{job: {"lastBuild": n, "posted": [numbers]}}``."""
        stmt = select(JenkinsBuildCursor).where(col(JenkinsBuildCursor.master) == master)
        with self._session() as s:
            return {r.job: {"lastBuild": r.last_build, "posted": json.loads(r.posted)} for r in s.scalars(stmt)}

    @_retrying
    def save_jenkins_cursors(self, master: str, cursors: dict[str, Doc]) -> None:
        """Create or replace the cursors of these jobs on ``master`` (other jobs' cursors are kept)."""
        now = now_ms()
        with self._session(write=True) as s:
            for job, cursor in cursors.items():
                last = _as_int(cursor.get("lastBuild"), "lastBuild")
                posted = _dumps(sorted({_as_int(n, "posted") for n in cursor.get("posted") or []}))
                row = s.get(JenkinsBuildCursor, (master, job), with_for_update=True)
                if row is None:
                    s.add(JenkinsBuildCursor(master=master, job=job, last_build=last, posted=posted, updated_at=now))
                else:
                    row.last_build, row.posted, row.updated_at = last, posted, now

    @_retrying
    def delete_jenkins_cursors(self, master: str) -> int:
        """Forget every cursor of ``master`` (its jobs are seen for the first time on the next poll)."""
        with self._session(write=True) as s:
            result = s.execute(delete(JenkinsBuildCursor).where(col(JenkinsBuildCursor.master) == master))
            return int(getattr(result, "rowcount", 0) or 0)

    # ---- bakes (Rosco's bake store) --------------------------------------------------------------------------

    @_retrying
    def create_bake(self, bake: Doc) -> bool:
        """Add a bake (``bake_doc`` fields) unless one with its id exists; True if added now."""
        row = _bake_row(bake)
        try:
            with self._session(write=True) as s:
                if s.get(Bake, row.id) is not None:
                    return False
                s.add(row)
        except ConflictError:  # the same bake stored at the same moment by another worker
            return False
        return True

    def get_bake(self, bake_id: str) -> Doc | None:
        with self._session() as s:
            row = s.get(Bake, bake_id)
            return _bake_doc(row) if row is not None else None

    def bakes_for_key(self, key: str) -> list[Doc]:
        """Every bake of a cache key, newest first."""
        stmt = select(Bake).where(col(Bake.bake_key) == key).order_by(col(Bake.created_at).desc(), col(Bake.id).desc())
        with self._session() as s:
            return [_bake_doc(r) for r in s.scalars(stmt)]

    def cached_bake(self, key: str) -> Doc | None:
        """The cache: the key's newest successful bake that is still reusable."""
        stmt = (
            select(Bake)
            .where(
                col(Bake.bake_key) == key,
                col(Bake.state) == "COMPLETED",
                col(Bake.result) == "SUCCESS",
                col(Bake.reusable).is_(True),
            )
            .order_by(col(Bake.created_at).desc(), col(Bake.id).desc())
            .limit(1)
        )
        with self._session() as s:
            row = s.scalars(stmt).first()
            return _bake_doc(row) if row is not None else None

    @_retrying
    def retire_bakes(self, key: str) -> int:
        """A rebake: stop reusing the key's finished bakes (a running one stays: the rebake joins it)."""
        stmt = (
            update(Bake)
            .where(col(Bake.bake_key) == key, col(Bake.reusable).is_(True), col(Bake.state) != "RUNNING")
            .values(reusable=False)
        )
        with self._session(write=True) as s:
            return int(getattr(s.execute(stmt), "rowcount", 0) or 0)

    @_retrying
    def update_bake(self, bake_id: str, changes: Doc) -> None:
        """Change some fields of a bake (its state, results, log), leaving the others as they are."""
        unknown = sorted(set(changes) - set(BAKE_UPDATABLE))
        if unknown:
            raise ValidationError(f"cannot update bake fields {unknown}", field=unknown[0])
        with self._session(write=True) as s:
            row = s.get(Bake, bake_id, with_for_update=True)
            if row is None:
                raise NotFoundError(f"no bake '{bake_id}'")
            for name, value in changes.items():
                column = BAKE_UPDATABLE[name]
                json_column = column in ("images", "request", "log_ref") and value is not None
                setattr(row, column, _dumps(value) if json_column else value)
            row.updated_at = _as_int(changes.get("updatedAt") or now_ms(), "updatedAt")

    @_retrying
    def add_bake_requester(self, bake_id: str, requester: str) -> None:
        """Record that a stage (``executionId/stageId/start``) waits for this bake; each requester once."""
        with self._session(write=True) as s:
            row = s.get(Bake, bake_id, with_for_update=True)
            if row is None:
                return
            requesters = json.loads(row.requested_by)
            if requester not in requesters:
                row.requested_by = _dumps([*requesters, requester])

    # ---- Fiat: API tokens, service accounts, the audit trail ---------------------------------------------------

    @_retrying
    def save_api_token(self, token: Doc) -> Doc:
        """Store an issued token: ``{id, tokenHash, owner, roles, description, createdBy, expiresAt}``."""
        owner = _required_text(token, "owner", "a token")
        roles = [str(r).strip().lower() for r in token.get("roles") or [] if str(r).strip()]
        row = ApiToken(
            id=str(token["id"]),
            token_hash=str(token["tokenHash"]),
            owner=owner.lower(),
            roles=_dumps(roles),
            description=token.get("description"),
            created_at=now_ms(),
            created_by=token.get("createdBy"),
            expires_at=_optional_int(token.get("expiresAt"), "expiresAt"),
        )
        with self._session(write=True, conflict="a token with this id or hash exists") as s:
            s.add(row)
            s.flush()
            return _token_doc(row)

    def find_api_token(self, token_hash: str) -> Doc | None:
        """The token whose hash this is (revoked and expired ones too: the caller decides), or None."""
        with self._session() as s:
            row = s.scalars(select(ApiToken).where(col(ApiToken.token_hash) == token_hash)).first()
            return None if row is None else _token_doc(row)

    def list_api_tokens(self, owner: str | None = None) -> list[Doc]:
        stmt = select(ApiToken).order_by(col(ApiToken.created_at), col(ApiToken.id))
        if owner is not None:
            stmt = stmt.where(col(ApiToken.owner) == owner.lower())
        with self._session() as s:
            return [_token_doc(r) for r in s.scalars(stmt)]

    @_retrying
    def revoke_api_token(self, token_id: str) -> Doc:
        with self._session(write=True) as s:
            row = s.get(ApiToken, token_id)
            if row is None:
                raise NotFoundError(f"no token with id {token_id!r}")
            if row.revoked_at is None:
                row.revoked_at = now_ms()
            s.flush()
            return _token_doc(row)

    def touch_api_token(self, token_id: str, at: int) -> None:
        """Record a use (callers throttle this: it is a write)."""
        with self._session(write=True) as s:
            s.execute(update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=at))

    def list_service_accounts(self) -> list[Doc]:
        with self._session() as s:
            return [json.loads(r.body) for r in s.scalars(select(ServiceAccount).order_by(col(ServiceAccount.name)))]

    def get_service_account(self, name: str) -> Doc:
        with self._session() as s:
            row = s.get(ServiceAccount, name.strip().lower())
            if row is None:
                raise NotFoundError(f"no service account named {name!r}")
            return json.loads(row.body)  # type: ignore[no-any-return]

    @_retrying
    def save_service_account(self, doc: Doc) -> Doc:
        """Front50's ``{name, memberOf: [roles]}``: the name and the roles are lower-cased, as Fiat compares them."""
        if not isinstance(doc, dict):
            raise ValidationError("a service account is a JSON object {name, memberOf: [roles]}")
        name = _required_text(doc, "name", "a service account").lower()
        member_of = doc.get("memberOf", [])
        if not isinstance(member_of, list) or not all(isinstance(r, str) for r in member_of):
            raise ValidationError("'memberOf' must be a list of role names", field="memberOf")
        saved = {**doc, "name": name, "memberOf": sorted({r.strip().lower() for r in member_of if r.strip()})}
        saved["lastModified"] = now_ms()
        with self._session(write=True) as s:
            s.merge(ServiceAccount(name=name, updated_at=saved["lastModified"], body=_dumps(saved)))
        return saved

    @_retrying
    def delete_service_account(self, name: str) -> None:
        with self._session(write=True) as s:
            row = s.get(ServiceAccount, name.strip().lower())
            if row is None:
                raise NotFoundError(f"no service account named {name!r}")
            s.delete(row)

    def get_user_roles(self, name: str) -> list[str]:
        """The roles stored for a user (empty when none are)."""
        with self._session() as s:
            row = s.get(UserRoles, name.strip().lower())
            return [] if row is None else list(json.loads(row.body)["roles"])

    def get_user_roles_record(self, name: str) -> Doc | None:
        """The stored roles document ``{name, roles, lastModified, lastModifiedBy}``, or None."""
        with self._session() as s:
            row = s.get(UserRoles, name.strip().lower())
            return None if row is None else json.loads(row.body)  # type: ignore[no-any-return]

    @_retrying
    def put_user_roles(self, name: str, roles: Any, user: str) -> Doc:
        """Replace the roles stored for ``name`` (lower-cased, as Fiat compares them); ``[]`` keeps an empty entry."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("a user name is required", field="name")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ValidationError("the body must be a JSON list of role names", field="roles")
        key, stamp = name.strip().lower(), now_ms()
        if len(key) > KEY_LENGTH:
            raise ValidationError(f"a user name has at most {KEY_LENGTH} characters", field="name")
        saved = {
            "name": key,
            "roles": sorted({r.strip().lower() for r in roles if r.strip()}),
            "lastModified": stamp,
            "lastModifiedBy": user,
        }
        with self._session(write=True) as s:
            s.merge(UserRoles(name=key, updated_at=stamp, body=_dumps(saved)))
        return saved

    @_retrying
    def delete_user_roles(self, name: str) -> None:
        with self._session(write=True) as s:
            row = s.get(UserRoles, name.strip().lower())
            if row is None:
                raise NotFoundError(f"no roles are stored for {name!r}")
            s.delete(row)

    @_retrying
    def record_audit(self, event: Doc) -> None:
        """Append one audit event: ``{principal, via, action, resourceType, resourceName, application,
        executionId, outcome, status, remoteAddress, detail}`` (``at`` defaults to now)."""
        action = _required_text(event, "action", "an audit event")

        def text(field: str, limit: int = KEY_LENGTH) -> str | None:
            value = event.get(field)
            return None if value is None or value == "" else str(value)[:limit]

        row = AuditEvent(
            at=_optional_int(event.get("at"), "at") or now_ms(),
            principal=(text("principal") or "anonymous").lower(),
            via=text("via", 32) or "anonymous",
            action=action[:64],
            resource_type=text("resourceType", 32),
            resource_name=text("resourceName"),
            application=(text("application") or "").lower() or None,
            execution_id=text("executionId"),
            outcome=text("outcome", 16) or "success",
            status=_optional_int(event.get("status"), "status"),
            remote_address=text("remoteAddress", 64),
            detail=text("detail", 2000),
        )
        with self._session(write=True) as s:
            s.add(row)

    def list_audit(self, filters: Doc | None = None, limit: int = 100) -> list[Doc]:
        """Newest first; ``filters`` may hold ``principal``, ``application``, ``action``, ``executionId``,
        ``outcome``, ``since`` and ``until`` (epoch ms)."""
        filters = filters or {}
        stmt = select(AuditEvent)
        for field, column in (
            ("principal", AuditEvent.principal),
            ("application", AuditEvent.application),
            ("action", AuditEvent.action),
            ("executionId", AuditEvent.execution_id),
            ("outcome", AuditEvent.outcome),
        ):
            value = filters.get(field)
            if value:
                stmt = stmt.where(col(column) == (value.lower() if field in ("principal", "application") else value))
        if filters.get("since") is not None:
            stmt = stmt.where(col(AuditEvent.at) >= _as_int(filters["since"], "since"))
        if filters.get("until") is not None:
            stmt = stmt.where(col(AuditEvent.at) <= _as_int(filters["until"], "until"))
        stmt = stmt.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(max(1, int(limit)))
        with self._session() as s:
            return [_audit_doc(r) for r in s.scalars(stmt)]


def _switch_to_wal(cursor: Any, attempts: int = 100) -> None:
    """``PRAGMA journal_mode=WAL``. On a new file, connections switching at once can deadlock on the switch's locks,
    and SQLite then answers "database is locked" at once (no busy wait): try again, briefly, until one has switched."""
    import sqlite3

    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.01 + random.random() * 0.05)


def _sqlite_setup(engine: Engine, *, wal: bool) -> None:
    """WAL, and writers start with BEGIN IMMEDIATE so concurrent writers queue instead of failing mid-way."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        if wal:
            _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("gennaker_write") else "BEGIN")


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


def _check_permissions(permissions: Any) -> None:
    if permissions is None:
        return
    ok = isinstance(permissions, dict) and all(
        isinstance(v, list) and all(isinstance(r, str) for r in v) for v in permissions.values()
    )
    if not ok:
        raise ValidationError("'permissions' must map READ/WRITE/EXECUTE to lists of roles", field="permissions")


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
        index: int | None = _optional_int(doc.get("index"), "index")
    except ValidationError:
        index = None
    label = str(doc.get("name") or doc.get("id") or "")
    return (str(doc.get("application", "")).lower(), index is None, index or 0, label.lower())


def _remove_application(project: Doc, application: str) -> bool:
    """Take an application out of a project's config; True when anything changed."""
    config = project.get("config")
    if not isinstance(config, dict):
        return False
    changed = False
    apps = config.get("applications")
    if isinstance(apps, list):
        kept = [a for a in apps if not (isinstance(a, str) and a.lower() == application)]
        changed |= len(kept) != len(apps)
        config["applications"] = kept
    configs = config.get("pipelineConfigs")
    if isinstance(configs, list):
        kept_configs = [
            c for c in configs if not (isinstance(c, dict) and str(c.get("application", "")).lower() == application)
        ]
        changed |= len(kept_configs) != len(configs)
        config["pipelineConfigs"] = kept_configs
    return changed


#: the bake fields ``update_bake`` may change, and their columns
BAKE_UPDATABLE = {
    "state": "state",
    "result": "result",
    "reusable": "reusable",
    "imageName": "image_name",
    "imageId": "image_id",
    "images": "images",
    "request": "request",
    "logRef": "log_ref",
    "error": "error",
    "updatedAt": "updated_at",
}


def _bake_row(bake: Doc) -> Bake:
    now = now_ms()
    requesters = bake.get("requestedBy") or []
    if not isinstance(requesters, list):
        raise ValidationError("'requestedBy' must be a list", field="requestedBy")
    return Bake(
        id=_required_text(bake, "id", "a bake"),
        bake_key=_required_text(bake, "key", "a bake"),
        workflow_id=_required_text(bake, "workflowId", "a bake"),
        region=_required_text(bake, "region", "a bake"),
        cloud_provider=_required_text(bake, "cloudProvider", "a bake"),
        state=str(bake.get("state") or "RUNNING"),
        result=bake.get("result"),
        reusable=bool(bake.get("reusable", True)),
        image_name=bake.get("imageName"),
        image_id=bake.get("imageId"),
        images=_dumps(bake.get("images") or {}),
        request=_dumps(bake.get("request") or {}),
        requested_by=_dumps([str(r) for r in requesters]),
        log_ref=_dumps(bake["logRef"]) if bake.get("logRef") is not None else None,
        error=bake.get("error"),
        created_at=_as_int(bake.get("createdAt") or now, "createdAt"),
        updated_at=_as_int(bake.get("updatedAt") or now, "updatedAt"),
    )


def _bake_doc(row: Bake) -> Doc:
    return {
        "id": row.id,
        "key": row.bake_key,
        "workflowId": row.workflow_id,
        "region": row.region,
        "cloudProvider": row.cloud_provider,
        "state": row.state,
        "result": row.result,
        "reusable": bool(row.reusable),
        "imageName": row.image_name,
        "imageId": row.image_id,
        "images": json.loads(row.images),
        "request": json.loads(row.request),
        "requestedBy": json.loads(row.requested_by),
        "logRef": json.loads(row.log_ref) if row.log_ref else None,
        "error": row.error,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }


def _token_doc(row: ApiToken) -> Doc:
    """A token as the CLI and the API show it: everything but its hash."""
    return {
        "id": row.id,
        "owner": row.owner,
        "roles": json.loads(row.roles),
        "description": row.description,
        "createdAt": row.created_at,
        "createdBy": row.created_by,
        "expiresAt": row.expires_at,
        "lastUsedAt": row.last_used_at,
        "revokedAt": row.revoked_at,
        "tokenHash": row.token_hash,
    }


def _audit_doc(row: AuditEvent) -> Doc:
    doc = {
        "id": row.id,
        "at": row.at,
        "principal": row.principal,
        "via": row.via,
        "action": row.action,
        "resourceType": row.resource_type,
        "resourceName": row.resource_name,
        "application": row.application,
        "executionId": row.execution_id,
        "outcome": row.outcome,
        "status": row.status,
        "remoteAddress": row.remote_address,
        "detail": row.detail,
    }
    return {k: v for k, v in doc.items() if v is not None}

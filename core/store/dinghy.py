"""Dinghy in Gennaker's store: syncs, the pipelines each source created, the dinghyfile → module graph and each
dinghyfile's last push payload, and the one-transaction write of a push (applications, pipelines, deletions).

Shares the main store's engine and transactions; each method is one transaction returning plain dicts.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlmodel import col

from .applications import check_permissions
from .errors import ConflictError, ValidationError
from .models import Application, PipelineConfig, PipelineConfigRevision
from .session import Database

Doc = dict[str, Any]
_META = sa.MetaData()
KEY = sa.String(255)
SYNCS = sa.Table(
    "dinghy_syncs", _META, sa.Column("id", KEY, primary_key=True), sa.Column("source", KEY),
    sa.Column("commit_sha", sa.String(64)), sa.Column("branch", KEY), sa.Column("state", sa.String(16)),
    sa.Column("started_at", sa.BigInteger), sa.Column("finished_at", sa.BigInteger), sa.Column("body", sa.Text),
)  # fmt: skip
OWNED = sa.Table(
    "dinghy_pipelines", _META, sa.Column("pipeline_id", KEY, primary_key=True), sa.Column("source", KEY),
    sa.Column("path", KEY), sa.Column("application", KEY),
)  # fmt: skip
DEPS = sa.Table(
    "dinghy_deps", _META, sa.Column("source", KEY, primary_key=True), sa.Column("path", KEY, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True), sa.Column("module", KEY, primary_key=True),
)  # fmt: skip
FILES = sa.Table(
    "dinghy_files", _META, sa.Column("source", KEY, primary_key=True), sa.Column("path", KEY, primary_key=True),
    sa.Column("commit_sha", sa.String(64)), sa.Column("raw_data", sa.Text),
)  # fmt: skip
ID_NAMESPACE = uuid.UUID("4d2f7c3e-9b0a-5e41-8c6d-2a1b3c4d5e6f")


def now_ms() -> int:
    return int(time.time() * 1000)


def planned_id(source: str, application: str, name: str) -> str:
    """The id a pipeline gets when this source creates it: known before anything is written, so ``pipelineID``
    resolves pipelines created later in the same push."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{source}\n{application.lower()}\n{name.lower()}"))


def is_locked(config: Any) -> bool:
    locked = config.get("locked") if isinstance(config, dict) else None
    return isinstance(locked, dict) and locked.get("ui") is True


def _dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


class DinghyStore:
    """Dinghy's tables in the store's database (shares its engine and transactions)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _session(self, write: bool = False, conflict: str | None = None) -> Any:
        return self._db.session(write=write, conflict=conflict)

    # ---- syncs -----------------------------------------------------------------------------------------------

    def record_sync(self, sync: Doc) -> Doc:
        """Insert or replace a sync by its ``id`` (the workflow id)."""
        row = {
            "source": sync["source"], "commit_sha": sync["commit"], "branch": sync.get("branch") or "",
            "state": sync["state"], "started_at": int(sync.get("startedAt") or now_ms()),
            "finished_at": sync.get("finishedAt"), "body": _dumps(sync),
        }  # fmt: skip
        with self._session(write=True) as s:
            if s.execute(sa.select(SYNCS.c.id).where(SYNCS.c.id == sync["id"])).first() is None:
                s.execute(SYNCS.insert().values(id=sync["id"], **row))
            else:
                s.execute(SYNCS.update().where(SYNCS.c.id == sync["id"]).values(**row))
        return sync

    def list_syncs(self, source: str | None = None, limit: int = 50) -> list[Doc]:
        stmt = sa.select(SYNCS.c.body).order_by(SYNCS.c.started_at.desc(), SYNCS.c.id).limit(limit)
        if source:
            stmt = stmt.where(SYNCS.c.source == source)
        with self._session() as s:
            return [json.loads(b) for (b,) in s.execute(stmt)]

    def get_sync(self, sync_id: str) -> Doc | None:
        with self._session() as s:
            row = s.execute(sa.select(SYNCS.c.body).where(SYNCS.c.id == sync_id)).first()
        return json.loads(row[0]) if row else None

    # ---- graph and payloads ----------------------------------------------------------------------------------

    def dependents(self, source: str, kind: str, modules: list[str]) -> list[str]:
        """Dinghyfiles of ``source`` that used any of ``modules`` (directly or through other modules)."""
        if not modules:
            return []
        stmt = sa.select(DEPS.c.path).where(DEPS.c.source == source, DEPS.c.kind == kind, DEPS.c.module.in_(modules))
        with self._session() as s:
            return sorted({p for (p,) in s.execute(stmt)})

    def dependents_anywhere(self, kind: str, modules: list[str]) -> list[tuple[str, str]]:
        """``(source, dinghyfile)`` pairs of every source that used any of ``modules``."""
        if not modules:
            return []
        stmt = sa.select(DEPS.c.source, DEPS.c.path).where(DEPS.c.kind == kind, DEPS.c.module.in_(modules))
        with self._session() as s:
            return sorted({(a, b) for a, b in s.execute(stmt)})

    def deps(self, source: str, path: str) -> list[Doc]:
        stmt = sa.select(DEPS.c.kind, DEPS.c.module).where(DEPS.c.source == source, DEPS.c.path == path)
        with self._session() as s:
            return [{"kind": k, "module": m} for k, m in s.execute(stmt.order_by(DEPS.c.kind, DEPS.c.module))]

    def raw_data(self, source: str, path: str) -> Doc | None:
        stmt = sa.select(FILES.c.raw_data).where(FILES.c.source == source, FILES.c.path == path)
        with self._session() as s:
            row = s.execute(stmt).first()
        return json.loads(row[0]) if row else None

    def owned(self, source: str) -> list[Doc]:
        stmt = sa.select(OWNED).where(OWNED.c.source == source).order_by(OWNED.c.path, OWNED.c.pipeline_id)
        with self._session() as s:
            return [dict(r._mapping) for r in s.execute(stmt)]

    # ---- the write of one push --------------------------------------------------------------------------------

    def apply_push(self, source: str, commit: str, files: list[Doc], user: str, lock: bool = True) -> Doc:
        """Write what a push rendered, all or nothing, in one transaction.

        ``files``: one entry per rendered dinghyfile ``{path, application, spec, saveApp, deleteStale,
        pipelines, placeholders, modules, localModules, rawData}``. Pipelines are matched by application and
        name; a new one gets ``planned_id``. ``deleteStale`` deletes pipelines of the application that this
        source created from this file and that the file no longer has; pipelines made elsewhere are kept.
        Returns ``{created, updated, unchanged, deleted, applications}`` (pipeline names as ``app/name``).
        """
        summary: Doc = {"created": [], "updated": [], "unchanged": [], "deleted": [], "applications": [],
                        "changedIds": []}  # fmt: skip
        now = now_ms()
        with self._session(write=True, conflict="a pipeline name is taken in that application") as s:
            for f in files:
                if f.get("removed"):  # the dinghyfile was deleted: so are the pipelines it made
                    self._remove_file(s, source, f["path"], summary)
                    continue
                app = f["application"].strip().lower()
                self._write_app(s, app, f.get("spec") or {}, bool(f.get("saveApp")), user, now, summary)
                kept: set[str] = set()
                for config in [*f["pipelines"], *f.get("placeholders", [])]:
                    pid = self._write_pipeline(s, source, f["path"], config, user, now, lock, summary,
                                               placeholder=config in f.get("placeholders", []))  # fmt: skip
                    kept.add(pid)
                if f.get("deleteStale"):
                    stale = s.execute(
                        sa.select(OWNED.c.pipeline_id).where(
                            OWNED.c.source == source, OWNED.c.path == f["path"], OWNED.c.application == app
                        )
                    ).all()
                    for (pid,) in stale:
                        if pid in kept:
                            continue
                        row = s.get(PipelineConfig, ("pipeline", pid))
                        if row is not None:
                            summary["deleted"].append(f"{row.application}/{json.loads(row.body).get('name')}")
                            summary["changedIds"].append(pid)
                            s.delete(row)
                        s.execute(OWNED.delete().where(OWNED.c.pipeline_id == pid))
                s.execute(DEPS.delete().where(DEPS.c.source == source, DEPS.c.path == f["path"]))
                for kind, mods in (("module", f.get("modules", [])), ("local", f.get("localModules", []))):
                    for m in sorted(set(mods)):
                        s.execute(DEPS.insert().values(source=source, path=f["path"], kind=kind, module=m))
                if f.get("rawData") is not None:
                    s.execute(FILES.delete().where(FILES.c.source == source, FILES.c.path == f["path"]))
                    s.execute(FILES.insert().values(source=source, path=f["path"], commit_sha=commit,
                                                    raw_data=_dumps(f["rawData"])))  # fmt: skip
        return summary

    @staticmethod
    def _remove_file(s: Any, source: str, path: str, summary: Doc) -> None:
        owned = s.execute(sa.select(OWNED.c.pipeline_id).where(OWNED.c.source == source, OWNED.c.path == path)).all()
        for (pid,) in owned:
            row = s.get(PipelineConfig, ("pipeline", pid))
            if row is not None:
                summary["deleted"].append(f"{row.application}/{json.loads(row.body).get('name')}")
                summary["changedIds"].append(pid)
                s.delete(row)
        s.execute(OWNED.delete().where(OWNED.c.source == source, OWNED.c.path == path))
        s.execute(DEPS.delete().where(DEPS.c.source == source, DEPS.c.path == path))
        s.execute(FILES.delete().where(FILES.c.source == source, FILES.c.path == path))

    @staticmethod
    def _write_app(s: Any, app: str, spec: Doc, save: bool, user: str, now: int, summary: Doc) -> None:
        row = s.get(Application, app, with_for_update=True)
        if row is not None and not save:
            return
        stored = json.loads(row.body) if row is not None else {}
        incoming = {k: copy.deepcopy(v) for k, v in spec.items() if v is not None and k != "appmetadata"}
        check_permissions(incoming.get("permissions"))  # Front50's shape, as an API save checks it
        incoming.update(spec.get("appmetadata") or {})  # plank flattens appmetadata into the application
        if row is None:
            incoming.setdefault("email", "unknown@example.org")
        doc = {**stored, **incoming}
        doc.update(name=app, createTs=stored.get("createTs", str(now)), updateTs=str(now), lastModifiedBy=user)
        doc.setdefault("user", user)
        if row is None:
            s.add(Application(name=app, created_at=now, updated_at=now, body=_dumps(doc)))
            summary["applications"].append(f"created {app}")
        else:
            row.updated_at, row.body = now, _dumps(doc)
            summary["applications"].append(f"updated {app}")

    @staticmethod
    def _write_pipeline(
        s: Any, source: str, path: str, config: Doc, user: str, now: int, lock: bool, summary: Doc,
        *, placeholder: bool,
    ) -> str:  # fmt: skip
        doc = copy.deepcopy(config)
        app, name = str(doc["application"]).strip().lower(), str(doc["name"])
        row = s.scalars(
            select(PipelineConfig).where(
                col(PipelineConfig.kind) == "pipeline",
                col(PipelineConfig.application) == app,
                col(PipelineConfig.name) == name.strip().lower(),
            )
        ).first()
        if placeholder and row is not None:
            return str(row.id)
        pid = row.id if row is not None else planned_id(source, app, name)
        doc["id"], doc["application"] = pid, app
        for i, trigger in enumerate(doc.get("triggers") or []):  # Echo keys cron jobs by id: stable across renders
            if isinstance(trigger, dict) and str(trigger.get("type", "")).lower() == "cron" and not trigger.get("id"):
                trigger["id"] = str(uuid.uuid5(ID_NAMESPACE, f"{pid}/cron/{i}"))
        if lock and not placeholder:
            doc["locked"] = {"ui": True, "allowUnlockUi": True,
                             "description": f"Managed by Dinghy ({source}: {path}); edit it in git"}  # fmt: skip
        label = f"{app}/{name}"
        if row is not None:
            stored = json.loads(row.body)
            bare = {k: v for k, v in stored.items() if k not in ("lastModified", "updateTs", "lastModifiedBy", "index")}
            if bare == {k: v for k, v in doc.items() if k != "index"}:
                summary["unchanged"].append(label)
                _own(s, pid, source, path, app)
                return pid
        modified = max(now, row.last_modified + 1) if row is not None else now
        doc.update(lastModified=modified, updateTs=str(modified), lastModifiedBy=user)
        if row is None:
            if s.get(PipelineConfig, ("pipeline", pid)) is not None:
                raise ConflictError(f"pipeline id {pid} for {label} is taken by another pipeline")
            s.add(PipelineConfig(kind="pipeline", id=pid, id_key=pid.lower(), application=app, name=name.lower(),
                                 position=None, created_at=now, last_modified=modified, body=_dumps(doc)))  # fmt: skip
            summary["created"].append(label)
        else:
            if "index" not in doc and row.position is not None:
                doc["index"] = row.position
            row.last_modified, row.body, row.name = modified, _dumps(doc), name.lower()
            summary["updated"].append(label)
        s.add(PipelineConfigRevision(kind="pipeline", pipeline_id=pid, recorded_at=now, body=_dumps(doc)))
        summary["changedIds"].append(pid)
        s.flush()
        _own(s, pid, source, path, app)
        return pid


def _own(s: Any, pid: str, source: str, path: str, app: str) -> None:
    s.execute(OWNED.delete().where(OWNED.c.pipeline_id == pid))
    s.execute(OWNED.insert().values(pipeline_id=pid, source=source, path=path, application=app))


def refuse_locked_edit(store: Any, config: Any, kind: str = "pipeline") -> None:
    """Front50/Deck's ``locked``: a stored pipeline with ``locked.ui`` is changed through the API only by a save
    that unlocks it (its ``locked`` removed or ``ui: false``); otherwise a 409 naming ``locked``."""
    from .errors import NotFoundError

    if kind != "pipeline" or not isinstance(config, dict) or not is_locked(config):
        return
    previous = None
    try:
        if isinstance(config.get("id"), str) and config["id"]:
            previous = store.pipelines.get(config["id"])
        elif config.get("application") and config.get("name"):
            previous = store.pipelines.get_by_name(str(config["application"]), str(config["name"]))
    except NotFoundError:
        return
    if previous is not None and is_locked(previous):
        description = (previous.get("locked") or {}).get("description") or "it is locked"
        raise ValidationError(
            f"pipeline {previous.get('name')!r} is locked ({description}); save it with 'locked' removed "
            "(or locked.ui false) to unlock it first",
            field="locked",
        )


def refuse_locked_delete(pipeline: Any) -> None:
    """Deleting a pipeline with ``locked.ui`` through the API is refused (400 naming ``locked``): unlock it first."""
    if is_locked(pipeline):
        description = (pipeline.get("locked") or {}).get("description") or "it is locked"
        raise ValidationError(
            f"pipeline {pipeline.get('name')!r} is locked ({description}); unlock it before deleting it", field="locked"
        )

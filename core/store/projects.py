"""Front50's projects: one document per project, found by name (ignoring case) or id; names are unique ignoring case."""

from __future__ import annotations

import copy
import json
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from .errors import ConflictError, NotFoundError, ValidationError
from .models import KEY_LENGTH, Project
from .session import Database, retrying
from .values import Doc, dumps, now_ms, required_text


class Projects:
    """Front50's project documents."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[Doc]:
        with self._db.session() as s:
            return [json.loads(b) for b in s.scalars(select(col(Project.body)).order_by(col(Project.name)))]

    def get(self, id_or_name: str) -> Doc:
        """By name (ignoring case) first, then by id, as Front50's `GET /v2/projects/{projectId}`."""
        with self._db.session() as s:
            doc: Doc = json.loads(self._project(s, id_or_name).body)
            return doc

    @retrying
    def save(self, project: Doc, user: str) -> Doc:
        """Create (id assigned when absent) or replace a project; names are unique ignoring case."""
        if not isinstance(project, dict):
            raise ValidationError("a project must be a JSON object", field="project")
        doc = copy.deepcopy(project)
        name = doc["name"] = required_text(doc, "name", "A project")
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
        with self._db.session(write=True, conflict=taken) as s:
            clash = select(col(Project.id)).where(col(Project.name) == name.lower(), col(Project.id) != project_id)
            if s.scalars(clash).first() is not None:
                raise ConflictError(taken)
            row = s.get(Project, project_id, with_for_update=True)
            created = json.loads(row.body).get("createTs", str(row.created_at)) if row is not None else str(now)
            doc.update(createTs=created, updateTs=str(now), lastModifiedBy=user)
            if row is None:
                s.add(Project(id=project_id, name=name.lower(), created_at=now, updated_at=now, body=dumps(doc)))
            else:
                row.name, row.updated_at, row.body = name.lower(), now, dumps(doc)
        return doc

    @retrying
    def delete(self, id_or_name: str) -> None:
        with self._db.session(write=True) as s:
            s.delete(self._project(s, id_or_name))

    def _project(self, s: Session, id_or_name: str) -> Project:
        row = s.scalars(select(Project).where(col(Project.name) == id_or_name.strip().lower())).first()
        row = row or s.get(Project, id_or_name)
        if row is None:
            raise NotFoundError(f"Project {id_or_name} not found")
        return row


def remove_application(project: Doc, application: str) -> bool:
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

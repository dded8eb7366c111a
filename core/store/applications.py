"""Front50's applications: one document per application name (lower-cased), merged on update as Front50's PATCH
does or replaced as its PUT does. Deleting one deletes its pipeline and strategy configs and takes it out of
projects, in one transaction.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import col

from . import changes
from .errors import NotFoundError, ValidationError
from .models import Application, PipelineConfig, Project
from .projects import remove_application
from .session import Database, retrying
from .values import Doc, dumps, now_ms, required_text

# Front50's ApplicationNameValidator with the regex its own tests configure (letters, digits, '.', '_', '-').
APPLICATION_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")


class Applications:
    """Front50's application documents."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[Doc]:
        with self._db.session() as s:
            return [json.loads(b) for b in s.scalars(select(col(Application.body)).order_by(col(Application.name)))]

    def get(self, name: str) -> Doc:
        with self._db.session() as s:
            row = s.get(Application, name.strip().lower())
            if row is None:
                raise NotFoundError(f"Application {name} not found")
            doc: Doc = json.loads(row.body)
            return doc

    @retrying
    def save(self, app: Doc, user: str, *, replace: bool = False) -> Doc:
        """Create or update; an update merges the given attributes into the stored ones (Front50's PATCH; None
        values are ignored) or, with `replace`, replaces them (PUT). `createTs` survives either way."""
        if not isinstance(app, dict):
            raise ValidationError("an application must be a JSON object", field="application")
        name = required_text(app, "name", "An application").lower()
        if not APPLICATION_NAME.match(name):
            raise ValidationError(
                f"Application name '{name}' may contain only letters, digits, '.', '_' and '-'", field="name"
            )
        incoming = {k: copy.deepcopy(v) for k, v in app.items() if v is not None}
        check_permissions(incoming.get("permissions"))
        if isinstance(incoming.get("cloudProviders"), list):  # Front50 hands Orca a comma-separated string
            incoming["cloudProviders"] = ",".join(str(p) for p in incoming["cloudProviders"])
        now = now_ms()
        with self._db.session(write=True, conflict=f"Application {name} already exists") as s:
            row = s.get(Application, name, with_for_update=True)
            stored = json.loads(row.body) if row is not None else {}
            doc = incoming if replace else {**stored, **incoming}
            doc.update(name=name, createTs=stored.get("createTs", str(now)), updateTs=str(now), lastModifiedBy=user)
            doc.setdefault("user", user)
            if row is None:
                s.add(Application(name=name, created_at=now, updated_at=now, body=dumps(doc)))
            else:
                row.updated_at, row.body = now, dumps(doc)
        return doc

    @retrying
    def delete(self, name: str, user: str) -> None:
        """Delete the application with its pipelines and strategies, and take it out of projects (as Front50
        does). Revision history and executions are kept."""
        key = name.strip().lower()
        with self._db.session(write=True) as s:
            row = s.get(Application, key, with_for_update=True)
            if row is None:
                raise NotFoundError(f"Application {name} not found")
            s.execute(delete(PipelineConfig).where(col(PipelineConfig.application) == key))
            changes.bump(s, [changes.configs_scope(key, kind) for kind in ("pipeline", "strategy")])
            for project in s.scalars(select(Project)):
                doc = json.loads(project.body)
                if remove_application(doc, key):
                    doc.update(updateTs=str(now_ms()), lastModifiedBy=user)
                    project.body = dumps(doc)
            s.delete(row)


def check_permissions(permissions: Any) -> None:
    if permissions is None:
        return
    ok = isinstance(permissions, dict) and all(
        isinstance(v, list) and all(isinstance(r, str) for r in v) for v in permissions.values()
    )
    if not ok:
        raise ValidationError("'permissions' must map READ/WRITE/EXECUTE to lists of roles", field="permissions")

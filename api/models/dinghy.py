"""Dinghy's documents (pipelines as code from git): sources, syncs, a manual sync, the render check, and the plan
behind ``gennaker apply``."""

from __future__ import annotations

from typing import Any

from .base import SpinnakerDocument
from .pipelines import PipelineConfig

Json = dict[str, Any]


class DinghySource(SpinnakerDocument):
    """A configured git source, as the API shows it: the URL without credentials, ``signed`` for a webhook secret."""

    name: str
    url: str
    branch: str | None = None
    provider: str | None = None
    project: str | None = None
    slug: str | None = None
    dinghyfile: str | None = None
    format: str | None = None
    poll_interval_seconds: int | float | None = None
    lock_pipelines: bool | None = None
    signed: bool


class SyncedFile(SpinnakerDocument):
    """One dinghyfile of a sync: ``succeeded`` with the pipelines it wrote, or its ``error``."""

    path: str
    state: str
    error: str | None = None
    pipelines: list[Any] | None = None


class DinghySync(SpinnakerDocument):
    """One sync of a source at a commit (``mode``: live or validate; ``state``: succeeded, failed or skipped)."""

    id: str
    source: str
    commit: str
    branch: str | None = None
    mode: str | None = None
    state: str
    files: list[SyncedFile] | None = None
    summary: Json | None = None
    errors: list[str] | None = None
    message: str | None = None
    malformed: bool | None = None
    started_at: int | None = None
    finished_at: int | None = None


class SyncStarted(SpinnakerDocument):
    """A manual sync: the branch head it synced and the sync's id (``null`` when there was no commit)."""

    source: str
    commit: str | None
    started: bool
    sync_id: str | None


class RenderRequest(SpinnakerDocument):
    """A dinghyfile to render as a PR check would, with the modules it may use (path to text)."""

    dinghyfile: str
    path: str | None = None
    modules: dict[str, str] | None = None
    local_modules: dict[str, str] | None = None
    format: str | None = None
    raw_data: Json | None = None


class Rendered(SpinnakerDocument):
    """The rendered document and the module paths it used."""

    document: Json
    modules: list[str]
    local_modules: list[str]


class ApplyRequest(SpinnakerDocument):
    """``POST /apply/plan``: the desired pipeline configs."""

    pipelines: list[PipelineConfig]


class PlannedChange(SpinnakerDocument):
    """A pipeline to create, update (with its ``diff``) or delete."""

    action: str
    application: str | None = None
    name: str | None = None
    id: str | None = None
    diff: list[Json] | None = None  # {path, old, new}


class ApplyPlan(SpinnakerDocument):
    """What ``gennaker apply`` would change; ``changed`` false when nothing would."""

    changed: bool
    counts: dict[str, int]
    changes: list[PlannedChange]
    unchanged: list[str]

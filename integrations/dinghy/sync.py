"""What one sync does, outside Temporal: find the dinghyfiles a push touches, render them, check them, and (on
the live branch) write them in one store transaction. ``run_sync`` is what the sync activity calls.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from core.fields import parse_boolean
from core.settings.dinghy import DinghySettings, DinghySourceSettings
from core.store.dinghy import planned_id

from .gitrepo import GitError, Repo
from .gotemplate import DinghyTemplateError
from .render import Context, MalformedDocumentError, render

Doc = dict[str, Any]
APP_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")  # Front50's application names


@dataclass
class SyncRequest:
    """One sync: a source at a commit. ``kind``: push (a webhook), poll, modules (the template repo changed)."""

    source: str
    commit: str = ""
    branch: str = ""
    before: str = ""
    kind: str = "push"
    modules: list[str] = field(default_factory=list)  # template-repo paths that changed (kind "modules")
    raw_data: Doc = field(default_factory=dict)
    user: str = "dinghy"
    id: str = ""  # the workflow id; default ``sync_id(source, commit)``
    live: bool = True  # the branch is the source's live branch (only chooses the pending status's text)


@dataclass
class SyncResult:
    id: str
    source: str
    commit: str
    branch: str
    mode: str  # live | validate
    state: str  # succeeded | failed | skipped
    files: list[Doc] = field(default_factory=list)  # {path, state, error?, pipelines}
    summary: Doc = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    message: str = ""
    malformed: bool = False  # a JSON/YAML or template error (GitHub status "failure" rather than "error")

    def to_json(self) -> Doc:
        return asdict(self)


def sync_id(source: str, commit: str) -> str:
    """The workflow id: one sync per source and commit, so a redelivered push starts nothing new."""
    return f"dinghy-{source}-{commit}"


def check_refs(pipeline: Doc) -> list[str]:
    """Plank's ``ValidateRefIds``: duplicate refIds, a stage requiring itself, unknown requisites (errors)."""
    errors: list[str] = []
    stages = pipeline.get("stages") or []
    if not isinstance(stages, list):
        return [f"pipeline {pipeline.get('name')!r}: stages must be a list"]
    refs = [str(s.get("refId")) for s in stages if isinstance(s, dict) and s.get("refId") is not None]
    for ref in sorted({r for r in refs if refs.count(r) > 1}):
        errors.append(f"pipeline {pipeline.get('name')!r}: duplicate stage refId {ref!r}")
    for stage in stages:
        if not isinstance(stage, dict):
            errors.append(f"pipeline {pipeline.get('name')!r}: every stage must be an object")
            continue
        for req in stage.get("requisiteStageRefIds") or []:
            if str(req) == str(stage.get("refId")):
                errors.append(f"pipeline {pipeline.get('name')!r}: stage {stage.get('refId')!r} requires itself")
            elif str(req) not in refs:
                errors.append(
                    f"pipeline {pipeline.get('name')!r}: stage {stage.get('refId')!r} requires unknown {req!r}"
                )
    return errors


def check_document(path: str, doc: Doc) -> tuple[Doc, list[str]]:
    """The rendered dinghyfile's fields, normalised (pipelines' ``application`` defaulted), and its errors."""
    errors: list[str] = []
    app = doc.get("application")
    if not isinstance(app, str) or not app.strip():
        return {}, [f"{path}: application: required (a non-empty string)"]
    if not APP_NAME.match(app.strip()):
        return {}, [f"{path}: application: {app!r} may contain only letters, digits, '.', '_' and '-'"]
    pipelines = doc.get("pipelines", [])
    if not isinstance(pipelines, list):
        return {}, [f"{path}: pipelines: must be a list"]
    out: list[Doc] = []
    names: set[str] = set()
    for i, p in enumerate(pipelines):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
            errors.append(f"{path}: pipelines[{i}].name: required (a non-empty string)")
            continue
        p = {**p, "application": p.get("application") or app}
        if not isinstance(p["application"], str) or not APP_NAME.match(p["application"]):
            errors.append(f"{path}: pipelines[{i}].application: must be an application name")
            continue
        key = f"{str(p['application']).lower()}/{p['name'].lower()}"
        if key in names:
            errors.append(f"{path}: pipelines[{i}].name: {p['name']!r} appears twice")
        names.add(key)
        errors.extend(f"{path}: {e}" for e in check_refs(p))
        p.pop("id", None)
        out.append(p)
    raw_spec, raw_glob = doc.get("spec"), doc.get("globals")
    spec: Doc = raw_spec if isinstance(raw_spec, dict) else {}
    glob: Doc = raw_glob if isinstance(raw_glob, dict) else {}
    save = parse_boolean(glob.get("save_app_on_update"))
    perms = spec.get("permissions")
    if perms is not None and not (
        isinstance(perms, dict)
        and all(isinstance(v, list) and all(isinstance(r, str) for r in v) for v in perms.values())
    ):
        errors.append(f"{path}: spec.permissions: must map READ/WRITE/EXECUTE to lists of roles")
    spec = {**spec, "name": spec.get("name") or app}
    return {
        "application": app.strip().lower(),
        "spec": spec,
        "saveApp": save,
        "deleteStale": doc.get("deleteStalePipelines") is True,
        "pipelines": out,
    }, errors


class Syncer:
    """Runs syncs for the configured sources against the store."""

    def __init__(self, settings: DinghySettings, store: Any) -> None:
        self.settings, self.store, self.dinghy = settings, store, store.dinghy

    def _templates(self) -> tuple[Repo | None, str | None]:
        t = self.settings.templates
        if t is None:
            return None, None
        repo = Repo(t.url, self.settings.cache_dir)
        repo.sync()
        return repo, repo.head(t.branch)

    def run(self, req: SyncRequest) -> SyncResult:
        src = self.settings.source(req.source)
        if src is None:
            raise ValueError(f"source: no dinghy source named {req.source!r}")
        repo = Repo(src.url, self.settings.cache_dir)
        repo.sync()
        branch = req.branch or src.branch
        commit = req.commit or repo.head(branch) or ""
        mode = "live" if branch == src.branch else "validate"
        result = SyncResult(req.id or sync_id(src.name, commit), src.name, commit, branch, mode, "succeeded")
        if not commit or not repo.has_commit(commit):
            result.state, result.message = "failed", f"commit {commit or '(none)'} is not on {branch}"
            result.errors.append(result.message)
            return result
        if mode == "live" and req.kind in ("push", "poll"):
            # compare with the last commit applied, not the push's "before": a failed push wrote nothing, so what
            # it changed must be rendered again by the next one
            req = dataclasses.replace(req, before=self._last_applied(src.name, result.id, repo))
        paths, removed = self._targets(src, repo, req, commit)
        if not paths and not removed:
            result.state, result.message = "skipped", "No changes in dinghyfile."
            return result
        templates, template_head = self._templates()
        reserved: dict[tuple[str, str], str] = {}

        def pipeline_id(app: str, name: str) -> str:
            try:
                return str(self.store.pipelines.get_by_name(app, name)["id"])
            except Exception:  # noqa: BLE001 - not stored yet: the id it will get in this push
                pid = planned_id(src.name, app, name)
                reserved[(app.lower(), name.lower())] = pid
                return pid

        files: list[Doc] = []
        for path in paths:
            entry: Doc = {"path": path, "state": "succeeded", "pipelines": []}
            result.files.append(entry)
            raw = req.raw_data if req.kind != "modules" else (self.dinghy.raw_data(src.name, path) or {})
            owner, _, name = (src.project, "", src.slug)
            ctx = Context(
                load_module=(lambda p: templates.read(template_head, p))
                if templates and template_head
                else (lambda p: None),
                load_local=lambda p: repo.read(commit, p),
                dot={"RawData": raw, "Org": owner, "Repo": name, "Path": path, "Branch": branch},
                pipeline_id=pipeline_id,
                format=src.format,
            )
            text = repo.read(commit, path) or ""
            try:
                rendered = render(path, text, ctx)
            except DinghyTemplateError as err:
                entry.update(state="failed", error=err.text())
                result.errors.append(err.text())
                result.malformed = result.malformed or isinstance(err, MalformedDocumentError)
                continue
            except (GitError, RecursionError) as err:
                entry.update(state="failed", error=f"{path}: {err}")
                result.errors.append(entry["error"])
                continue
            doc, errors = check_document(path, rendered.document)
            if errors:
                entry.update(state="failed", error="; ".join(errors))
                result.errors.extend(errors)
                continue
            entry["pipelines"] = [p["name"] for p in doc["pipelines"]]
            files.append({**doc, "path": path, "modules": rendered.modules, "localModules": rendered.local_modules,
                          "rawData": raw if req.kind != "modules" else None})  # fmt: skip
        if result.errors:
            result.state = "failed"
            result.message = f"{len(result.errors)} error(s); nothing was changed: {result.errors[0]}"[:1000]
            return result
        if mode == "validate":
            result.message = "Pipeline definitions validation was successful!"
            return result
        made = {(str(p["application"]).lower(), p["name"].lower()) for f in files for p in f["pipelines"]}
        for (app, name), _pid in sorted(reserved.items()):
            if (app, name) not in made and files:
                files[0].setdefault("placeholders", []).append({"application": app, "name": name})
        for path in removed:
            files.append({"path": path, "removed": True})
        result.summary = self.dinghy.apply_push(src.name, commit, files, req.user, lock=src.lock_pipelines)
        result.message = "Pipeline definitions updated!"
        return result

    def _last_applied(self, source: str, current: str, repo: Repo) -> str:
        for sync in self.dinghy.list_syncs(source, 200):
            if (
                sync.get("id") != current and sync.get("mode") == "live"
                and sync.get("state") in ("succeeded", "skipped") and "-modules-" not in str(sync.get("id"))
                and repo.has_commit(str(sync.get("commit")))
            ):  # fmt: skip
                return str(sync["commit"])
        return ""

    def _targets(
        self, src: DinghySourceSettings, repo: Repo, req: SyncRequest, commit: str
    ) -> tuple[list[str], list[str]]:
        """Dinghyfiles to render, and dinghyfiles deleted by the push (their pipelines go too, on the live branch)."""

        def is_dinghyfile(p: str) -> bool:
            return posixpath.basename(p) == src.dinghyfile

        if req.kind == "modules":
            existing = set(repo.files(commit))
            return [p for p in self.dinghy.dependents(src.name, "module", req.modules) if p in existing], []
        changes = repo.changes(req.before, commit)
        if changes is None:
            return sorted(p for p in repo.files(commit) if is_dinghyfile(p)), []
        touched = sorted({c.path for c in changes if c.status in "AM" and is_dinghyfile(c.path)})
        locals_changed = [c.path for c in changes if not is_dinghyfile(c.path)]
        existing = set(repo.files(commit))
        for p in self.dinghy.dependents(src.name, "local", locals_changed):
            if p in existing and p not in touched:
                touched.append(p)  # a local module changed: its dinghyfiles follow (Dinghy leaves them stale)
        removed = sorted({c.path for c in changes if c.status == "D" and is_dinghyfile(c.path)})
        return sorted(touched), removed

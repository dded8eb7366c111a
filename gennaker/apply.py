"""``gennaker apply -f PATH``: pipelines kept as files (JSON, YAML, or Python modules built with the SDK) made true
in Gate, terraform-style: a plan (create, update with a field-level diff, delete with ``--prune``), then the writes.

Exit codes: 0 applied (or nothing to do; ``--dry-run`` with no changes), 2 ``--dry-run`` with changes planned or bad
input (the message names the file), 1 a failed apply. ``compute_plan`` is pure and also serves ``POST /apply/plan``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import SdkError

Json = dict[str, Any]
#: what the server writes on save; never part of a diff
SERVER_FIELDS = ("id", "lastModified", "updateTs", "lastModifiedBy", "index", "createTs")
EXTENSIONS = (".json", ".yaml", ".yml", ".py")


class ApplyError(SdkError):
    """Bad input: the message names the file (and the field)."""


@dataclass
class Change:
    action: str  # create | update | delete
    application: str
    name: str
    id: str | None = None
    diff: list[Json] = field(default_factory=list)  # {path, old, new} for updates
    config: Json | None = None

    def to_json(self) -> Json:
        out: Json = {"action": self.action, "application": self.application, "name": self.name}
        if self.id:
            out["id"] = self.id
        if self.action == "update":
            out["diff"] = self.diff
        return out


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> Json:
        counts = {a: sum(c.action == a for c in self.changes) for a in ("create", "update", "delete")}
        return {"changed": self.changed, "counts": counts, "changes": [c.to_json() for c in self.changes],
                "unchanged": self.unchanged}  # fmt: skip


# ---- reading files -------------------------------------------------------------------------------------------


def _configs_of(value: Any, where: str) -> list[Json]:
    """A pipeline, a list of them, or ``{"pipelines": [...]}`` (a dinghyfile-like document)."""
    from gennaker.pipelines import Pipeline

    if isinstance(value, Pipeline):
        return [value.to_json()]
    if isinstance(value, dict) and isinstance(value.get("pipelines"), list) and "stages" not in value:
        app = value.get("application")
        return [{"application": app, **p} if isinstance(p, dict) and app else p for p in value["pipelines"]]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list | tuple):
        return [c for i, item in enumerate(value) for c in _configs_of(item, f"{where}[{i}]")]
    raise ApplyError(f"{where}: expected a pipeline object or a list of pipelines, got {type(value).__name__}")


def _python(path: Path) -> list[Json]:
    """Pipelines a Python module builds with the SDK: ``PIPELINES``, ``pipelines()``, or every module-level
    ``Pipeline`` (and list of them)."""
    from gennaker.pipelines import Pipeline

    spec = importlib.util.spec_from_file_location(f"gennaker_apply_{uuid.uuid4().hex}", path)
    if spec is None or spec.loader is None:
        raise ApplyError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - the user's module: its error, named
        raise ApplyError(f"{path}: importing it failed: {type(err).__name__}: {err}") from None
    if hasattr(module, "PIPELINES"):
        found: Any = module.PIPELINES
    elif callable(getattr(module, "pipelines", None)):
        found = module.pipelines()
    else:
        found = [
            v for k, v in vars(module).items() if not k.startswith("_") and (
                isinstance(v, Pipeline) or (isinstance(v, list) and v and all(isinstance(i, Pipeline) for i in v)))
        ]  # fmt: skip
    try:
        return _configs_of(found, str(path))
    except (ValueError, TypeError) as err:
        raise ApplyError(f"{path}: {err}") from None


def load_file(path: Path) -> list[Json]:
    from core import safe_yaml

    if path.suffix == ".py":
        return _python(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ApplyError(f"{path}: cannot be read: {err}") from None
    if path.suffix == ".json":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise ApplyError(f"{path}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    else:
        try:
            value = safe_yaml.load(text)
        except Exception as err:  # noqa: BLE001 - yaml's errors carry the position
            raise ApplyError(f"{path}: invalid YAML: {err}") from None
    return _configs_of(value, str(path))


def load_path(path: Path) -> list[Json]:
    """Every pipeline under ``path`` (a file, or a directory walked in name order), each checked and normalised."""
    if not path.exists():
        raise ApplyError(f"{path}: no such file or directory")
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix in EXTENSIONS and not p.name.startswith(("_", "."))
    )  # fmt: skip
    out: list[Json] = []
    seen: dict[tuple[str, str], str] = {}
    for f in files:
        if f.suffix not in EXTENSIONS:
            raise ApplyError(f"{f}: not a .json, .yaml, .yml or .py file")
        for i, config in enumerate(load_file(f)):
            doc = normalise(config, f"{f}: pipeline {i}")
            key = (doc["application"].lower(), doc["name"].lower())
            if key in seen:
                raise ApplyError(f"{f}: pipeline {doc['name']!r} of {doc['application']!r} is also in {seen[key]}")
            seen[key] = str(f)
            out.append(doc)
    return out


def normalise(config: Any, where: str) -> Json:
    if not isinstance(config, dict):
        raise ApplyError(f"{where}: a pipeline must be an object")
    for key in ("application", "name"):
        if not isinstance(config.get(key), str) or not config[key].strip():
            raise ApplyError(f"{where}: {key}: required (a non-empty string)")
    return {k: v for k, v in config.items() if k not in SERVER_FIELDS}


# ---- planning ------------------------------------------------------------------------------------------------


def diff(old: Any, new: Any, path: str = "") -> list[Json]:
    """Field-level differences: objects key by key, lists of equal length item by item, else the whole value."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Json] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append({"path": sub, "new": new[key]})
            elif key not in new:
                out.append({"path": sub, "old": old[key]})
            else:
                out.extend(diff(old[key], new[key], sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True)) for d in diff(a, b, f"{path}[{i}]")]
    return [] if old == new else [{"path": path, "old": old, "new": new}]


def compute_plan(desired: list[Json], stored: list[Json], *, prune: bool = False) -> Plan:
    """The changes that make ``stored`` (Gate's pipelines of the applications in ``desired``) match ``desired``."""
    by_key = {(str(p.get("application", "")).lower(), str(p.get("name", "")).lower()): p for p in stored}
    plan = Plan()
    wanted: set[tuple[str, str]] = set()
    for config in desired:
        key = (config["application"].lower(), config["name"].lower())
        wanted.add(key)
        current = by_key.get(key)
        if current is None:
            plan.changes.append(Change("create", config["application"], config["name"], config=config))
            continue
        bare = {k: v for k, v in current.items() if k not in SERVER_FIELDS}
        changes = diff(bare, config)
        if changes:
            plan.changes.append(Change("update", config["application"], config["name"], current.get("id"), changes,
                                       {**config, "id": current.get("id")}))  # fmt: skip
        else:
            plan.unchanged.append(f"{config['application']}/{config['name']}")
    if prune:
        apps = {k[0] for k in wanted}
        for key, current in sorted(by_key.items()):
            if key[0] in apps and key not in wanted:
                plan.changes.append(
                    Change("delete", str(current["application"]), str(current["name"]), current.get("id"))
                )
    return plan


def render_plan(plan: Plan) -> str:
    lines = []
    for c in plan.changes:
        sign = {"create": "+", "update": "~", "delete": "-"}[c.action]
        lines.append(f"{sign} {c.action} {c.application}/{c.name}")
        for d in c.diff:
            old = json.dumps(d["old"]) if "old" in d else "(absent)"
            new = json.dumps(d["new"]) if "new" in d else "(absent)"
            lines.append(f"    {d['path']}: {old} -> {new}")
    counts = plan.to_json()["counts"]
    lines.append(
        f"Plan: {counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete, "
        f"{len(plan.unchanged)} unchanged."
    )
    return "\n".join(lines)


# ---- the command ---------------------------------------------------------------------------------------------


def add_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser("apply", help="make Gate's pipelines match files (JSON, YAML or SDK modules)")
    p.add_argument("-f", "--file", dest="path", type=Path, required=True, help="a file or a directory")
    p.add_argument("--gate", help="Gate's URL (default: the API from settings)")
    p.add_argument("--prune", action="store_true", help="delete pipelines of those applications not in the files")
    p.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    p.add_argument("--dry-run", action="store_true", help="only print the plan; exit 2 when it has changes")
    return p


def run(args: argparse.Namespace, settings: Any) -> int:
    from .client import Client, GateError
    from .commands import gate_url

    if settings is None:
        return 2
    try:
        desired = load_path(args.path)
    except ApplyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        with Client(gate_url(settings, args.gate)) as client:
            apps = sorted({p["application"].lower() for p in desired})
            stored = [p for app in apps for p in (client.pipelines(app) or [])]
            plan = compute_plan(desired, stored, prune=args.prune)
            print(render_plan(plan))
            if args.dry_run:
                return 2 if plan.changed else 0
            if not plan.changed:
                return 0
            if not args.yes:
                print("Apply these changes? Only 'yes' is accepted: ", end="", flush=True)
                if sys.stdin.readline().strip() != "yes":
                    print("Apply cancelled.", file=sys.stderr)
                    return 1
            for change in plan.changes:
                if change.action == "delete":
                    client.delete_pipeline(change.application, change.name)
                else:
                    client.save_pipeline(change.config)
                print(f"{change.action}d {change.application}/{change.name}")
    except GateError as err:
        print(f"error: {getattr(err, 'message', err)}", file=sys.stderr)
        return 1
    return 0

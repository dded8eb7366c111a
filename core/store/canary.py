"""Kayenta's storage in Gennaker's store: canary configs per application, canary runs with their results, and
the metric sets and metric-set-pair lists runs fetched. Each method is one transaction returning plain dicts;
documents are JSON text, so unknown keys round-trip. NaN values are stored as null."""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from .errors import NotFoundError, ValidationError
from .session import Database

Doc = dict[str, Any]
_META = sa.MetaData()
KEY = sa.String(255)
CONFIGS = sa.Table(
    "canary_configs", _META, sa.Column("id", KEY, primary_key=True), sa.Column("name", KEY),
    sa.Column("updated_at", sa.BigInteger), sa.Column("body", sa.Text),
)  # fmt: skip
CONFIG_APPS = sa.Table(
    "canary_config_applications", _META, sa.Column("config_id", KEY, primary_key=True),
    sa.Column("application", KEY, primary_key=True), sa.Column("name", KEY),
)  # fmt: skip
RUNS = sa.Table(
    "canary_runs", _META, sa.Column("id", KEY, primary_key=True), sa.Column("application", KEY),
    sa.Column("parent_execution_id", KEY), sa.Column("config_id", KEY), sa.Column("status", sa.String(32)),
    sa.Column("build_time", sa.BigInteger), sa.Column("updated_at", sa.BigInteger), sa.Column("body", sa.Text),
    sa.Column("result", sa.Text),
)  # fmt: skip
SETS = sa.Table(
    "canary_metric_sets", _META, sa.Column("id", KEY, primary_key=True), sa.Column("run_id", KEY),
    sa.Column("kind", sa.String(32)), sa.Column("created_at", sa.BigInteger), sa.Column("body", sa.Text),
)  # fmt: skip
#: Kayenta's pattern (its character class admits ',' too, by accident; so do we, to accept what it accepts)
MAX_MS = 253_402_300_800_000  # year 10000
CONFIG_NAME = re.compile(r"^[A-Za-z0-9,\-_]*$")


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(millis: int) -> str:
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{millis % 1000:03d}Z" if millis % 1000 else "Z")


def _clean(value: Any) -> Any:
    """NaN and ±Inf are not JSON: stored (and served) as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(_clean(value), separators=(",", ":"), allow_nan=False)


def validate_config(config: Any) -> Doc:
    """Kayenta's checks on save, with its messages: a name of letters, digits, '-' and '_', at least one
    application, named and unique metrics."""
    if not isinstance(config, dict):
        raise ValidationError("a canary config must be a JSON object", field="body")
    name = config.get("name")
    if not name or not isinstance(name, str):
        raise ValidationError("Canary config must specify a name.", field="name")
    applications = config.get("applications")
    if not isinstance(applications, list) or not applications:
        raise ValidationError("Canary config must specify at least one application.", field="applications")
    if not all(isinstance(a, str) and a for a in applications):
        raise ValidationError("applications must be a list of application names", field="applications")
    if not CONFIG_NAME.match(name):
        raise ValidationError(
            f"Canary config cannot be named '{name}'. Names must contain only letters, numbers, dashes (-) and "
            "underscores (_).",
            field="name",
        )
    for key in ("createdTimestamp", "updatedTimestamp"):
        value = config.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_MS):
            raise ValidationError(f"{key} must be epoch milliseconds", field=key)
    metrics = config.get("metrics")
    if metrics is not None and not isinstance(metrics, list):
        raise ValidationError("metrics must be a list", field="metrics")
    seen: set[str] = set()
    for metric in metrics or []:
        metric_name = metric.get("name") if isinstance(metric, dict) else None
        if not metric_name:
            raise ValidationError("Metric config must specify a name.", field="metrics")
        if metric_name in seen:
            raise ValidationError(f"Metric config name must be unique. '{metric_name}' is duplicated.", field="metrics")
        seen.add(metric_name)
    return config


class CanaryStore:
    """Kayenta's objects in the store's database (shares its engine and transactions)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _session(self, write: bool = False, conflict: str | None = None) -> Any:
        return self._db.session(write=write, conflict=conflict)

    # ---- configs ---------------------------------------------------------------------------------------------

    def list_configs(self, applications: list[str] | None = None) -> list[Doc]:
        """Kayenta's summaries ``{id, name, updatedTimestamp, updatedTimestampIso, applications}``."""
        query = sa.select(CONFIGS.c.body).order_by(CONFIGS.c.name)
        if applications:
            ids = sa.select(CONFIG_APPS.c.config_id).where(CONFIG_APPS.c.application.in_(applications))
            query = query.where(CONFIGS.c.id.in_(ids))
        with self._session() as s:
            docs = [json.loads(b) for b in s.scalars(query)]
        return [
            {
                "id": d.get("id"),
                "name": d.get("name"),
                "updatedTimestamp": d.get("updatedTimestamp"),
                "updatedTimestampIso": d.get("updatedTimestampIso"),
                "applications": d.get("applications"),
            }
            for d in docs
        ]

    def get_config(self, config_id: str) -> Doc:
        with self._session() as s:
            body = s.scalar(sa.select(CONFIGS.c.body).where(CONFIGS.c.id == config_id))
        if body is None:
            raise NotFoundError(f"No canary config found with id '{config_id}'.")
        return json.loads(body)  # type: ignore[no-any-return]

    def config_ids_by_name(self, name: str, application: str) -> list[str]:
        with self._session() as s:
            query = sa.select(CONFIG_APPS.c.config_id).where(
                CONFIG_APPS.c.name == name, CONFIG_APPS.c.application == application
            )
            return [str(i) for i in s.scalars(query)]

    def create_config(self, config: Doc) -> Doc:
        config = validate_config(dict(config))
        now = now_ms()
        if config.get("createdTimestamp") is None:
            config["createdTimestamp"] = now
        if config.get("updatedTimestamp") is None:
            config["updatedTimestamp"] = config["createdTimestamp"]
        config["createdTimestampIso"] = iso(int(config["createdTimestamp"]))
        config["updatedTimestampIso"] = iso(int(config["updatedTimestamp"]))
        if not config.get("id"):
            config["id"] = str(uuid.uuid4())
        with self._session(write=True, conflict=f"Canary config '{config['id']}' already exists.") as s:
            if s.scalar(sa.select(CONFIGS.c.id).where(CONFIGS.c.id == config["id"])) is not None:
                raise ValidationError(f"Canary config '{config['id']}' already exists.", field="id")
            self._check_name(s, config, str(config["id"]))
            s.execute(
                sa.insert(CONFIGS).values(id=config["id"], name=config["name"], updated_at=now, body=dumps(config))
            )
            self._write_apps(s, config)
        return config

    def update_config(self, config_id: str, config: Doc) -> Doc:
        config = validate_config(dict(config))
        now = now_ms()
        config["updatedTimestamp"] = now
        config["updatedTimestampIso"] = iso(now)
        if not config.get("id"):
            config["id"] = config_id
        with self._session(write=True) as s:
            if s.scalar(sa.select(CONFIGS.c.id).where(CONFIGS.c.id == config_id)) is None:
                raise ValidationError(f"Canary config '{config_id}' does not exist.", field="id")
            self._check_name(s, config, config_id)
            s.execute(sa.update(CONFIGS).where(CONFIGS.c.id == config_id).values(
                name=config["name"], updated_at=now, body=dumps(config)))  # fmt: skip
            s.execute(sa.delete(CONFIG_APPS).where(CONFIG_APPS.c.config_id == config_id))
            self._write_apps(s, {**config, "id": config_id})
        return config

    def delete_config(self, config_id: str) -> None:
        with self._session(write=True) as s:
            s.execute(sa.delete(CONFIG_APPS).where(CONFIG_APPS.c.config_id == config_id))
            if s.execute(sa.delete(CONFIGS).where(CONFIGS.c.id == config_id)).rowcount == 0:
                raise NotFoundError(f"No canary config found with id '{config_id}'.")

    @staticmethod
    def _check_name(s: Any, config: Doc, config_id: str) -> None:
        query = sa.select(CONFIG_APPS.c.config_id).where(
            CONFIG_APPS.c.name == config["name"],
            CONFIG_APPS.c.application.in_(config["applications"]),
            CONFIG_APPS.c.config_id != config_id,
        )
        if s.scalar(query) is not None:
            raise ValidationError(
                f"Canary config with name '{config['name']}' already exists in the scope of applications "
                f"{config['applications']}.",
                field="name",
            )

    @staticmethod
    def _write_apps(s: Any, config: Doc) -> None:
        for application in dict.fromkeys(config["applications"]):
            s.execute(sa.insert(CONFIG_APPS).values(config_id=config["id"], application=application,
                                                    name=config["name"]))  # fmt: skip

    # ---- runs ------------------------------------------------------------------------------------------------

    def create_run(self, run: Doc) -> Doc:
        """A new run (``id``, ``application``, ``status`` 'RUNNING', its config and request in the body)."""
        now = now_ms()
        with self._session(write=True) as s:
            s.execute(sa.insert(RUNS).values(
                id=run["id"], application=run["application"], parent_execution_id=run.get("parentPipelineExecutionId"),
                config_id=run.get("canaryConfigId"), status=run["status"], build_time=run["buildTimeMillis"],
                updated_at=now, body=dumps(run), result=None))  # fmt: skip
        return run

    def get_run(self, run_id: str) -> Doc:
        with self._session() as s:
            row = s.execute(sa.select(RUNS.c.body, RUNS.c.result).where(RUNS.c.id == run_id)).first()
        if row is None:
            raise NotFoundError(f"No canary execution found with id '{run_id}'.")
        doc: Doc = json.loads(row.body)
        if row.result is not None:
            doc["result"] = json.loads(row.result)
        return doc

    def update_run(self, run_id: str, changes: Doc, result: Doc | None = None) -> Doc:
        """Merge ``changes`` into the run (``stageStatus`` entries merged one by one); ``result`` when done."""
        with self._session(write=True) as s:
            body = s.scalar(sa.select(RUNS.c.body).where(RUNS.c.id == run_id).with_for_update())
            if body is None:
                raise NotFoundError(f"No canary execution found with id '{run_id}'.")
            doc: Doc = json.loads(body)
            stages = {**doc.get("stageStatus", {}), **changes.pop("stageStatus", {})}
            doc.update(changes)
            doc["stageStatus"] = stages
            values: Doc = {"body": dumps(doc), "status": doc["status"], "updated_at": now_ms()}
            if result is not None:
                values["result"] = dumps(result)
            s.execute(sa.update(RUNS).where(RUNS.c.id == run_id).values(**values))
        return doc

    def list_runs(
        self, application: str, limit: int = 20, page: int = 1, statuses: list[str] | None = None
    ) -> list[Doc]:
        query = sa.select(RUNS.c.id).where(RUNS.c.application == application)
        if statuses:
            query = query.where(RUNS.c.status.in_([x.upper() for x in statuses]))
        query = query.order_by(RUNS.c.build_time.desc(), RUNS.c.id.desc()).limit(limit).offset((page - 1) * limit)
        with self._session() as s:
            ids = list(s.scalars(query))
        return [self.get_run(i) for i in ids]

    # ---- metric sets and pairs -------------------------------------------------------------------------------

    def save_metric_sets(self, run_id: str | None, kind: str, values: list[Doc]) -> str:
        """Store a metric set list or a metric-set-pair list; returns its id."""
        list_id = str(uuid.uuid4())
        with self._session(write=True) as s:
            s.execute(sa.insert(SETS).values(id=list_id, run_id=run_id, kind=kind, created_at=now_ms(),
                                             body=dumps(values)))  # fmt: skip
        return list_id

    def metric_set_run(self, list_id: str) -> str | None:
        """The run a metric set (pair) list belongs to (None for lists stored on their own)."""
        with self._session() as s:
            return s.scalar(sa.select(SETS.c.run_id).where(SETS.c.id == list_id))  # type: ignore[no-any-return]

    def get_metric_sets(self, list_id: str, kind: str | None = None) -> list[Doc]:
        with self._session() as s:
            row = s.execute(sa.select(SETS.c.body, SETS.c.kind).where(SETS.c.id == list_id)).first()
        if row is None or (kind is not None and row.kind != kind):
            raise NotFoundError(f"No {kind or 'metric set list'} found with id '{list_id}'.")
        return json.loads(row.body)  # type: ignore[no-any-return]

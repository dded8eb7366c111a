"""Executions are projected row by row: a header row (with a version, engine data and the finish claim) plus one
row per stage, so the engine writes only what changed at each transition. Existing executions' stages move into
the new rows here.

Revision ID: 0009_execution_projection
Revises: 0008_auth
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009_execution_projection"
down_revision = "0008_auth"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they are at this revision.
KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
FINISHED = {"SUCCEEDED", "FAILED_CONTINUE", "TERMINAL", "CANCELED", "STOPPED", "SKIPPED"}
BATCH = 200

executions = sa.table(
    "executions",
    sa.column("id", KEY),
    sa.column("status", sa.String(32)),
    sa.column("body", BODY),
    sa.column("summary", BODY),
    sa.column("finished_version", sa.BigInteger),
    sa.column("handled_version", sa.BigInteger),
)
stages_table = sa.table(
    "execution_stages",
    sa.column("execution_id", KEY),
    sa.column("stage_id", KEY),
    sa.column("seq", sa.BigInteger),
    sa.column("version", sa.BigInteger),
    sa.column("body", BODY),
    sa.column("summary", BODY),
)


def _dumps(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _stage_summary(stage: dict[str, Any]) -> dict[str, Any]:
    context = stage.get("context")
    group = context.get("group") if isinstance(context, dict) else None
    return {**stage, "context": {"group": group} if group is not None else {}, "outputs": {}, "tasks": []}


def stage_key(stage: Any, index: int, seen: set[str]) -> str:
    """The stage's id, or a stand-in for a legacy stage without one (or with a duplicate)."""
    sid = stage.get("id") if isinstance(stage, dict) else None
    key = sid if isinstance(sid, str) and sid and len(sid) <= 255 and sid not in seen else f"~{index}"
    seen.add(key)
    return key


def upgrade() -> None:
    op.add_column("executions", sa.Column("version", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("executions", sa.Column("engine", BODY, nullable=True))
    op.add_column("executions", sa.Column("finished_version", sa.BigInteger, nullable=True))
    op.add_column("executions", sa.Column("handled_version", sa.BigInteger, nullable=True))
    op.create_table(
        "execution_stages",
        sa.Column("execution_id", KEY, primary_key=True),
        sa.Column("stage_id", KEY, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=True),
        sa.Column("summary", BODY, nullable=True),
        **MYSQL,
    )
    _move_stages(op.get_bind())


def _move_stages(conn: sa.engine.Connection) -> None:
    """Split every stored execution into its header and stage rows, a batch at a time (keyset by id)."""
    last = ""
    while True:
        rows = conn.execute(
            sa.select(executions.c.id, executions.c.status, executions.c.body)
            .where(executions.c.id > last)
            .order_by(executions.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for eid, status, body in rows:
            _split(conn, eid, status, body)
        last = rows[-1][0]


def _split(conn: sa.engine.Connection, eid: str, status: str, body: str) -> None:
    try:
        doc = json.loads(body)
    except ValueError:
        return
    if not isinstance(doc, dict):
        return
    stages = doc.pop("stages", None)
    stages = stages if isinstance(stages, list) else []
    seen: set[str] = set()
    rows = [
        {
            "execution_id": eid,
            "stage_id": stage_key(stage, i, seen),
            "seq": i,
            "version": 0,
            "body": _dumps(stage),
            "summary": _dumps(_stage_summary(stage) if isinstance(stage, dict) else stage),
        }
        for i, stage in enumerate(stages)
    ]
    if rows:
        conn.execute(stages_table.insert(), rows)
    finished = status in FINISHED
    summary = None
    if finished:
        summary = _dumps({**doc, "stages": [_stage_summary(s) if isinstance(s, dict) else s for s in stages]})
    conn.execute(
        executions.update()
        .where(executions.c.id == eid)
        .values(
            body=_dumps(doc),
            summary=summary,
            finished_version=0 if finished else None,
            handled_version=0 if finished else None,  # the previous release ran their triggers already
        )
    )


def downgrade() -> None:
    conn = op.get_bind()
    ids = [r[0] for r in conn.execute(sa.select(executions.c.id))]
    for eid in ids:
        body = conn.execute(sa.select(executions.c.body).where(executions.c.id == eid)).scalar_one()
        doc = json.loads(body)
        found = conn.execute(
            sa.select(stages_table.c.body)
            .where(stages_table.c.execution_id == eid, stages_table.c.body.is_not(None))
            .order_by(stages_table.c.seq, stages_table.c.stage_id)
        ).scalars()
        doc["stages"] = [json.loads(b) for b in found]
        conn.execute(executions.update().where(executions.c.id == eid).values(body=_dumps(doc)))
    op.drop_table("execution_stages")
    for column in ("handled_version", "finished_version", "engine", "version"):
        op.drop_column("executions", column)

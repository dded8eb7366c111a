"""Tombstones of deleted executions, and the trigger events each pipeline has already started from.

Revision ID: 0003_tombstones_events
Revises: 0002_execution_summary
Create Date: 2026-11-22
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003_tombstones_events"
down_revision = "0002_execution_summary"
branch_labels = None
depends_on = None

KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "deleted_executions",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("deleted_at", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_table(
        "trigger_events",
        sa.Column("event_key", KEY, primary_key=True),
        sa.Column("pipeline_config_id", KEY, primary_key=True),
        sa.Column("execution_id", KEY, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("trigger_events")
    op.drop_table("deleted_executions")

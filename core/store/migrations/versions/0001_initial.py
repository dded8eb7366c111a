"""Initial schema: applications, pipeline configs and their history, projects, executions.

Revision ID: 0001_initial
Revises:
Create Date: 2025-06-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types in api/store/models.py as they were at this revision.
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# MySQL: InnoDB, and utf8mb4 whatever the database default (pipeline JSON carries any Unicode).
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("name", KEY, primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
        **MYSQL,
    )
    op.create_table(
        "pipeline_configs",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("id", KEY, primary_key=True),
        sa.Column("application", KEY, nullable=False),
        sa.Column("name", KEY, nullable=False),
        sa.Column("position", sa.Integer, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_modified", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
        sa.UniqueConstraint("kind", "application", "name", name="uq_pipeline_configs_app_name"),
        **MYSQL,
    )
    op.create_table(
        "pipeline_config_history",
        sa.Column("rev", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pipeline_id", KEY, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
        **MYSQL,
    )
    op.create_index("ix_pipeline_config_history_config", "pipeline_config_history", ["kind", "pipeline_id", "rev"])
    op.create_table(
        "projects",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("name", KEY, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
        sa.UniqueConstraint("name", name="uq_projects_name"),
        **MYSQL,
    )
    op.create_table(
        "executions",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("application", KEY, nullable=False),
        sa.Column("pipeline_config_id", KEY, nullable=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("name", KEY, nullable=True),
        sa.Column("trigger_type", sa.String(64), nullable=True),
        sa.Column("build_time", sa.BigInteger, nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=True),
        sa.Column("end_time", sa.BigInteger, nullable=True),
        sa.Column("body", BODY, nullable=False),
        **MYSQL,
    )
    op.create_index("ix_executions_application_build_time", "executions", ["application", "build_time"])
    op.create_index("ix_executions_pipeline_config_id_build_time", "executions", ["pipeline_config_id", "build_time"])
    op.create_index("ix_executions_application_pipeline_config_id", "executions", ["application", "pipeline_config_id"])
    op.create_index("ix_executions_status", "executions", ["status"])


def downgrade() -> None:
    op.drop_table("executions")
    op.drop_table("projects")
    op.drop_index("ix_pipeline_config_history_config", table_name="pipeline_config_history")
    op.drop_table("pipeline_config_history")
    op.drop_table("pipeline_configs")
    op.drop_table("applications")

"""Kayenta's objects: canary configs (with the applications they belong to), canary runs with their results,
and the metric sets and metric-set-pair lists a run fetched (kept whole as JSON text).

Revision ID: 0012_canary
Revises: 0011_security
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0012_canary"
down_revision = "0011_security"
branch_labels = None
depends_on = None

KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "canary_configs",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("name", KEY, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
    )
    op.create_table(
        "canary_config_applications",
        sa.Column("config_id", KEY, sa.ForeignKey("canary_configs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("application", KEY, primary_key=True),
        sa.Column("name", KEY, nullable=False),
    )
    op.create_index("uq_canary_config_app_name", "canary_config_applications", ["application", "name"], unique=True)
    op.create_table(
        "canary_runs",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("application", KEY, nullable=False),
        sa.Column("parent_execution_id", KEY, nullable=True),
        sa.Column("config_id", KEY, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("build_time", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
        sa.Column("result", BODY, nullable=True),
    )
    op.create_index("ix_canary_runs_app_time", "canary_runs", ["application", "build_time"])
    op.create_table(
        "canary_metric_sets",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("run_id", KEY, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),  # metricSetList | metricSetPairList
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
    )
    op.create_index("ix_canary_metric_sets_run", "canary_metric_sets", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_canary_metric_sets_run", table_name="canary_metric_sets")
    op.drop_table("canary_metric_sets")
    op.drop_index("ix_canary_runs_app_time", table_name="canary_runs")
    op.drop_table("canary_runs")
    op.drop_index("uq_canary_config_app_name", table_name="canary_config_applications")
    op.drop_table("canary_config_applications")
    op.drop_table("canary_configs")

"""Dinghy: the syncs (one per source and commit), which pipelines each source created, the dinghyfile → module
graph, and each dinghyfile's last push payload (``.RawData`` when a module change re-renders it).

Revision ID: 0015_dinghy
Revises: 0014_templates
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0015_dinghy"
down_revision = "0014_templates"
branch_labels = None
depends_on = None

KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
#: source names are at most 63 characters; short keys keep MariaDB's 3072-byte index limit for the graph's key
SOURCE = sa.String(64).with_variant(mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql", "mariadb")
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "dinghy_syncs",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("source", KEY, nullable=False),
        sa.Column("commit_sha", sa.String(64), nullable=False),
        sa.Column("branch", KEY, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger, nullable=True),
        sa.Column("body", BODY, nullable=False),
    )
    op.create_index("ix_dinghy_syncs_source", "dinghy_syncs", ["source", "started_at"])
    op.create_table(
        "dinghy_pipelines",
        sa.Column("pipeline_id", KEY, primary_key=True),
        sa.Column("source", KEY, nullable=False),
        sa.Column("path", KEY, nullable=False),
        sa.Column("application", KEY, nullable=False),
    )
    op.create_index("ix_dinghy_pipelines_source", "dinghy_pipelines", ["source", "path"])
    op.create_table(
        "dinghy_deps",
        sa.Column("source", SOURCE, primary_key=True),
        sa.Column("path", KEY, primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("module", KEY, primary_key=True),
    )
    op.create_index("ix_dinghy_deps_module", "dinghy_deps", ["kind", "module"])
    op.create_table(
        "dinghy_files",
        sa.Column("source", SOURCE, primary_key=True),
        sa.Column("path", KEY, primary_key=True),
        sa.Column("commit_sha", sa.String(64), nullable=False),
        sa.Column("raw_data", BODY, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dinghy_files")
    op.drop_index("ix_dinghy_deps_module", table_name="dinghy_deps")
    op.drop_table("dinghy_deps")
    op.drop_index("ix_dinghy_pipelines_source", table_name="dinghy_pipelines")
    op.drop_table("dinghy_pipelines")
    op.drop_index("ix_dinghy_syncs_source", table_name="dinghy_syncs")
    op.drop_table("dinghy_syncs")

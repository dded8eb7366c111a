"""Terraform's state kept by Gennaker: every version of a state per application and workspace (with the execution
that wrote it), the http backend's locks, and the plan files plan stages saved.

Revision ID: 0013_terraform
Revises: 0012_canary
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0013_terraform"
down_revision = "0012_canary"
branch_labels = None
depends_on = None

KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "terraform_states",
        sa.Column("application", KEY, primary_key=True),
        sa.Column("workspace", KEY, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("serial", sa.BigInteger, nullable=False),
        sa.Column("lineage", KEY, nullable=False),
        sa.Column("body", BODY, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("execution_id", KEY, nullable=True),
        sa.Column("written_by", KEY, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "terraform_locks",
        sa.Column("application", KEY, primary_key=True),
        sa.Column("workspace", KEY, primary_key=True),
        sa.Column("lock_id", KEY, nullable=False),
        sa.Column("info", BODY, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "terraform_plans",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("application", KEY, nullable=False),
        sa.Column("execution_id", KEY, nullable=True),
        sa.Column("stage_id", KEY, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("body", BODY, nullable=False),
        sa.Column("summary", BODY, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_terraform_plans_execution", "terraform_plans", ["execution_id"])


def downgrade() -> None:
    op.drop_index("ix_terraform_plans_execution", table_name="terraform_plans")
    op.drop_table("terraform_plans")
    op.drop_table("terraform_locks")
    op.drop_table("terraform_states")

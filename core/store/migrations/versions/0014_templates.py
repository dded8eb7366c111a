"""Managed pipeline templates v2: every stored version of a template under Front50's ids (``id``, ``id:tag``,
``id@sha256:digest``), with the undecorated id to group them.

Revision ID: 0014_templates
Revises: 0013_terraform
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0014_templates"
down_revision = "0013_terraform"
branch_labels = None
depends_on = None

KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "pipeline_templates",
        sa.Column("key", KEY, primary_key=True),
        sa.Column("template_id", KEY, nullable=False),
        sa.Column("body", BODY, nullable=False),
        sa.Column("last_modified", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_pipeline_templates_template_id", "pipeline_templates", ["template_id"])


def downgrade() -> None:
    op.drop_index("ix_pipeline_templates_template_id", table_name="pipeline_templates")
    op.drop_table("pipeline_templates")

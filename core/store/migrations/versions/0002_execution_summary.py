"""Executions keep a summary (Gate's expand=false form) beside the whole body, for fast listings.

Revision ID: 0002_execution_summary
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002_execution_summary"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.add_column("executions", sa.Column("summary", BODY, nullable=True))


def downgrade() -> None:
    op.drop_column("executions", "summary")

"""Application (and global) notification documents, as Front50 keeps them.

Revision ID: 0004_notification_configs
Revises: 0003_tombstones_events
Create Date: 2026-11-22
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004_notification_configs"
down_revision = "0003_tombstones_events"
branch_labels = None
depends_on = None

KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "notification_configs",
        sa.Column("level", sa.String(16), primary_key=True),
        sa.Column("name", KEY, primary_key=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("notification_configs")

"""The bake store (Rosco's): every bake, and the cache (the newest reusable successful bake of a key).

Revision ID: 0006_bakes
Revises: 0005_cloud_cache
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006_bakes"
down_revision = "0005_cloud_cache"
branch_labels = None
depends_on = None

KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "bakes",
        sa.Column("id", KEY, primary_key=True),
        sa.Column("bake_key", KEY, nullable=False),
        sa.Column("workflow_id", KEY, nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("cloud_provider", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("result", sa.String(16), nullable=True),
        sa.Column("reusable", sa.Boolean, nullable=False),
        sa.Column("image_name", KEY, nullable=True),
        sa.Column("image_id", KEY, nullable=True),
        sa.Column("images", sa.Text, nullable=False),
        sa.Column("request", BODY, nullable=False),
        sa.Column("requested_by", BODY, nullable=False),
        sa.Column("log_ref", sa.Text, nullable=True),
        sa.Column("error", BODY, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_index("ix_bakes_key_created", "bakes", ["bake_key", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_bakes_key_created", "bakes")
    op.drop_table("bakes")

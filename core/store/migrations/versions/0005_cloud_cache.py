"""The cloud cache: server groups, load balancers and images per account, and when each was refreshed.

Revision ID: 0005_cloud_cache
Revises: 0004_notification_configs
Create Date: 2026-11-22
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005_cloud_cache"
down_revision = "0004_notification_configs"
branch_labels = None
depends_on = None

KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "cloud_cache",
        sa.Column("provider", sa.String(32), primary_key=True),
        sa.Column("account", KEY, primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("region", sa.String(64), primary_key=True),
        sa.Column("name", KEY, primary_key=True),
        sa.Column("application", KEY, nullable=True),
        sa.Column("cluster", KEY, nullable=True),
        sa.Column("body", BODY, nullable=False),
        **MYSQL,
    )
    op.create_index("ix_cloud_cache_application", "cloud_cache", ["kind", "application"])
    op.create_index("ix_cloud_cache_account", "cloud_cache", ["provider", "account", "kind"])
    op.create_table(
        "cloud_cache_status",
        sa.Column("provider", sa.String(32), primary_key=True),
        sa.Column("account", KEY, primary_key=True),
        sa.Column("refreshed_at", sa.BigInteger, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("cloud_cache_status")
    op.drop_index("ix_cloud_cache_account", "cloud_cache")
    op.drop_index("ix_cloud_cache_application", "cloud_cache")
    op.drop_table("cloud_cache")

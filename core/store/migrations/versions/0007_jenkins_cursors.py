"""Igor's poll cursors: per Jenkins master and job, the newest build already seen and the newer ones already posted.

Revision ID: 0007_jenkins_cursors
Revises: 0006_bakes
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007_jenkins_cursors"
down_revision = "0006_bakes"
branch_labels = None
depends_on = None

KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "jenkins_build_cursors",
        sa.Column("master", KEY, primary_key=True),
        sa.Column("job", KEY, primary_key=True),
        sa.Column("last_build", sa.BigInteger, nullable=False),
        sa.Column("posted", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("jenkins_build_cursors")

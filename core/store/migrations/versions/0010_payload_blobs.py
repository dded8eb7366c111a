"""Claim-checked payloads (gennaker/payloads): blobs by sha256 key, their bytes in 512 KiB chunks (each row well
under MariaDB's max_allowed_packet), and which workflows referred to each blob, for the collector.

Revision ID: 0010_payload_blobs
Revises: 0009_execution_projection
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010_payload_blobs"
down_revision = "0009_execution_projection"
branch_labels = None
depends_on = None

# Frozen copies of the column types as they are at this revision.
KEY = sa.String(64).with_variant(mysql.VARCHAR(64, charset="ascii", collation="ascii_bin"), "mysql", "mariadb")
WORKFLOW_ID = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
CHUNK = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "payload_blobs",
        sa.Column("key", KEY, primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_used_at", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_index("ix_payload_blobs_last_used_at", "payload_blobs", ["last_used_at"])
    op.create_table(
        "payload_blob_chunks",
        sa.Column("key", KEY, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("data", CHUNK, nullable=False),
        **MYSQL,
    )
    op.create_table(
        "payload_blob_refs",
        sa.Column("key", KEY, primary_key=True),
        sa.Column("workflow_id", WORKFLOW_ID, primary_key=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("payload_blob_refs")
    op.drop_table("payload_blob_chunks")
    op.drop_index("ix_payload_blobs_last_used_at", table_name="payload_blobs")
    op.drop_table("payload_blobs")

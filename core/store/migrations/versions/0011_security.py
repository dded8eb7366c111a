"""Pipeline ids unique without regard to case: ``pipeline_configs.id_key`` (the lower-cased id) with a unique
index per kind, since a managed service account (``<id>@managed-service-account``) is named after the id and
matched ignoring case. Ids that already clash keep working: all but the oldest of each group get a distinct key
(logged), and the API refuses new clashes.

Revision ID: 0011_security
Revises: 0010_payload_blobs
Create Date: 2026-12-06
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0011_security"
down_revision = "0010_payload_blobs"
branch_labels = None
depends_on = None

log = logging.getLogger("gennaker.store")
KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("pipeline_configs") as batch:
        batch.add_column(sa.Column("id_key", KEY, nullable=True))
    table = sa.table(
        "pipeline_configs",
        sa.column("kind", sa.String),
        sa.column("id", sa.String),
        sa.column("id_key", sa.String),
        sa.column("created_at", sa.BigInteger),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(table.c.kind, table.c.id).order_by(table.c.created_at, table.c.id)).all()
    seen: set[tuple[str, str]] = set()
    for kind, pipeline_id in rows:
        key = pipeline_id.lower()
        if (kind, key) in seen:  # an older pipeline has this id in another case: keep both, distinct
            log.warning("%s ids %r and an older one differ only in case; rename one of them", kind, pipeline_id)
            key = f"{key[:200]}#{len(seen)}"
        seen.add((kind, key))
        conn.execute(sa.update(table).where(table.c.kind == kind, table.c.id == pipeline_id).values(id_key=key))
    op.create_index("uq_pipeline_configs_id_key", "pipeline_configs", ["kind", "id_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_pipeline_configs_id_key", table_name="pipeline_configs")
    with op.batch_alter_table("pipeline_configs") as batch:
        batch.drop_column("id_key")

"""Each REST endpoint's delivery cursor (the last event sequence it has handled), written after every event posted,
so a worker killed mid-delivery resumes right after it (core/store/events.py).

Revision ID: 0018_echo_event_cursors
Revises: 0017_leases
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_echo_event_cursors"
down_revision = "0017_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "echo_event_cursors",
        sa.Column("endpoint", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("echo_event_cursors")

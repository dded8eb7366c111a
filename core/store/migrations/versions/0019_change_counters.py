"""Change counters: a number per scope (an application's executions or configs) every write of it moves, so the
API's answer cache can validate a cached answer with one primary-key read (core/store/changes.py).

Revision ID: 0019_change_counters
Revises: 0018_echo_event_cursors
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_change_counters"
down_revision = "0018_echo_event_cursors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_counters",
        sa.Column("scope", sa.String(255), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("change_counters")

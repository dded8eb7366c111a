"""Leases: named, time-bounded claims, so work that must happen once among N API processes happens once
(core/store/leases.py).

Revision ID: 0017_leases
Revises: 0016_echo_events
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_leases"
down_revision = "0016_echo_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")

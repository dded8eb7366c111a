"""Echo's event outbox: the events of every recorded transition (and of trigger intake), numbered by a global
sequence that REST listeners and ``GET /events`` read from a cursor (core/store/events.py).

Revision ID: 0016_echo_events
Revises: 0015_dinghy
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0016_echo_events"
down_revision = "0015_dinghy"
branch_labels = None
depends_on = None

BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "echo_events",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("application", sa.String(255), nullable=True),
        sa.Column("execution_id", sa.String(255), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
    )
    op.create_index("ix_echo_events_execution", "echo_events", ["execution_id", "seq"])
    op.create_index("ix_echo_events_application", "echo_events", ["application", "seq"])
    op.create_index("ix_echo_events_created", "echo_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_echo_events_created", table_name="echo_events")
    op.drop_index("ix_echo_events_application", table_name="echo_events")
    op.drop_index("ix_echo_events_execution", table_name="echo_events")
    op.drop_table("echo_events")

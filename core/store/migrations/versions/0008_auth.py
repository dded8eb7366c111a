"""Fiat's tables: API tokens (hashed), service accounts, users' stored roles, the audit trail.

Revision ID: 0008_auth
Revises: 0007_jenkins_cursors
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008_auth"
down_revision = "0007_jenkins_cursors"
branch_labels = None
depends_on = None

KEY = sa.String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql", "mariadb")
BODY = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
AUDIT_INDEXES = {
    "ix_audit_events_at": ["at"],
    "ix_audit_events_principal_at": ["principal", "at"],
    "ix_audit_events_application_at": ["application", "at"],
    "ix_audit_events_action_at": ["action", "at"],
}


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("owner", KEY, nullable=False),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", KEY, nullable=True),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
        sa.Column("last_used_at", sa.BigInteger, nullable=True),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
        **MYSQL,
    )
    op.create_table(
        "service_accounts",
        sa.Column("name", KEY, primary_key=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
        **MYSQL,
    )
    op.create_table(
        "user_roles",
        sa.Column("name", KEY, primary_key=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("body", BODY, nullable=False),
        **MYSQL,
    )
    op.create_table(
        "audit_events",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("principal", KEY, nullable=False),
        sa.Column("via", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(32), nullable=True),
        sa.Column("resource_name", KEY, nullable=True),
        sa.Column("application", KEY, nullable=True),
        sa.Column("execution_id", KEY, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("remote_address", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        **MYSQL,
    )
    for name, columns in AUDIT_INDEXES.items():
        op.create_index(name, "audit_events", columns)


def downgrade() -> None:
    for name in AUDIT_INDEXES:
        op.drop_index(name, "audit_events")
    op.drop_table("audit_events")
    op.drop_table("user_roles")
    op.drop_table("service_accounts")
    op.drop_table("api_tokens")

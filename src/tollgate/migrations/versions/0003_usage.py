"""Usage events, agents' day passes and call authorizations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:05:13.167798
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tollgate.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """One schema change, read top to bottom as the tables it creates (long on purpose:
    a migration is never split into helpers that a later revision could change)."""
    op.create_table(
        "authorizations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("to", sa.String(length=32), nullable=False),
        sa.Column("list_id", sa.String(length=128), nullable=True),
        sa.Column("granted_seconds", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", tollgate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("usage_event_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("authorizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_authorizations_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "day_passes",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("local_date", sa.String(length=10), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("valid_until", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "user_id", "local_date"),
    )
    op.create_table(
        "usage_events",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("list_id", sa.String(length=128), nullable=True),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("customer_id", sa.String(length=128), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=True),
        sa.Column("to", sa.String(length=32), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("quantity_unit", sa.String(length=16), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("allowance_used", sa.BigInteger(), nullable=False),
        sa.Column("debt", sa.BigInteger(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("recorded_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "id"),
    )
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_events_occurred", ["account_id", "occurred_at"], unique=False
        )

    op.create_table(
        "authorization_slices",
        sa.Column("authorization_id", sa.String(length=40), nullable=False),
        sa.Column("reservation_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["authorizations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
        ),
        sa.PrimaryKeyConstraint("authorization_id", "reservation_id"),
    )
    with op.batch_alter_table("authorization_slices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_authorization_slices_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("authorization_slices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorization_slices_account_id"))

    op.drop_table("authorization_slices")
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_events_occurred")

    op.drop_table("usage_events")
    op.drop_table("day_passes")
    with op.batch_alter_table("authorizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorizations_account_id"))

    op.drop_table("authorizations")

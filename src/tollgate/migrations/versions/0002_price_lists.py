"""Price lists: immutable versions and their rows (operator-level, no account_id).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:58:52.563368
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tollgate.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_list_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("price_list_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("effective_from", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.CheckConstraint("version > 0", name="ck_price_list_versions_version_positive"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("price_list_id", "version", name="uq_price_list_versions_version"),
    )
    with op.batch_alter_table("price_list_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_price_list_versions_in_force", ["price_list_id", "effective_from"], unique=False
        )

    op.create_table(
        "price_list_rows",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("destination", sa.String(length=16), nullable=False),
        sa.Column("number_type", sa.String(length=24), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("per", sa.Integer(), nullable=False),
        sa.Column("increment_first", sa.Integer(), nullable=True),
        sa.Column("increment_next", sa.Integer(), nullable=True),
        sa.Column("connect_fee", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("connect_fee >= 0", name="ck_price_list_rows_connect_fee_non_negative"),
        sa.CheckConstraint("per > 0", name="ck_price_list_rows_per_positive"),
        sa.CheckConstraint("price >= 0", name="ck_price_list_rows_price_non_negative"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["price_list_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("price_list_rows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_price_list_rows_version", ["version_id", "position"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("price_list_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_price_list_rows_version")

    op.drop_table("price_list_rows")
    with op.batch_alter_table("price_list_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_price_list_versions_in_force")

    op.drop_table("price_list_versions")

"""Accounts and the credit ledger; the journal is made append-only by triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:53:25.580279
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tollgate.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """One schema change, read top to bottom as the tables it creates (long on purpose:
    a migration is never split into helpers that a later revision could change)."""
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("price_list_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("debt", sa.BigInteger(), nullable=False),
        sa.Column("next_due_at", tollgate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'blocked', 'closed')", name="ck_accounts_status"),
        sa.CheckConstraint("debt >= 0", name="ck_accounts_debt_non_negative"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_next_due_at"), ["next_due_at"], unique=False)

    op.create_table(
        "buckets",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("list_id", sa.String(length=128), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("balance >= 0", name="ck_buckets_balance_non_negative"),
        sa.CheckConstraint("reserved <= balance", name="ck_buckets_reserved_within_balance"),
        sa.CheckConstraint("reserved >= 0", name="ck_buckets_reserved_non_negative"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "unit", "list_id"),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("created_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "scope", "key"),
    )
    op.create_table(
        "journal_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("created_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index("ix_journal_entries_account", ["account_id", "id"], unique=False)

    op.create_table(
        "lots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("applies_to", sa.String(length=200), nullable=True),
        sa.Column("created_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tollgate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expired_at", tollgate.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount > 0", name="ck_lots_amount_positive"),
        sa.CheckConstraint("remaining <= amount", name="ck_lots_remaining_within_amount"),
        sa.CheckConstraint("remaining >= 0", name="ck_lots_remaining_non_negative"),
        sa.CheckConstraint("reserved <= remaining", name="ck_lots_reserved_within_remaining"),
        sa.CheckConstraint("reserved >= 0", name="ck_lots_reserved_non_negative"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lots_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            "ix_lots_expiring",
            ["expires_at"],
            unique=False,
            sqlite_where=sa.text("remaining > 0 AND expired_at IS NULL"),
            postgresql_where=sa.text("remaining > 0 AND expired_at IS NULL"),
        )
        batch_op.create_index(
            "ix_lots_open",
            ["account_id", "unit"],
            unique=False,
            sqlite_where=sa.text("remaining > 0"),
            postgresql_where=sa.text("remaining > 0"),
        )

    op.create_table(
        "reservations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("list_id", sa.String(length=128), nullable=True),
        sa.Column("bucket_list_id", sa.String(length=128), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("captured", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", tollgate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tollgate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", tollgate.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount > 0", name="ck_reservations_amount_positive"),
        sa.CheckConstraint("held >= 0", name="ck_reservations_held_non_negative"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reservations_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_reservations_lapsing",
            ["expires_at"],
            unique=False,
            sqlite_where=sa.text("status = 'held'"),
            postgresql_where=sa.text("status = 'held'"),
        )

    op.create_table(
        "postings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("ledger_account", sa.String(length=160), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["lots.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index("ix_postings_account", ["account_id", "ledger_account"], unique=False)
        batch_op.create_index("ix_postings_entry", ["entry_id"], unique=False)
        batch_op.create_index("ix_postings_lot", ["lot_id"], unique=False)

    op.create_table(
        "reservation_holds",
        sa.Column("reservation_id", sa.String(length=40), nullable=False),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount >= 0", name="ck_holds_amount_non_negative"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["lots.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
        ),
        sa.PrimaryKeyConstraint("reservation_id", "lot_id"),
    )
    with op.batch_alter_table("reservation_holds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reservation_holds_account_id"), ["account_id"], unique=False
        )
    _make_journal_append_only()


def downgrade() -> None:
    with op.batch_alter_table("reservation_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservation_holds_account_id"))

    op.drop_table("reservation_holds")
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_index("ix_postings_lot")
        batch_op.drop_index("ix_postings_entry")
        batch_op.drop_index("ix_postings_account")

    op.drop_table("postings")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_reservations_lapsing",
            sqlite_where=sa.text("status = 'held'"),
            postgresql_where=sa.text("status = 'held'"),
        )
        batch_op.drop_index(batch_op.f("ix_reservations_account_id"))

    op.drop_table("reservations")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_lots_open",
            sqlite_where=sa.text("remaining > 0"),
            postgresql_where=sa.text("remaining > 0"),
        )
        batch_op.drop_index(
            "ix_lots_expiring",
            sqlite_where=sa.text("remaining > 0 AND expired_at IS NULL"),
            postgresql_where=sa.text("remaining > 0 AND expired_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_lots_account_id"))

    op.drop_table("lots")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_entries_account")

    op.drop_table("journal_entries")
    op.drop_table("idempotency_records")
    op.drop_table("buckets")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_next_due_at"))

    op.drop_table("accounts")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS tollgate_append_only()")


APPEND_ONLY_TABLES = ("journal_entries", "postings")


def _make_journal_append_only() -> None:
    """A correction is a new entry: the database refuses UPDATE and DELETE on the journal."""
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        return
    op.execute(
        """
        CREATE FUNCTION tollgate_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
        END $$
        """
    )
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tollgate_append_only()"
        )

"""Postings keep only their entry index: ix_postings_account and ix_postings_lot go.

No query needs them (an account's postings are read through its journal entries),
and each one costs a random-position index insert for every posting the usage hot
path writes. Accounts and lots are never deleted, so their foreign keys from
postings need no index either.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Dropping an index does not make batch mode rebuild the table on SQLite, so the
    # triggers that keep postings append-only stay in place.
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.drop_index("ix_postings_lot")
        batch_op.drop_index("ix_postings_account")


def downgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index("ix_postings_account", ["account_id", "ledger_account"], unique=False)
        batch_op.create_index("ix_postings_lot", ["lot_id"], unique=False)

"""The database refuses, at commit, a journal entry whose postings do not sum to zero.

PostgreSQL: every statement that inserts postings (an ORM flush, the usage hot path's
``COPY``) first refuses postings to an entry committed by an earlier transaction,
then queues one row in ``journal_balance_checks`` with the ids of the entries it
touched, collected from its transition table. That table carries a deferred
constraint trigger: at commit, each queued row checks its entries with one
set-based query (Σ amount per entry and unit = 0), raises ``check_violation`` if one
is unbalanced, and deletes itself, so the table is empty between transactions. The
work is per statement and per entry, not per posting.

SQLite has no deferred triggers: each connection checks its own transaction's
entries before ``COMMIT`` (``tollgate.journal_guard``, installed by
``tollgate.db``), with TEMP objects that no migration can create. This revision
changes nothing in a SQLite file.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """One schema change, read top to bottom as the tables it creates (long on purpose:
    a migration is never split into helpers that a later revision could change)."""
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(
        """
        CREATE TABLE journal_balance_checks (
            id bigserial PRIMARY KEY,
            entry_ids bigint[] NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION tollgate_queue_balance_check() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            closed bigint;
        BEGIN
            -- An entry committed by an earlier transaction is closed: the journal is
            -- append-only, a correction is a new entry. (Tollgate uses no savepoints;
            -- an entry written inside one would carry its subtransaction's id.)
            SELECT e.id INTO closed FROM journal_entries e
            WHERE e.id IN (SELECT entry_id FROM new_postings)
              AND NOT (e.xmin = pg_current_xact_id()::xid)
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'journal entry % was committed before: postings can only be '
                    'added in the same transaction as their entry', closed
                    USING ERRCODE = 'check_violation';
            END IF;
            INSERT INTO journal_balance_checks (entry_ids)
            SELECT array_agg(DISTINCT entry_id) FROM new_postings HAVING count(*) > 0;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER postings_queue_balance_check AFTER INSERT ON postings
        REFERENCING NEW TABLE AS new_postings
        FOR EACH STATEMENT EXECUTE FUNCTION tollgate_queue_balance_check()
        """
    )
    op.execute(
        """
        CREATE FUNCTION tollgate_check_balance() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            bad record;
        BEGIN
            SELECT entry_id, unit, sum(amount) AS total INTO bad
            FROM postings WHERE entry_id = ANY (NEW.entry_ids)
            GROUP BY entry_id, unit HAVING sum(amount) <> 0 LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'journal entry % is unbalanced: its % postings sum to %',
                    bad.entry_id, bad.unit, bad.total
                    USING ERRCODE = 'check_violation';
            END IF;
            DELETE FROM journal_balance_checks WHERE id = NEW.id;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER journal_entries_balanced
        AFTER INSERT ON journal_balance_checks
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION tollgate_check_balance()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TRIGGER postings_queue_balance_check ON postings")
    op.execute("DROP TABLE journal_balance_checks")
    op.execute("DROP FUNCTION tollgate_check_balance()")
    op.execute("DROP FUNCTION tollgate_queue_balance_check()")

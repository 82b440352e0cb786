"""SPEC §3: every journal entry's postings sum to zero per unit, and the database itself
refuses to commit one that does not (a deferred constraint trigger on PostgreSQL, a
check before COMMIT on SQLite), whoever writes it: the ORM, raw SQL, the usage hot path.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.helpers import assert_ledger_sound, create_account, grant
from tests.usage.conftest import put_price_list, sms
from tollgate.db import Database
from tollgate.rawsql import RawSQL

Leg = tuple[str, str, int]  # ledger account, unit, amount


def write_entry(
    connection: Connection | Session,
    legs: list[Leg],
    *,
    kind: str = "raw",
    entry_id: int | None = None,
) -> int:
    """Insert a journal entry (unless ``entry_id`` names one) and its postings as raw SQL."""
    if entry_id is None:
        entry_id = connection.execute(
            text(
                "INSERT INTO journal_entries (account_id, kind, created_at) "
                "VALUES ('acme', :kind, CURRENT_TIMESTAMP) RETURNING id"
            ),
            {"kind": kind},
        ).scalar_one()
        assert isinstance(entry_id, int)
    for ledger_account, unit, amount in legs:
        connection.execute(
            text(
                "INSERT INTO postings (entry_id, account_id, ledger_account, unit, amount) "
                "VALUES (:entry_id, 'acme', :ledger_account, :unit, :amount)"
            ),
            {
                "entry_id": entry_id,
                "ledger_account": ledger_account,
                "unit": unit,
                "amount": amount,
            },
        )
    return entry_id


def raw_entries(database: Database) -> list[tuple[int, str]]:
    with database.read() as session:
        rows = session.execute(
            text("SELECT id, kind FROM journal_entries WHERE kind LIKE 'raw%' ORDER BY id")
        )
        return [(entry_id, kind) for entry_id, kind in rows]


def raw_postings(database: Database) -> int:
    with database.read() as session:
        count = session.execute(
            text(
                "SELECT count(*) FROM postings WHERE entry_id IN "
                "(SELECT id FROM journal_entries WHERE kind LIKE 'raw%')"
            )
        ).scalar_one()
    assert isinstance(count, int)
    return count


BALANCED_EUR: list[Leg] = [("pool", "EUR", 5_000_000), ("system:grants", "EUR", -5_000_000)]


@pytest.fixture
def acme(client: TestClient) -> str:
    create_account(client, "acme")
    return "acme"


class TestRefusedAtCommit:
    def test_an_unbalanced_entry_written_as_raw_sql_in_a_session_is_refused(
        self, database: Database, acme: str
    ) -> None:
        with pytest.raises(IntegrityError, match="unbalanced"), database.write() as session:
            write_entry(session, [("pool", "EUR", 5_000_000), ("system:grants", "EUR", -3_000_000)])

        assert raw_entries(database) == []
        assert raw_postings(database) == 0

    def test_an_unbalanced_entry_committed_on_the_engines_connection_is_refused(
        self, database: Database, acme: str
    ) -> None:
        with (
            pytest.raises(IntegrityError, match="unbalanced"),
            database.engine.connect() as connection,
        ):
            write_entry(connection, [("pool", "EUR", 1)])
            connection.commit()

        assert raw_entries(database) == []
        assert raw_postings(database) == 0

    def test_the_connection_is_clean_and_usable_after_a_refusal(
        self, database: Database, acme: str
    ) -> None:
        with pytest.raises(IntegrityError), database.write() as session:
            write_entry(session, [("pool", "EUR", 7)], kind="raw-refused")
        # The pool hands the same connection out again: nothing of the refused
        # transaction is left on it, and a balanced entry commits.
        with database.write() as session:
            write_entry(session, BALANCED_EUR, kind="raw-kept")

        assert [kind for _, kind in raw_entries(database)] == ["raw-kept"]
        assert raw_postings(database) == 2

    def test_a_posting_added_to_an_entry_committed_before_is_refused(
        self, database: Database, acme: str
    ) -> None:
        with database.write() as session:
            entry_id = write_entry(session, BALANCED_EUR)

        with pytest.raises(IntegrityError), database.write() as session:
            write_entry(session, [("pool", "EUR", 1_000_000)], entry_id=entry_id)

        assert raw_entries(database) == [(entry_id, "raw")]
        assert raw_postings(database) == 2

    def test_even_balanced_postings_added_to_a_closed_entry_are_refused(
        self, database: Database, acme: str
    ) -> None:
        # An entry committed before is closed to new postings: the journal is append-only.
        with database.write() as session:
            entry_id = write_entry(session, BALANCED_EUR)

        with pytest.raises(IntegrityError, match="same transaction"), database.write() as session:
            write_entry(session, BALANCED_EUR, entry_id=entry_id)

        assert raw_postings(database) == 2


class TestBalancedEntriesCommit:
    def test_entries_of_several_units_balance_per_unit_not_in_total(
        self, database: Database, acme: str
    ) -> None:
        euros_and_seconds: list[Leg] = [
            ("pool", "EUR", 2_000_000),
            ("system:grants", "EUR", -2_000_000),
            ("pool", "SECONDS", 600),
            ("system:grants", "SECONDS", -600),
        ]
        with database.write() as session:
            write_entry(session, euros_and_seconds, kind="raw-1")
            write_entry(session, BALANCED_EUR, kind="raw-2")
            write_entry(session, [("pool", "SECONDS", 60), ("system:grants", "SECONDS", -60)])

        assert len(raw_entries(database)) == 3
        assert raw_postings(database) == 8

        # Zero in total, but not per unit.
        with pytest.raises(IntegrityError, match="unbalanced"), database.write() as session:
            write_entry(session, BALANCED_EUR, kind="raw-4")
            write_entry(session, [("pool", "EUR", 600), ("system:grants", "SECONDS", -600)])

        assert len(raw_entries(database)) == 3


class TestUsageHotPath:
    def test_its_bulk_writes_commit_and_are_checked(
        self, client: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        put_price_list(client)
        create_account(client, "acme")
        grant(client, "acme", "1000")
        events = [sms(f"s{i}") for i in range(500)]

        response = client.post("/v1/usage/batch", json={"events": events})

        assert response.status_code == 200, response.text
        assert all("error" not in result for result in response.json()["results"])
        assert_ledger_sound(database, "acme")

        # The same writes with one posting off by a micro: the whole batch is refused.
        insert = RawSQL.insert

        def off_by_one(self: RawSQL, table: str, columns: Any, rows: Any) -> None:
            if table == "postings":
                entry_id, account_id, ledger_account, unit, amount, lot_id = rows[7]
                rows = [
                    *rows[:7],
                    (entry_id, account_id, ledger_account, unit, amount + 1, lot_id),
                    *rows[8:],
                ]
            insert(self, table, columns, rows)

        monkeypatch.setattr(RawSQL, "insert", off_by_one)
        skewed = [sms(f"s-skewed-{i}") for i in range(500)]
        with database.read() as session:
            before = session.execute(text("SELECT count(*) FROM postings")).scalar_one()

        refused = client.post("/v1/usage/batch", json={"events": skewed})

        assert refused.status_code == 500, refused.text

        with database.read() as session:
            after = session.execute(text("SELECT count(*) FROM postings")).scalar_one()
            recorded = session.execute(
                text("SELECT count(*) FROM usage_events WHERE id LIKE 's-skewed-%'")
            ).scalar_one()
        assert (after, recorded) == (before, 0)
        assert_ledger_sound(database, "acme")

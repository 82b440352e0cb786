"""SPEC §3, the journal: every movement of credit is a double-entry journal entry whose
postings sum to zero, against system accounts; it is append-only, down to the database.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.helpers import allocate, assert_ledger_sound, balance, create_account, grant, reserve
from tests.ledger.direct import charge, instant, journal, posting_sum, postings
from tollgate.ledger import check_invariants


def page(client, account_id: str = "acme", **params) -> dict:
    response = client.get(f"/v1/accounts/{account_id}/journal", params=params)
    assert response.status_code == 200, response.text
    return response.json()


class TestEntries:
    def test_every_movement_is_an_entry_whose_postings_sum_to_zero(self, client, database, clock):
        create_account(client, "acme")
        expires_at = clock.now() + timedelta(days=1)
        grant(client, "acme", "10", expires_at=instant(expires_at))
        grant(client, "acme", "5", source="purchase")
        allocate(client, "acme", "sales", "4")
        held = reserve(client, "acme", "3", list_id="sales")
        client.post(f"/v1/reservations/{held['id']}/capture", json={"amount": "2.5"})
        charge(database, clock, "acme", "0.000675", tag="sms")
        clock.set(expires_at)
        balance(client, "acme")  # the first touch after expires_at writes the expiry

        entries = journal(client, "acme")

        assert [entry["kind"] for entry in entries] == [
            "grant",
            "grant",
            "allocation",
            "capture",
            "charge",
            "expiry",
        ]
        assert [posting_sum(entry) for entry in entries] == [Decimal(0)] * 6
        assert all(len(entry["postings"]) >= 2 for entry in entries)
        assert_ledger_sound(database, "acme", now=clock.now())

    @pytest.mark.parametrize(
        ("source", "system_account"),
        [
            ("grant", "system:grants"),
            ("purchase", "system:purchases"),
            ("auto_recharge", "system:purchases"),
            ("refund", "system:refunds"),
            ("plan_allowance", "system:allowances"),
        ],
    )
    def test_a_grant_moves_credit_from_its_source_to_the_pool(
        self, client, database, clock, source, system_account
    ):
        create_account(client, "acme")
        lot = grant(client, "acme", "12.5", source=source)

        [entry] = journal(client, "acme")

        assert entry["kind"] == "grant"
        assert sorted(postings(entry)) == [
            ("pool", "12.5", lot["id"]),
            (system_account, "-12.5", None),
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_tagged_charge_goes_to_that_channels_revenue(self, client, database, clock):
        create_account(client, "acme")
        lot = grant(client, "acme", "1")

        charge(database, clock, "acme", "0.000675", tag="sms", reference="msg-1")

        entry = journal(client, "acme")[-1]
        assert (entry["kind"], entry["reference"]) == ("charge", "msg-1")
        assert sorted(postings(entry)) == [
            ("pool", "-0.000675", lot["id"]),
            ("system:revenue:sms", "0.000675", None),
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_an_account_sees_only_its_own_entries(self, client, database, clock):
        create_account(client, "acme")
        create_account(client, "globex")
        grant(client, "acme", "1")
        grant(client, "globex", "2")

        mine = journal(client, "acme")

        assert [postings(entry) for entry in mine] == [
            [("system:grants", "-1", None), ("pool", "1", mine[0]["postings"][1]["lot_id"])]
        ]
        assert_ledger_sound(database, "acme", "globex", now=clock.now())

    def test_journal_of_an_unknown_account_is_404(self, client):
        response = client.get("/v1/accounts/nobody/journal")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "account_not_found"


class TestPagination:
    def test_pages_follow_each_other_without_gaps_or_repeats(self, client, database, clock):
        create_account(client, "acme")
        for amount in ("1", "2", "3", "4", "5"):
            grant(client, "acme", amount)

        first = page(client, limit=2)
        second = page(client, limit=2, after=first["next_after"])
        third = page(client, limit=2, after=second["next_after"])

        every = [entry["id"] for entry in journal(client, "acme")]
        assert len(every) == 5
        assert [e["id"] for e in first["data"]] == every[0:2]
        assert (first["has_more"], first["next_after"]) == (True, every[1])
        assert [e["id"] for e in second["data"]] == every[2:4]
        assert (second["has_more"], second["next_after"]) == (True, every[3])
        assert [e["id"] for e in third["data"]] == every[4:5]
        assert (third["has_more"], third["next_after"]) == (False, None)
        amounts = [
            p["amount"]
            for part in (first, second, third)
            for e in part["data"]
            for p in e["postings"]
            if p["ledger_account"] == "pool"
        ]
        assert amounts == ["1", "2", "3", "4", "5"]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_page_that_ends_exactly_at_the_last_entry_has_no_more(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "1")
        grant(client, "acme", "2")

        answer = page(client, limit=2)

        assert len(answer["data"]) == 2
        assert (answer["has_more"], answer["next_after"]) == (False, None)

    def test_after_the_last_entry_the_page_is_empty(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "1")
        last = page(client)["data"][-1]["id"]

        answer = page(client, after=last)

        assert answer == {"data": [], "has_more": False, "next_after": None}

    @pytest.mark.parametrize("limit", [0, 501])
    def test_a_limit_out_of_range_is_refused(self, client, limit):
        create_account(client, "acme")

        response = client.get("/v1/accounts/acme/journal", params={"limit": limit})

        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_request"


class TestAppendOnly:
    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE journal_entries SET memo = 'edited'",
            "DELETE FROM journal_entries",
            "UPDATE postings SET amount = amount * 2",
            "DELETE FROM postings",
        ],
    )
    def test_the_database_refuses_to_change_the_journal(self, client, database, clock, statement):
        create_account(client, "acme")
        grant(client, "acme", "10")
        charge(database, clock, "acme", "4")
        before = journal(client, "acme")

        with (
            pytest.raises(DBAPIError, match="append-only"),
            database.engine.begin() as connection,
        ):
            connection.execute(text(statement))

        assert journal(client, "acme") == before
        assert_ledger_sound(database, "acme", now=clock.now())


class TestPostingsNameTheirEntrysAccount:
    def test_a_posting_naming_another_account_is_reported(self, client, database):
        # Postings are read through their entries (they have no index on account_id):
        # the check must see a posting whose account differs from its entry's.
        create_account(client, "acme")
        create_account(client, "globex")
        grant(client, "acme", "10")
        grant(client, "globex", "10")
        with database.engine.begin() as connection:
            # In an entry of its own: the database refuses postings added to an entry
            # committed earlier.
            entry_id = connection.execute(
                text(
                    "INSERT INTO journal_entries (account_id, kind, created_at) "
                    "VALUES ('acme', 'grant', CURRENT_TIMESTAMP) RETURNING id"
                )
            ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO postings (entry_id, account_id, ledger_account, unit, amount) "
                    "VALUES (:entry, 'globex', 'pool', 'EUR', 1), "
                    "(:entry, 'globex', 'system:grants', 'EUR', -1)"
                ),
                {"entry": entry_id},
            )

        with database.read() as session:
            assert check_invariants(session, "acme") == [
                "2 postings of this account's journal entries name account 'globex'"
            ]


class TestStatementIsCurrent:
    def test_journal_shows_an_expiry_that_fell_due_without_any_job(self, client, database, clock):
        create_account(client, "acme")
        lot = grant(client, "acme", "4", expires_at=instant(clock.now() + timedelta(days=10)))
        clock.advance(days=10)

        entries = page(client, limit=500)["data"]

        assert [entry["kind"] for entry in entries] == ["grant", "expiry"]
        assert {
            (p["ledger_account"], p["amount"], p["lot_id"]) for p in entries[-1]["postings"]
        } == {
            ("pool", "-4", lot["id"]),
            ("system:breakage", "4", None),
        }
        assert_ledger_sound(database, "acme", now=clock.now())

"""Debt: usage that had to happen without credit (``charge(..., allow_debt=True)``)
becomes the account's debt and blocks it; the next grant of money credit pays the debt
first.
"""

from __future__ import annotations

from tests.helpers import assert_ledger_sound, balance, create_account, grant, reserve
from tests.ledger.direct import charge, journal, paid_by, postings


def account(client) -> dict:
    response = client.get("/v1/accounts/acme")
    assert response.status_code == 200, response.text
    return response.json()


def in_debt(client, database, clock, *, credit: str = "2", usage: str = "5") -> dict:
    create_account(client, "acme")
    lot = grant(client, "acme", credit)
    charge(database, clock, "acme", usage, allow_debt=True)
    return lot


class TestRunningIntoDebt:
    def test_usage_beyond_the_credit_becomes_debt_and_blocks_the_account(
        self, client, database, clock
    ):
        create_account(client, "acme")
        lot = grant(client, "acme", "2")

        result = charge(database, clock, "acme", "5", allow_debt=True)

        assert paid_by(result) == [(lot["id"], "2")]
        assert result.debt_added == 3_000_000
        assert (account(client)["status"], account(client)["debt"]) == ("blocked", "3")
        assert balance(client, "acme")["total"] == "0"
        assert sorted(postings(journal(client, "acme")[-1])) == [
            ("debt", "-3", None),
            ("pool", "-2", lot["id"]),
            ("system:revenue", "5", None),
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_blocked_account_cannot_reserve(self, client, database, clock):
        in_debt(client, database, clock)

        response = client.post("/v1/accounts/acme/reservations", json={"amount": "0.000001"})

        assert response.status_code == 402
        assert response.json()["error"]["code"] == "account_blocked"
        assert_ledger_sound(database, "acme", now=clock.now())


class TestPayingDebt:
    def test_a_grant_pays_the_debt_first(self, client, database, clock):
        in_debt(client, database, clock)

        lot = grant(client, "acme", "10")

        assert (lot["debt_paid"], lot["amount"], lot["remaining"]) == ("3", "10", "7")
        assert (account(client)["status"], account(client)["debt"]) == ("active", "0")
        assert balance(client, "acme")["total"] == "7"
        assert sorted(postings(journal(client, "acme")[-1])) == [
            ("debt", "3", None),
            ("pool", "7", lot["id"]),
            ("system:grants", "-10", None),
        ]
        assert reserve(client, "acme", "7")["status"] == "held"
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_grant_smaller_than_the_debt_pays_what_it_can(self, client, database, clock):
        in_debt(client, database, clock)

        lot = grant(client, "acme", "1")

        assert (lot["debt_paid"], lot["remaining"]) == ("1", "0")
        assert (account(client)["status"], account(client)["debt"]) == ("blocked", "2")
        after = balance(client, "acme")
        assert (after["total"], after["lots"]) == ("0", [])
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_grant_exactly_the_size_of_the_debt_unblocks_with_nothing_left(
        self, client, database, clock
    ):
        in_debt(client, database, clock)

        lot = grant(client, "acme", "3")

        assert (lot["debt_paid"], lot["remaining"]) == ("3", "0")
        assert (account(client)["status"], account(client)["debt"]) == ("active", "0")
        assert balance(client, "acme")["total"] == "0"
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_allowance_units_do_not_pay_money_debt(self, client, database, clock):
        in_debt(client, database, clock)

        lot = grant(
            client, "acme", "600", unit="SECONDS", source="plan_allowance", applies_to=["voice"]
        )

        assert (lot["debt_paid"], lot["remaining"]) == ("0", "600")
        assert (account(client)["status"], account(client)["debt"]) == ("blocked", "3")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_credit_restricted_to_channels_does_not_pay_debt(self, client, database, clock):
        in_debt(client, database, clock)

        lot = grant(client, "acme", "10", applies_to=["sms"])

        assert (lot["debt_paid"], lot["remaining"]) == ("0", "10")
        assert account(client)["debt"] == "3"
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_without_debt_a_grant_pays_nothing(self, client, database, clock):
        create_account(client, "acme")

        lot = grant(client, "acme", "10")

        assert (lot["debt_paid"], lot["remaining"]) == ("0", "10")
        assert_ledger_sound(database, "acme", now=clock.now())

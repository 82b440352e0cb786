"""Insufficient credit, debt and blocking (SPEC §6).

A plain 402 refuses the event and leaves the account active. An event that already
happened says ``allow_debt``: it is always recorded, the shortfall becomes debt and
blocks the account, and the next credit granted pays the debt first.
"""

from __future__ import annotations

import pytest

from tests.helpers import assert_ledger_sound, balance, create_account, grant
from tests.usage.conftest import (
    FR_MOBILE,
    account,
    call,
    email,
    journal,
    login,
    post_usage,
    refused,
    sms,
    totals,
)


def status(client, account_id: str = "acme") -> tuple[str, str]:
    answer = account(client, account_id)
    return answer["status"], answer["debt"]


def in_debt(client, account_id: str = "acme") -> dict:
    """0.01 of credit, then a 61 s call (0.028) that had to be recorded: 0.018 of debt."""
    grant(client, account_id, "0.01")
    return post_usage(client, call("late-call", 61, account_id=account_id, allow_debt=True))


class TestInsufficientCredit:
    def test_is_a_402_that_charges_and_records_nothing(self, client, database, clock, acme):
        grant(client, acme, "0.02")
        before = journal(client)

        message = refused(client, call("call-1", 61), "insufficient_credit")

        assert "0.028" in message and "0.02" in message
        assert totals(balance(client, acme)) == ("0.02", "0", "0.02")
        assert journal(client) == before
        assert status(client) == ("active", "0")
        assert_ledger_sound(database, acme, now=clock.now())

    def test_the_account_stays_active_and_cheaper_usage_still_goes_through(
        self, client, database, acme
    ):
        grant(client, acme, "0.02")
        refused(client, call("call-1", 61), "insufficient_credit")

        answer = post_usage(client, sms("s1"))

        assert answer["cost"] == "0.0079"
        assert answer["balance"]["total"] == "0.0121"
        assert status(client) == ("active", "0")

    def test_no_credit_at_all_is_refused_too(self, client, acme):
        refused(client, email("m1"), "insufficient_credit")

        assert status(client) == ("active", "0")

    def test_the_refused_event_is_not_remembered(self, client, database, acme):
        grant(client, acme, "0.02")
        refused(client, call("call-1", 61), "insufficient_credit")
        grant(client, acme, "1")

        # Not a replay of anything: the same id with other content is simply a new event.
        answer = post_usage(client, call("call-1", 30))

        assert answer["cost"] == "0.014"
        assert answer["balance"]["total"] == "1.006"
        assert_ledger_sound(database, acme)


class TestDebt:
    def test_allow_debt_records_the_event_and_the_shortfall_becomes_debt(
        self, client, database, clock, acme
    ):
        lot = grant(client, acme, "0.01")

        answer = post_usage(client, call("late-call", 61, allow_debt=True))

        assert answer["cost"] == "0.028"
        assert answer["paid_by"] == [{"lot_id": lot["id"], "unit": "EUR", "amount": "0.01"}]
        assert answer["debt"] == "0.018"
        assert answer["balance"] == {"total": "0", "available": "0"}
        assert status(client) == ("blocked", "0.018")
        assert totals(balance(client, acme)) == ("0", "0", "0")
        assert_ledger_sound(database, acme, now=clock.now())

    def test_allow_debt_with_enough_credit_is_an_ordinary_charge(self, client, acme):
        grant(client, acme, "1")

        answer = post_usage(client, call("call-1", 61, allow_debt=True))

        assert (answer["cost"], answer["debt"]) == ("0.028", "0")
        assert status(client) == ("active", "0")

    def test_allow_debt_on_an_empty_account_is_all_debt(self, client, database, acme):
        answer = post_usage(client, login("l1", "agent-1", allow_debt=True))

        assert (answer["cost"], answer["paid_by"], answer["debt"]) == ("3.5", [], "3.5")
        assert status(client) == ("blocked", "3.5")
        assert_ledger_sound(database, acme)

    def test_the_debt_event_replays_its_first_answer(self, client, acme):
        first = in_debt(client)

        assert post_usage(client, call("late-call", 61, allow_debt=True)) == first
        assert status(client) == ("blocked", "0.018")


class TestBlocked:
    @pytest.mark.parametrize(
        "event",
        [call("c1", 61), sms("s1"), email("m1"), login("l1", "agent-1")],
        ids=["voice", "sms", "email", "agent_login"],
    )
    def test_usage_without_allow_debt_is_refused(self, client, database, acme, event):
        in_debt(client)

        message = refused(client, event, "account_blocked")

        assert "0.018" in message
        assert status(client) == ("blocked", "0.018")
        assert_ledger_sound(database, acme)

    def test_it_is_the_block_that_refuses_not_a_lack_of_credit(self, client, database, acme):
        in_debt(client)
        # Credit for SMS only does not pay debt (debt is owed for any usage), so the
        # account stays blocked with credit that could pay this SMS.
        grant(client, acme, "5", applies_to=["sms"])

        refused(client, sms("s1"), "account_blocked")

        assert status(client) == ("blocked", "0.018")
        assert balance(client, acme)["total"] == "5"
        assert_ledger_sound(database, acme)

    def test_reservations_are_refused(self, client, acme):
        in_debt(client)

        response = client.post(f"/v1/accounts/{acme}/reservations", json={"amount": "0.001"})

        assert response.status_code == 402, response.text
        assert response.json()["error"]["code"] == "account_blocked"

    def test_authorizations_are_refused(self, client, acme):
        in_debt(client)

        response = client.post(
            "/v1/authorizations",
            json={"account_id": acme, "direction": "outbound", "to": FR_MOBILE},
        )

        assert response.status_code == 402, response.text
        assert response.json()["error"]["code"] == "account_blocked"
        assert totals(balance(client, acme)) == ("0", "0", "0")

    def test_events_with_allow_debt_are_still_recorded_and_add_to_the_debt(
        self, client, database, acme
    ):
        in_debt(client)

        answer = post_usage(client, call("call-2", 125, allow_debt=True))

        assert (answer["cost"], answer["paid_by"], answer["debt"]) == ("0.042", [], "0.042")
        assert status(client) == ("blocked", "0.06")
        assert_ledger_sound(database, acme)

    def test_a_replay_of_an_event_recorded_before_the_block_still_answers(self, client, acme):
        grant(client, acme, "0.05")
        first = post_usage(client, call("call-1", 61))  # 0.028, 0.022 left
        post_usage(client, call("late-call", 125, allow_debt=True))  # 0.042: 0.02 of debt

        assert post_usage(client, call("call-1", 61)) == first
        assert status(client) == ("blocked", "0.02")

    def test_other_accounts_are_not_affected(self, client, acme):
        in_debt(client)
        create_account(client, "globex")
        grant(client, "globex", "1")

        assert post_usage(client, sms("s1", account_id="globex"))["cost"] == "0.0079"
        assert status(client, "globex") == ("active", "0")


class TestPayingTheDebt:
    def test_the_next_grant_pays_the_debt_first_and_unblocks(self, client, database, clock, acme):
        in_debt(client)

        lot = grant(client, acme, "1")

        assert lot["debt_paid"] == "0.018"
        assert lot["remaining"] == "0.982"
        assert status(client) == ("active", "0")
        assert totals(balance(client, acme)) == ("0.982", "0", "0.982")
        answer = post_usage(client, sms("s1"))
        assert (answer["cost"], answer["balance"]["total"]) == ("0.0079", "0.9741")
        assert_ledger_sound(database, acme, now=clock.now())

    def test_a_grant_smaller_than_the_debt_pays_part_and_keeps_the_block(
        self, client, database, acme
    ):
        in_debt(client)

        partial = grant(client, acme, "0.01")

        assert (partial["debt_paid"], partial["remaining"]) == ("0.01", "0")
        assert status(client) == ("blocked", "0.008")
        refused(client, sms("s1"), "account_blocked")
        assert_ledger_sound(database, acme)

        rest = grant(client, acme, "0.008")

        assert (rest["debt_paid"], rest["remaining"]) == ("0.008", "0")
        assert status(client) == ("active", "0")
        assert totals(balance(client, acme)) == ("0", "0", "0")
        # Unblocked but empty: a plain refusal again, not a block.
        refused(client, sms("s1"), "insufficient_credit")
        assert_ledger_sound(database, acme)

    def test_plan_seconds_do_not_pay_money_debt(self, client, acme):
        in_debt(client)

        seconds = client.post(
            f"/v1/accounts/{acme}/credits",
            json={"amount": "600", "unit": "SECONDS", "applies_to": ["voice"]},
        ).json()

        assert seconds["debt_paid"] == "0"
        assert status(client) == ("blocked", "0.018")

    def test_the_ledger_balances_through_a_whole_debt_cycle(self, client, database, clock, acme):
        steps = [
            lambda: grant(client, acme, "0.05"),
            lambda: post_usage(client, sms("s1")),
            lambda: post_usage(client, call("c1", 300, allow_debt=True)),  # 0.07: 0.0279 of debt
            lambda: refused(client, sms("s2"), "account_blocked"),
            lambda: post_usage(client, email("m1", 10, allow_debt=True)),  # + 0.00675
            lambda: grant(client, acme, "0.02"),
            lambda: grant(client, acme, "2"),
            lambda: post_usage(client, call("c2", 61)),
        ]
        for step in steps:
            step()
            assert_ledger_sound(database, acme, now=clock.now())

        # 0.05 + 0.02 + 2 − (0.0079 + 0.07 + 0.00675 + 0.028) = 1.95735
        assert status(client) == ("active", "0")
        assert totals(balance(client, acme)) == ("1.95735", "0", "1.95735")

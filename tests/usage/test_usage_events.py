"""POST /v1/usage: every channel rated and paid in real time, allowances first, list
allocations as spending limits, day passes by local calendar day, idempotent by
(account, id).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from tests.conftest import OPERATOR_KEY
from tests.helpers import (
    allocate,
    assert_ledger_sound,
    balance,
    create_account,
    grant,
    list_figures,
)
from tests.usage.conftest import (
    FR_FIXED,
    FR_TOLL_FREE,
    LONDON,
    NOW,
    PRICE_ROWS,
    allowance,
    call,
    email,
    grant_seconds,
    journal,
    login,
    post_usage,
    put_price_list,
    refused,
    sms,
    totals,
)

GSM_160 = "a" * 160


def whatsapp(event_id: str, category: str) -> dict:
    return {**sms(event_id), "channel": "whatsapp_template", "text": None, "category": category}


class TestAnswer:
    def test_a_call_answers_cost_quantity_what_paid_and_the_balance_after(
        self, client, database, clock, acme
    ):
        lot = grant(client, acme, "10")

        answer = post_usage(client, call("call-1", 61))

        # 61 s at 60/60 bills 120 s: 2 × 0.014.
        assert answer == {
            "id": "call-1",
            "cost": "0.028",
            "unit": "EUR",
            "quantity": 120,  # the billed seconds (SPEC §6)
            "quantity_unit": "second",
            "paid_by": [{"lot_id": lot["id"], "unit": "EUR", "amount": "0.028"}],
            "debt": "0",
            "balance": {"total": "9.972", "available": "9.972"},
        }
        assert totals(balance(client, acme)) == ("9.972", "0", "9.972")
        assert_ledger_sound(database, acme, now=clock.now())

    @pytest.mark.parametrize(
        ("event", "cost", "quantity", "quantity_unit", "left"),
        [
            pytest.param(call("e", 61), "0.028", 120, "second", "9.972", id="voice-outbound"),
            pytest.param(
                call("e", 61, LONDON), "0.078", 120, "second", "9.922", id="voice-connect-fee"
            ),
            pytest.param(call("e", 0, LONDON), "0", 0, "second", "10", id="voice-unanswered"),
            pytest.param(
                call("e", 30, FR_FIXED, direction="inbound"),
                *("0.0085", 60, "second", "9.9915"),
                id="voice-inbound",
            ),
            pytest.param(
                call("e", 90, FR_TOLL_FREE, direction="inbound"),
                *("0.044", 120, "second", "9.956"),
                id="voice-inbound-toll-free",
            ),
            pytest.param(sms("e", "Hello"), "0.0079", 1, "segment", "9.9921", id="sms-text"),
            pytest.param(
                sms("e", GSM_160 + "b"), "0.0158", 2, "segment", "9.9842", id="sms-161-gsm"
            ),
            pytest.param(
                sms("e", "x", segments=3), "0.0237", 3, "segment", "9.9763", id="sms-segments"
            ),
            pytest.param(email("e", 1), "0.000675", 1, "message", "9.999325", id="email-one"),
            pytest.param(email("e", 1000), "0.675", 1000, "message", "9.325", id="email-1000"),
            pytest.param(
                email("e", 1501), "1.013175", 1501, "message", "8.986825", id="email-1501"
            ),
            pytest.param(
                whatsapp("e", "marketing"),
                "0.0859",
                1,
                "message",
                "9.9141",
                id="whatsapp-marketing",
            ),
            pytest.param(
                whatsapp("e", "utility"), "0.0336", 1, "message", "9.9664", id="whatsapp-utility"
            ),
            pytest.param(login("e", "agent-7"), "3.5", 1, "day", "6.5", id="day-pass"),
        ],
    )
    def test_each_channel_is_rated_and_charged(
        self, client, database, clock, acme, event, cost, quantity, quantity_unit, left
    ):
        lot = grant(client, acme, "10")

        answer = post_usage(client, event)

        assert (answer["cost"], answer["quantity"], answer["quantity_unit"]) == (
            cost,
            quantity,
            quantity_unit,
        )
        assert answer["unit"] == "EUR"
        paid = [] if cost == "0" else [{"lot_id": lot["id"], "unit": "EUR", "amount": cost}]
        assert answer["paid_by"] == paid
        assert answer["balance"] == {"total": left, "available": left}
        assert totals(balance(client, acme)) == (left, "0", left)
        assert_ledger_sound(database, acme, now=clock.now())

    def test_a_charge_spanning_lots_lists_each_lot_in_draw_down_order(self, client, acme):
        soon = grant(client, acme, "0.01", expires_at="2026-02-01T00:00:00Z")
        later = grant(client, acme, "1")

        answer = post_usage(client, call("call-1", 61))

        assert answer["paid_by"] == [
            {"lot_id": soon["id"], "unit": "EUR", "amount": "0.01"},
            {"lot_id": later["id"], "unit": "EUR", "amount": "0.018"},
        ]
        assert answer["balance"] == {"total": "0.982", "available": "0.982"}

    def test_successive_events_lower_the_balance_by_their_exact_costs(self, client, database, acme):
        grant(client, acme, "5")
        costs = [
            post_usage(client, event)["cost"]
            for event in (call("c1", 125), sms("s1"), email("m1", 3), login("l1", "agent-1"))
        ]

        # 0.042 + 0.0079 + 0.002025 + 3.5 = 3.551925
        assert costs == ["0.042", "0.0079", "0.002025", "3.5"]
        assert totals(balance(client, acme)) == ("1.448075", "0", "1.448075")
        assert_ledger_sound(database, acme)

    def test_an_unratable_event_is_refused_and_charges_nothing(self, client, acme):
        grant(client, acme, "10")
        no_category = {**whatsapp("w1", "marketing"), "category": None}

        # A template's category decides its price: one without is refused before rating.
        refused(client, no_category, "category_required", 422)
        refused(client, call("c1", 60, "12345"), "unratable", 422)

        assert balance(client, acme)["total"] == "10"
        assert [entry["kind"] for entry in journal(client)] == ["grant"]

    def test_an_unknown_account_is_a_404(self, client, price_list):
        refused(client, sms("s1", account_id="nobody"), "account_not_found", 404)


class TestAllowances:
    def test_plan_seconds_pay_first_and_money_pays_the_uncovered_seconds(
        self, client, database, clock, acme
    ):
        money = grant(client, acme, "1")
        seconds = grant_seconds(client, acme, "120")

        answer = post_usage(client, call("call-1", 150))

        # 150 s bills 180 s: 120 s from the plan, 60 s at 0.014/min.
        assert answer["cost"] == "0.014"
        assert answer["quantity"] == 180  # billed seconds (SPEC §6)
        assert answer["paid_by"] == [
            {"lot_id": seconds["id"], "unit": "SECONDS", "amount": "120"},
            {"lot_id": money["id"], "unit": "EUR", "amount": "0.014"},
        ]
        assert answer["balance"] == {"total": "0.986", "available": "0.986"}
        assert allowance(balance(client, acme)) == ("0", "0", "0")
        assert_ledger_sound(database, acme, now=clock.now())

    def test_a_call_the_plan_covers_costs_no_money(self, client, database, acme):
        grant(client, acme, "1")
        seconds = grant_seconds(client, acme, "300")

        answer = post_usage(client, call("call-1", 100))

        assert answer["cost"] == "0"
        assert answer["paid_by"] == [{"lot_id": seconds["id"], "unit": "SECONDS", "amount": "120"}]
        assert answer["balance"] == {"total": "1", "available": "1"}
        assert allowance(balance(client, acme)) == ("180", "0", "180")
        assert_ledger_sound(database, acme)

    def test_the_uncovered_part_is_charged_second_by_second_at_the_rate(self, client, acme):
        grant(client, acme, "1")
        grant_seconds(client, acme, "90")

        answer = post_usage(client, call("call-1", 150))

        # 180 billed seconds − 90 from the plan = 90 s × 0.014 / 60 = 0.021.
        assert answer["cost"] == "0.021"
        assert [entry["amount"] for entry in answer["paid_by"]] == ["90", "0.021"]

    def test_the_connect_fee_is_always_paid_with_money(self, client, acme):
        money = grant(client, acme, "1")
        seconds = grant_seconds(client, acme, "300")

        answer = post_usage(client, call("call-1", 100, LONDON))

        assert answer["cost"] == "0.05"
        assert answer["paid_by"] == [
            {"lot_id": seconds["id"], "unit": "SECONDS", "amount": "120"},
            {"lot_id": money["id"], "unit": "EUR", "amount": "0.05"},
        ]

    def test_plan_seconds_do_not_pay_for_other_channels(self, client, acme):
        money = grant(client, acme, "1")
        grant_seconds(client, acme, "300")

        answer = post_usage(client, sms("s1"))

        assert answer["paid_by"] == [{"lot_id": money["id"], "unit": "EUR", "amount": "0.0079"}]
        assert allowance(balance(client, acme)) == ("300", "0", "300")

    def test_a_refused_call_spends_no_plan_seconds(self, client, database, acme):
        grant(client, acme, "0.01")
        grant_seconds(client, acme, "60")

        # 180 s bills 180: 60 from the plan, 120 s = 0.028 of money, only 0.01 there.
        refused(client, call("call-1", 180), "insufficient_credit")

        assert allowance(balance(client, acme)) == ("60", "0", "60")
        assert balance(client, acme)["total"] == "0.01"
        assert_ledger_sound(database, acme)


class TestListAllocations:
    def test_an_event_for_an_allocated_list_is_paid_from_the_allocation_only(
        self, client, database, acme
    ):
        grant(client, acme, "10")
        allocate(client, acme, "sales", "1")

        answer = post_usage(client, sms("s1", list_id="sales"))

        assert answer["cost"] == "0.0079"
        after = balance(client, acme)
        assert list_figures(after)["sales"]["balance"] == "0.9921"
        assert after["unassigned"]["balance"] == "9"
        assert answer["balance"] == {"total": "9.9921", "available": "9.9921"}
        assert_ledger_sound(database, acme)

    def test_a_list_without_allocation_spends_from_the_pool(self, client, acme):
        grant(client, acme, "10")
        allocate(client, acme, "sales", "1")

        post_usage(client, sms("s1", list_id="support"))

        after = balance(client, acme)
        assert after["unassigned"]["balance"] == "8.9921"
        assert list_figures(after)["sales"]["balance"] == "1"

    def test_the_allocation_is_the_lists_spending_limit(self, client, database, acme):
        grant(client, acme, "10")
        allocate(client, acme, "sales", "0.02")

        refused(client, call("call-1", 61, list_id="sales"), "insufficient_credit")

        after = balance(client, acme)
        assert list_figures(after)["sales"]["balance"] == "0.02"
        assert after["unassigned"]["balance"] == "9.98"
        assert account_status(client) == ("active", "0")
        assert_ledger_sound(database, acme)


def account_status(client, account_id: str = "acme") -> tuple[str, str]:
    answer = client.get(f"/v1/accounts/{account_id}").json()
    return answer["status"], answer["debt"]


class TestDayPass:
    def test_the_first_login_of_a_local_day_costs_the_pass_later_ones_nothing(
        self, client, database, acme
    ):
        grant(client, acme, "20")

        # acme is in Europe/Paris (UTC+1 in winter).
        first = post_usage(client, login("l1", "agent-7", "2025-12-31T23:30:00Z"))  # Jan 1, 00:30
        same_day = post_usage(client, login("l2", "agent-7", "2026-01-01T12:00:00Z"))
        last_minute = post_usage(client, login("l3", "agent-7", "2026-01-01T22:59:59Z"))  # 23:59:59
        # Jan 2, 00:00 in Paris:
        next_day = post_usage(client, login("l4", "agent-7", "2026-01-01T23:00:00Z"))

        assert [
            (a["cost"], a["quantity"], a["quantity_unit"])
            for a in (first, same_day, last_minute, next_day)
        ] == [
            ("3.5", 1, "day"),
            ("0", 0, "day"),
            ("0", 0, "day"),
            ("3.5", 1, "day"),
        ]
        assert same_day["paid_by"] == []
        assert balance(client, acme)["total"] == "13"
        assert_ledger_sound(database, acme)

    def test_the_day_is_the_accounts_local_day_not_utcs(self, client, price_list):
        create_account(client, "paris", timezone="Europe/Paris")
        create_account(client, "london", timezone="UTC")
        for account_id in ("paris", "london"):
            grant(client, account_id, "20")

        costs = {
            account_id: [
                post_usage(client, login(f"l{i}", "agent-1", at, account_id=account_id))["cost"]
                for i, at in enumerate(
                    ("2025-12-31T22:30:00Z", "2025-12-31T23:30:00Z", "2026-01-01T00:30:00Z")
                )
            ]
            for account_id in ("paris", "london")
        }

        # Paris: Dec 31 23:30, then Jan 1 00:30 and 01:30. UTC: Dec 31 twice, then Jan 1.
        assert costs == {"paris": ["3.5", "3.5", "0"], "london": ["3.5", "0", "3.5"]}

    def test_each_user_buys_their_own_pass(self, client, acme):
        grant(client, acme, "20")

        costs = [
            post_usage(client, login(f"l{i}", user))["cost"]
            for i, user in enumerate(("agent-1", "agent-2", "agent-1", "agent-2", "agent-3"))
        ]

        assert costs == ["3.5", "3.5", "0", "0", "3.5"]
        assert balance(client, acme)["total"] == "9.5"

    def test_a_login_refused_for_credit_buys_no_pass(self, client, acme):
        grant(client, acme, "1")

        refused(client, login("l1", "agent-1"), "insufficient_credit")
        grant(client, acme, "10")
        answer = post_usage(client, login("l2", "agent-1"))

        assert answer["cost"] == "3.5"
        assert answer["balance"]["total"] == "7.5"

    @pytest.mark.parametrize(
        ("timezone", "occurred_at"),
        [
            ("Europe/Paris", "9999-12-31T23:30:00Z"),  # locally in year 10000
            ("UTC", "9999-12-31T12:00:00-05:00"),  # no midnight after 9999-12-31
            ("America/New_York", "0001-01-01T02:00:00Z"),  # locally in year 0
        ],
    )
    def test_a_login_at_the_edge_of_the_calendar_is_refused_not_a_server_error(
        self, client, price_list, timezone, occurred_at
    ):
        """No local day (or no next midnight) exists there to price a day pass for."""
        create_account(client, "edge", timezone=timezone)
        grant(client, "edge", "10")

        refused(
            client, login("l1", "agent-1", occurred_at, account_id="edge"), "invalid_instant", 422
        )

        assert balance(client, "edge")["total"] == "10"

    def test_a_login_without_a_user_is_refused(self, client, acme):
        grant(client, acme, "10")
        event = login("l1", "agent-1")
        del event["user_id"]

        refused(client, event, "invalid_request", 422)

        assert balance(client, acme)["total"] == "10"


class TestIdempotency:
    def test_a_replay_answers_the_first_answer_and_charges_nothing(
        self, client, database, clock, acme
    ):
        grant(client, acme, "10")
        first = post_usage(client, call("call-1", 61))
        entries = journal(client)

        clock.advance(minutes=5)
        post_usage(client, sms("s1"))  # the balance moves on
        replay = post_usage(client, call("call-1", 61))

        assert replay == first
        assert replay["balance"]["total"] == "9.972"  # as it was then
        assert balance(client, acme)["total"] == "9.9641"  # 10 − 0.028 − 0.0079, once each
        assert len(journal(client)) == len(entries) + 1
        assert_ledger_sound(database, acme)

    def test_an_equal_instant_written_differently_is_the_same_event(self, client, acme):
        grant(client, acme, "10")
        first = post_usage(client, call("call-1", 61))

        replay = post_usage(
            client, {**call("call-1", 61), "occurred_at": "2026-01-01T01:00:00+01:00"}
        )

        assert replay == first
        assert balance(client, acme)["total"] == "9.972"

    def test_a_replayed_day_pass_is_not_a_second_login(self, client, acme):
        grant(client, acme, "10")
        first = post_usage(client, login("l1", "agent-1"))

        replay = post_usage(client, login("l1", "agent-1"))

        assert replay == first
        assert replay["cost"] == "3.5"
        assert balance(client, acme)["total"] == "6.5"

    @pytest.mark.parametrize(
        "changed",
        [
            {"duration_seconds": 62},
            {"to": FR_FIXED},
            {"direction": "inbound"},
            {"occurred_at": "2026-01-01T00:00:01Z"},
            {"list_id": "sales"},
            {"customer_id": "cust-9"},
            {"allow_debt": True},
            {"channel": "sms", "duration_seconds": None, "text": "hi"},
        ],
    )
    def test_the_same_id_with_different_content_is_a_conflict(
        self, client, database, acme, changed
    ):
        grant(client, acme, "10")
        post_usage(client, call("call-1", 61))

        refused(client, {**call("call-1", 61), **changed}, "idempotency_conflict", 409)

        assert balance(client, acme)["total"] == "9.972"
        assert_ledger_sound(database, acme)

    def test_the_same_id_on_two_accounts_is_two_events(self, client, database, acme):
        create_account(client, "globex")
        grant(client, acme, "10")
        grant(client, "globex", "10")

        ours = post_usage(client, call("call-1", 61))
        theirs = post_usage(client, call("call-1", 125, account_id="globex"))

        assert (ours["cost"], theirs["cost"]) == ("0.028", "0.042")
        assert balance(client, acme)["total"] == "9.972"
        assert balance(client, "globex")["total"] == "9.958"
        assert_ledger_sound(database, acme, "globex")

    def test_a_refused_event_can_be_sent_again_once_credit_arrives(self, client, database, acme):
        grant(client, acme, "0.01")
        refused(client, call("call-1", 61), "insufficient_credit")

        grant(client, acme, "1")
        answer = post_usage(client, call("call-1", 61))

        assert answer["cost"] == "0.028"
        assert answer["balance"]["total"] == "0.982"
        assert post_usage(client, call("call-1", 61)) == answer
        assert_ledger_sound(database, acme)


def run_together(app, events: list[dict]) -> list:
    """POST every event from its own thread and client, all released at once."""
    barrier = threading.Barrier(len(events))

    def send(event: dict):
        with TestClient(app, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}) as own:
            barrier.wait(timeout=30)
            return own.post("/v1/usage", json=event)

    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        return list(pool.map(send, events))


@pytest.mark.slow
class TestAtTheSameTime:
    def test_the_same_event_sent_eight_times_at_once_is_charged_once(
        self, app, client, database, acme
    ):
        grant(client, acme, "1")

        responses = run_together(app, [call("call-1", 61)] * 8)

        assert {r.status_code for r in responses} == {200}
        assert len({r.text for r in responses}) == 1
        assert balance(client, acme)["total"] == "0.972"
        assert_ledger_sound(database, acme)

    def test_the_first_login_of_the_day_is_paid_once_however_many_arrive_at_once(
        self, app, client, database, acme
    ):
        grant(client, acme, "10")

        responses = run_together(app, [login(f"l{i}", "agent-1") for i in range(6)])

        assert sorted(r.json()["cost"] for r in responses) == ["0"] * 5 + ["3.5"]
        assert balance(client, acme)["total"] == "6.5"
        assert_ledger_sound(database, acme)

    def test_concurrent_calls_never_overdraw(self, app, client, database, acme):
        grant(client, acme, "0.1")

        # Eight 3-minute calls of 0.042: two fit in 0.1, the other six are refused.
        responses = run_together(app, [call(f"c{i}", 180) for i in range(8)])

        assert sorted(r.status_code for r in responses) == [200] * 2 + [402] * 6
        assert totals(balance(client, acme)) == ("0.016", "0", "0.016")
        assert account_status(client) == ("active", "0")
        assert_ledger_sound(database, acme)


def test_every_event_is_dated_by_its_own_occurred_at_not_the_clock(client, clock, acme):
    """The price list in force when the event happened rates it (here: before a price rise)."""
    grant(client, acme, "10")
    dearer = [{**row, "price": "0.02"} if row["channel"] == "sms" else row for row in PRICE_ROWS]
    put_price_list(client, dearer, effective_from="2026-01-01T00:00:00Z")
    clock.advance(days=1)

    before = post_usage(client, {**sms("s1"), "occurred_at": "2025-12-31T23:59:59Z"})
    after = post_usage(client, {**sms("s2"), "occurred_at": NOW})

    assert (before["cost"], after["cost"]) == ("0.0079", "0.02")

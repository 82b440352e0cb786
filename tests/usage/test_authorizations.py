"""Online charging for calls (SPEC §6): authorize, extend, capture, release.

The figures used throughout, at 0.014 per minute billed 60/60:

- 1.00 available, no connect fee. The longest billed call b must cost
  b × 0.014 / 60 ≤ 1.00 (half-up to the micro): b ≤ 4285 s, and in whole 60 s
  increments that is 71 minutes = 4260 s (71 × 0.014 = 0.994; 72 minutes = 1.008).
- 1.00 available, 0.05 connect fee (+4420): 0.95 is left for minutes,
  0.95 / 0.014 = 67.86, so 67 minutes = 4020 s (0.938 + 0.05 = 0.988; 68 min = 1.002).
- A slice is 300 s = 5 minutes = 0.07 reserved (0.12 with the connect fee).
- 0.999 available at 0.1 per minute billed 30/6 (+3933): b × 0.1 / 60 ≤ 0.999 gives
  b ≤ 599; 30 s then whole 6 s steps: 30 + 94 × 6 = 594 s (0.99; 600 s would be 1.00).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.helpers import (
    allocate,
    assert_ledger_sound,
    balance,
    create_account,
    grant,
    list_figures,
)
from tests.usage.conftest import (
    FR_MOBILE,
    FR_TOLL_FREE,
    ITALY,
    LONDON,
    NOT_A_NUMBER,
    account,
    allowance,
    call,
    grant_seconds,
    journal,
    post_usage,
    sms,
    totals,
)
from tollgate.clock import parse_instant


def authorize(
    client, to: str = FR_MOBILE, status: int = 201, account_id: str = "acme", **extra
) -> dict:
    response = client.post(
        "/v1/authorizations",
        json={
            "account_id": account_id,
            "channel": "voice",
            "direction": "outbound",
            "to": to,
            **extra,
        },
    )
    assert response.status_code == status, response.text
    return response.json()


def extend(client, authorization_id: str, status: int = 200) -> dict:
    response = client.post(f"/v1/authorizations/{authorization_id}/extend")
    assert response.status_code == status, response.text
    return response.json()


def capture(client, authorization_id: str, seconds: int, status: int = 200) -> dict:
    response = client.post(
        f"/v1/authorizations/{authorization_id}/capture", json={"duration_seconds": seconds}
    )
    assert response.status_code == status, response.text
    return response.json()


def release(client, authorization_id: str, status: int = 200) -> dict:
    response = client.post(f"/v1/authorizations/{authorization_id}/release")
    assert response.status_code == status, response.text
    return response.json()


def figures(answer: dict) -> tuple[int, int]:
    return answer["max_seconds"], answer["granted_seconds"]


def status(client, account_id: str = "acme") -> tuple[str, str]:
    answer = account(client, account_id)
    return answer["status"], answer["debt"]


class TestAuthorize:
    def test_max_seconds_is_the_longest_call_the_credit_covers(self, client, database, clock, acme):
        grant(client, acme, "1.00")

        answer = authorize(client)

        assert figures(answer) == (4260, 300)  # see the module docstring
        assert answer["id"]
        assert parse_instant(answer["expires_at"]) >= clock.now() + timedelta(seconds=300)
        assert_ledger_sound(database, acme, now=clock.now())

    def test_a_connect_fee_shortens_the_longest_call(self, client, acme):
        grant(client, acme, "1.00")

        assert figures(authorize(client, LONDON)) == (4020, 300)

    def test_whole_increments_other_than_minutes(self, client, acme):
        grant(client, acme, "0.999")

        answer = authorize(client, ITALY)

        # See the module docstring; the slice is 30 + 45 × 6 = 300 s, 0.5 reserved.
        assert figures(answer) == (594, 300)
        assert totals(balance(client, acme)) == ("0.999", "0.5", "0.499")

    def test_an_inbound_call_is_authorized_at_the_inbound_price(self, client, acme):
        grant(client, acme, "1.00")

        answer = authorize(client, FR_TOLL_FREE, direction="inbound")

        # 1.00 / 0.022 = 45.45 minutes: 2700 s; a slice of 5 minutes holds 0.11.
        assert figures(answer) == (2700, 300)
        assert totals(balance(client, acme)) == ("1", "0.11", "0.89")

    def test_the_granted_slice_is_reserved_in_the_balance(self, client, database, clock, acme):
        grant(client, acme, "1.00")

        authorize(client)

        assert totals(balance(client, acme)) == ("1", "0.07", "0.93")
        assert_ledger_sound(database, acme, now=clock.now())

    def test_with_a_connect_fee_the_fee_is_reserved_too(self, client, acme):
        grant(client, acme, "1.00")

        authorize(client, LONDON)

        assert totals(balance(client, acme)) == ("1", "0.12", "0.88")

    def test_less_than_a_slice_of_credit_grants_what_it_covers(self, client, acme):
        grant(client, acme, "0.05")

        # 0.05 / 0.014 = 3.57 minutes: 180 s.
        assert figures(authorize(client)) == (180, 180)
        assert totals(balance(client, acme)) == ("0.05", "0.042", "0.008")

    def test_exactly_one_increment_of_credit(self, client, acme):
        grant(client, acme, "0.014")

        assert figures(authorize(client)) == (60, 60)
        assert totals(balance(client, acme)) == ("0.014", "0.014", "0")

    @pytest.mark.parametrize(
        ("credit", "to"),
        [
            pytest.param("0.013999", FR_MOBILE, id="one-micro-short"),
            pytest.param("0.06", LONDON, id="connect-fee-leaves-too-little"),
            pytest.param(None, FR_MOBILE, id="no-credit"),
        ],
    )
    def test_not_even_the_first_increment_covered_is_a_402_and_no_authorization(
        self, client, database, acme, credit, to
    ):
        if credit:
            grant(client, acme, credit)
        before = journal(client)

        answer = authorize(client, to, status=402)

        assert answer["error"]["code"] == "insufficient_credit"
        assert balance(client, acme)["reserved"] == "0"
        assert journal(client) == before
        assert status(client) == ("active", "0")
        assert_ledger_sound(database, acme)

    def test_many_calls_of_one_account_run_at_once(self, client, database, acme):
        grant(client, acme, "1.00")

        answers = [authorize(client) for _ in range(3)]

        # Each takes one slice; what is left shrinks by 0.07 each time.
        assert [figures(a) for a in answers] == [(4260, 300), (3960, 300), (3660, 300)]
        assert len({a["id"] for a in answers}) == 3
        assert totals(balance(client, acme)) == ("1", "0.21", "0.79")
        assert_ledger_sound(database, acme)

    def test_a_list_with_an_allocation_authorizes_from_its_allocation(self, client, database, acme):
        grant(client, acme, "10")
        allocate(client, acme, "sales", "0.5")

        answer = authorize(client, list_id="sales")

        # 0.5 / 0.014 = 35.7 minutes: 2100 s.
        assert figures(answer) == (2100, 300)
        after = balance(client, acme)
        assert list_figures(after)["sales"]["reserved"] == "0.07"
        assert after["unassigned"]["reserved"] == "0"
        assert_ledger_sound(database, acme)

    def test_a_number_the_price_list_cannot_rate_is_refused(self, client, acme):
        grant(client, acme, "1")

        answer = authorize(client, NOT_A_NUMBER, status=422)

        assert answer["error"]["code"] == "unratable"
        assert balance(client, acme)["reserved"] == "0"

    def test_an_unknown_account_is_a_404(self, client, price_list):
        answer = authorize(client, account_id="nobody", status=404)

        assert answer["error"]["code"] == "account_not_found"


class TestExtend:
    def test_reserves_the_next_slice(self, client, database, clock, acme):
        grant(client, acme, "1.00")
        opened = authorize(client)

        extended = extend(client, opened["id"])

        assert extended["id"] == opened["id"]
        # The longest call is still 4260 s: the credit has not changed, only what is held.
        assert figures(extended) == (4260, 600)
        assert totals(balance(client, acme)) == ("1", "0.14", "0.86")
        assert_ledger_sound(database, acme, now=clock.now())

    def test_with_a_connect_fee_the_fee_is_held_once(self, client, acme):
        grant(client, acme, "1.00")
        opened = authorize(client, LONDON)

        extended = extend(client, opened["id"])

        assert figures(extended) == (4020, 600)
        assert totals(balance(client, acme)) == ("1", "0.19", "0.81")

    def test_the_last_slice_is_what_is_left(self, client, acme):
        grant(client, acme, "0.1")  # 7 minutes: 420 s
        opened = authorize(client)

        extended = extend(client, opened["id"])

        assert figures(opened) == (420, 300)
        assert figures(extended) == (420, 420)
        assert totals(balance(client, acme)) == ("0.1", "0.098", "0.002")

    def test_nothing_more_available_is_a_402_and_the_authorization_keeps_what_it_holds(
        self, client, database, acme
    ):
        grant(client, acme, "0.08")  # one slice (0.07), then 0.01: not a minute more
        opened = authorize(client)
        assert figures(opened) == (300, 300)

        answer = extend(client, opened["id"], status=402)

        assert answer["error"]["code"] == "insufficient_credit"
        assert totals(balance(client, acme)) == ("0.08", "0.07", "0.01")
        # Still usable: the call ends within what it holds.
        captured = capture(client, opened["id"], 280)
        assert captured["usage"]["cost"] == "0.07"
        assert totals(balance(client, acme)) == ("0.01", "0", "0.01")
        assert_ledger_sound(database, acme)

    def test_credit_arriving_later_can_be_reserved(self, client, acme):
        grant(client, acme, "0.08")
        opened = authorize(client)
        extend(client, opened["id"], status=402)

        grant(client, acme, "1")
        extended = extend(client, opened["id"])

        assert extended["granted_seconds"] == 600
        assert totals(balance(client, acme)) == ("1.08", "0.14", "0.94")


class TestCapture:
    @pytest.mark.parametrize(
        "to", [FR_MOBILE, LONDON, ITALY], ids=["no-connect-fee", "connect-fee", "30-6"]
    )
    @pytest.mark.parametrize("seconds", [0, 1, 60, 61, 299, 300, 301, 650, 1000])
    def test_charges_exactly_like_a_usage_event_of_that_duration(
        self, client, database, clock, acme, to, seconds
    ):
        # Capture never fails for credit: its twin is a usage event that may go into debt.
        create_account(client, "twin")
        grant(client, acme, "1.00")
        grant(client, "twin", "1.00")
        opened = authorize(client, to)
        if seconds > 600:
            extend(client, opened["id"])

        captured = capture(client, opened["id"], seconds)
        usage = post_usage(
            client, call("twin-call", seconds, to, account_id="twin", allow_debt=True)
        )

        assert captured["status"] == "captured"
        charged = captured["usage"]
        for field in ("cost", "unit", "quantity", "quantity_unit", "debt", "balance"):
            assert charged[field] == usage[field], field
        assert [p["amount"] for p in charged["paid_by"]] == [p["amount"] for p in usage["paid_by"]]
        # Nothing stays reserved: the rest of the slices is released.
        assert totals(balance(client, acme)) == totals(balance(client, "twin"))
        assert balance(client, acme)["reserved"] == "0"
        twin = account(client, "twin")
        assert status(client) == (twin["status"], twin["debt"])
        assert_ledger_sound(database, acme, "twin", now=clock.now())

    def test_the_figures_of_one_capture(self, client, acme):
        lot = grant(client, acme, "1.00")
        opened = authorize(client)

        captured = capture(client, opened["id"], 125)

        # 125 s bills 180 s: 0.042; the other 0.028 of the slice goes back.
        usage = captured["usage"]
        assert (usage["cost"], usage["quantity"], usage["quantity_unit"]) == (
            "0.042",
            180,  # billed seconds (SPEC §6)
            "second",
        )
        assert usage["paid_by"] == [{"lot_id": lot["id"], "unit": "EUR", "amount": "0.042"}]
        assert usage["balance"] == {"total": "0.958", "available": "0.958"}
        assert totals(balance(client, acme)) == ("0.958", "0", "0.958")

    def test_a_call_longer_than_its_slices_draws_the_rest_from_available_credit(
        self, client, database, acme
    ):
        grant(client, acme, "1.00")
        opened = authorize(client)  # 300 s held

        captured = capture(client, opened["id"], 601)  # bills 660 s

        assert captured["usage"]["cost"] == "0.154"
        assert totals(balance(client, acme)) == ("0.846", "0", "0.846")
        assert status(client) == ("active", "0")
        assert_ledger_sound(database, acme)

    def test_a_call_beyond_the_credit_is_charged_and_the_shortfall_is_debt(
        self, client, database, clock, acme
    ):
        grant(client, acme, "0.08")
        opened = authorize(client)  # 0.07 held, 0.01 available

        captured = capture(client, opened["id"], 900)  # 15 minutes: 0.21

        assert captured["status"] == "captured"
        usage = captured["usage"]
        assert (usage["cost"], usage["debt"]) == ("0.21", "0.13")
        assert usage["balance"] == {"total": "0", "available": "0"}
        assert status(client) == ("blocked", "0.13")
        assert_ledger_sound(database, acme, now=clock.now())
        # Blocked like any account in debt; the next grant pays the debt first.
        assert authorize(client, status=402)["error"]["code"] == "account_blocked"
        assert grant(client, acme, "1")["debt_paid"] == "0.13"
        assert status(client) == ("active", "0")

    def test_a_call_extended_three_times_is_one_charge(self, client, database, clock, acme):
        """Slices are reservations; the call is one movement of credit, whatever the number
        of slices it took: one journal entry, paying from every slice in turn, from
        plan seconds and money, the rest from available credit and into debt."""
        grant(client, acme, "0.20")
        grant_seconds(client, acme, "400")
        opened = authorize(client)
        for _ in range(3):
            extend(client, opened["id"])

        captured = capture(client, opened["id"], 3000)  # 50 min: 400 s plan, 2600 s money

        usage = captured["usage"]
        # 2,600 s of money at 0.014/min is 0.606667: 0.20 paid, the rest is debt.
        assert (usage["cost"], usage["debt"]) == ("0.606667", "0.406667")
        entries = [entry for entry in journal(client) if entry["kind"] != "grant"]
        assert [(e["kind"], e["reference"]) for e in entries] == [
            ("capture", f"usage:{opened['id']}")
        ]
        moved: dict[tuple[str, str], Decimal] = {}
        for posting in entries[0]["postings"]:
            key = (posting["ledger_account"], posting["unit"])
            moved[key] = moved.get(key, Decimal(0)) + Decimal(posting["amount"])
        assert moved == {
            ("pool", "SECONDS"): Decimal(-400),
            ("system:revenue:voice", "SECONDS"): Decimal(400),
            ("pool", "EUR"): Decimal("-0.2"),
            ("debt", "EUR"): Decimal("-0.406667"),
            ("system:revenue:voice", "EUR"): Decimal("0.606667"),
        }
        assert_ledger_sound(database, acme, now=clock.now())

    def test_capture_on_an_account_another_call_blocked_still_succeeds(
        self, client, database, acme
    ):
        grant(client, acme, "0.14")
        first = authorize(client)
        second = authorize(client)
        assert totals(balance(client, acme)) == ("0.14", "0.14", "0")

        capture(client, first["id"], 600)  # 0.14: its 0.07, then nothing available → 0.07 debt
        assert status(client) == ("blocked", "0.07")
        captured = capture(client, second["id"], 120)

        assert captured["usage"]["cost"] == "0.028"
        assert status(client) == ("blocked", "0.07")
        # 0.14 − 0.14 − 0.028: the second call paid from its own slice.
        assert totals(balance(client, acme)) == ("0.042", "0", "0.042")
        assert_ledger_sound(database, acme)

    def test_capturing_twice_is_a_conflict(self, client, database, acme):
        grant(client, acme, "1")
        opened = authorize(client)
        capture(client, opened["id"], 61)

        answer = capture(client, opened["id"], 61, status=409)

        assert answer["error"]["code"] == "authorization_not_active"
        assert balance(client, acme)["total"] == "0.972"
        assert_ledger_sound(database, acme)

    def test_an_unknown_authorization_is_a_404(self, client, acme):
        response = client.post("/v1/authorizations/auth_nope/capture", json={"duration_seconds": 1})

        assert response.status_code == 404, response.text


class TestLapse:
    def test_an_abandoned_authorization_lapses_and_gives_the_credit_back(
        self, client, database, clock, acme
    ):
        grant(client, acme, "1")
        opened = authorize(client)

        clock.set(parse_instant(opened["expires_at"]) + timedelta(seconds=1))

        assert totals(balance(client, acme)) == ("1", "0", "1")
        assert_ledger_sound(database, acme, now=clock.now())

    def test_a_call_captured_after_its_slice_lapsed_is_still_charged(
        self, client, database, clock, acme
    ):
        grant(client, acme, "1")
        opened = authorize(client)
        clock.set(parse_instant(opened["expires_at"]) + timedelta(seconds=1))

        captured = capture(client, opened["id"], 120)

        assert captured["usage"]["cost"] == "0.028"
        assert totals(balance(client, acme)) == ("0.972", "0", "0.972")
        assert_ledger_sound(database, acme)

    def test_extending_keeps_the_earlier_slices_held(self, client, database, clock, acme):
        grant(client, acme, "1")
        opened = authorize(client)
        first_expiry = parse_instant(opened["expires_at"])

        clock.set(first_expiry - timedelta(seconds=60))
        extended = extend(client, opened["id"])
        clock.set(first_expiry + timedelta(seconds=60))

        assert parse_instant(extended["expires_at"]) > clock.now()
        assert totals(balance(client, acme)) == ("1", "0.14", "0.86")
        assert capture(client, opened["id"], 540)["usage"]["cost"] == "0.126"
        assert totals(balance(client, acme)) == ("0.874", "0", "0.874")
        assert_ledger_sound(database, acme, now=clock.now())


class TestRelease:
    def test_cancels_and_restores_the_balance(self, client, database, clock, acme):
        grant(client, acme, "1")
        opened = authorize(client, LONDON)
        extend(client, opened["id"])
        before = [entry["kind"] for entry in journal(client)]

        released = release(client, opened["id"])

        assert released["status"] == "released"
        assert totals(balance(client, acme)) == ("1", "0", "1")
        assert [entry["kind"] for entry in journal(client)] == before  # nothing was charged
        assert_ledger_sound(database, acme, now=clock.now())

    def test_releasing_twice_is_a_conflict(self, client, acme):
        grant(client, acme, "1")
        opened = authorize(client)
        release(client, opened["id"])

        assert (
            release(client, opened["id"], status=409)["error"]["code"] == "authorization_not_active"
        )
        assert totals(balance(client, acme)) == ("1", "0", "1")

    def test_a_released_authorization_cannot_be_captured_or_extended(self, client, acme):
        grant(client, acme, "1")
        opened = authorize(client)
        release(client, opened["id"])

        capture(client, opened["id"], 60, status=409)
        extend(client, opened["id"], status=409)

        assert totals(balance(client, acme)) == ("1", "0", "1")

    def test_a_captured_authorization_cannot_be_released(self, client, acme):
        grant(client, acme, "1")
        opened = authorize(client)
        capture(client, opened["id"], 60)

        release(client, opened["id"], status=409)

        assert totals(balance(client, acme)) == ("0.986", "0", "0.986")


class TestPlanSeconds:
    def test_plan_seconds_come_first(self, client, database, clock, acme):
        grant(client, acme, "1.00")
        grant_seconds(client, acme, "120")

        opened = authorize(client)

        # 120 plan seconds, then 4285 s of money (as above): 4405 s, in increments 4380.
        assert figures(opened) == (4380, 300)
        # The slice: 120 s from the plan, 180 s as money (0.042).
        after = balance(client, acme)
        assert totals(after) == ("1", "0.042", "0.958")
        assert allowance(after) == ("120", "120", "0")
        assert_ledger_sound(database, acme, now=clock.now())

    def test_a_call_the_plan_covers_holds_no_money(self, client, acme):
        grant(client, acme, "1.00")
        grant_seconds(client, acme, "600")

        opened = authorize(client)

        # 600 plan seconds, then 4260 s of money.
        assert figures(opened) == (4860, 300)
        after = balance(client, acme)
        assert totals(after) == ("1", "0", "1")
        assert allowance(after) == ("600", "300", "300")

    def test_plan_seconds_alone_authorize_a_call(self, client, acme):
        grant_seconds(client, acme, "90")

        # No money: 90 plan seconds cover one 60 s increment (and not two).
        assert figures(authorize(client)) == (60, 60)

    def test_plan_seconds_do_not_pay_a_connect_fee(self, client, acme):
        grant_seconds(client, acme, "600")

        assert authorize(client, LONDON, status=402)["error"]["code"] == "insufficient_credit"

    @pytest.mark.parametrize("seconds", [50, 150, 300, 400])
    def test_capture_pays_like_usage_plan_seconds_first(self, client, database, acme, seconds):
        create_account(client, "twin")
        for account_id in (acme, "twin"):
            grant(client, account_id, "1.00")
            grant_seconds(client, account_id, "120")
        opened = authorize(client)

        captured = capture(client, opened["id"], seconds)["usage"]
        usage = post_usage(client, call("twin-call", seconds, account_id="twin"))

        assert captured["cost"] == usage["cost"]
        assert [(p["unit"], p["amount"]) for p in captured["paid_by"]] == [
            (p["unit"], p["amount"]) for p in usage["paid_by"]
        ]
        assert captured["balance"] == usage["balance"]
        assert allowance(balance(client, acme)) == allowance(balance(client, "twin"))
        assert totals(balance(client, acme)) == totals(balance(client, "twin"))
        assert_ledger_sound(database, acme, "twin")

    def test_the_figures_of_a_capture_with_plan_seconds(self, client, acme):
        grant(client, acme, "1.00")
        grant_seconds(client, acme, "120")
        opened = authorize(client)

        usage = capture(client, opened["id"], 150)["usage"]

        # 150 s bills 180 s: 120 s from the plan, 60 s of money.
        assert usage["cost"] == "0.014"
        assert [(p["unit"], p["amount"]) for p in usage["paid_by"]] == [
            ("SECONDS", "120"),
            ("EUR", "0.014"),
        ]
        after = balance(client, acme)
        assert totals(after) == ("0.986", "0", "0.986")
        assert allowance(after) == ("0", "0", "0")

    def test_released_plan_seconds_come_back(self, client, acme):
        grant(client, acme, "1.00")
        grant_seconds(client, acme, "120")
        opened = authorize(client)

        release(client, opened["id"])

        after = balance(client, acme)
        assert totals(after) == ("1", "0", "1")
        assert allowance(after) == ("120", "0", "120")


def test_the_reserved_slice_limits_other_usage(client, acme):
    """Held credit is not available: an SMS cannot spend what a call has reserved."""
    grant(client, acme, "0.075")
    authorize(client)  # holds 0.07

    answer = post_usage(client, sms("s1"), status=402)

    assert answer["error"]["code"] == "insufficient_credit"

"""SPEC §4, expiry: at ``expires_at`` a lot's unreserved remainder goes to breakage,
first from the unassigned pool's available credit, the rest from the list allocations
in proportion to their available credit, exact in micros (largest remainder, ties by
``list_id``). Exact to the second, whether or not a job has run.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import (
    allocate,
    assert_ledger_sound,
    balance,
    create_account,
    grant,
    list_figures,
    reserve,
)
from tests.ledger.direct import charge, holds, instant, journal, lots_remaining, paid_by, postings
from tollgate.errors import InsufficientCredit
from tollgate.jobs import run_due


def figures(entry: dict) -> tuple[str, str, str]:
    return entry["balance"], entry["reserved"], entry["available"]


def totals(answer: dict) -> tuple[str, str, str]:
    return answer["total"], answer["reserved"], answer["available"]


def list_balances(answer: dict) -> dict[str, str]:
    return {list_id: entry["balance"] for list_id, entry in list_figures(answer).items()}


def expiry_entries(client) -> list[dict]:
    return [entry for entry in journal(client, "acme") if entry["kind"] == "expiry"]


@pytest.fixture
def expires_at(clock):
    return clock.now() + timedelta(days=10)


class TestWhichBucketLoses:
    def test_expiry_takes_unassigned_credit_first(self, client, database, clock, expires_at):
        create_account(client, "acme")
        grant(client, "acme", "6", expires_at=instant(expires_at))
        grant(client, "acme", "4")
        allocate(client, "acme", "sales", "3")

        clock.set(expires_at)
        after = balance(client, "acme")

        assert totals(after) == ("4", "0", "4")
        assert figures(after["unassigned"]) == ("1", "0", "1")
        assert list_balances(after) == {"sales": "3"}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_expiry_takes_only_the_pools_available_credit(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        lasting = grant(client, "acme", "4", priority=1)
        grant(client, "acme", "6", expires_at=instant(expires_at))
        held = reserve(client, "acme", "3")
        allocate(client, "acme", "sales", "3")  # the pool: 7, of which 3 reserved

        clock.set(expires_at)
        after = balance(client, "acme")

        assert holds(held) == {lasting["id"]: "3"}
        assert figures(after["unassigned"]) == ("3", "3", "0")
        assert list_balances(after) == {"sales": "1"}
        assert totals(after) == ("4", "3", "1")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_the_rest_comes_from_the_lists_in_proportion(self, client, database, clock, expires_at):
        create_account(client, "acme")
        grant(client, "acme", "6", expires_at=instant(expires_at))
        grant(client, "acme", "4")
        allocate(client, "acme", "support", "3")
        allocate(client, "acme", "sales", "5")  # the pool keeps 2

        clock.set(expires_at)
        after = balance(client, "acme")

        assert figures(after["unassigned"]) == ("0", "0", "0")
        assert list_balances(after) == {"sales": "2.5", "support": "1.5"}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_the_proportion_follows_available_not_balance(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        grant(client, "acme", "6", priority=1)
        grant(client, "acme", "2", expires_at=instant(expires_at))
        allocate(client, "acme", "sales", "5")
        allocate(client, "acme", "support", "3")
        reserve(client, "acme", "3", list_id="sales")  # sales: 2 available, support: 3

        clock.set(expires_at)
        after = balance(client, "acme")

        assert {k: figures(v) for k, v in list_figures(after).items()} == {
            "sales": ("4.2", "3", "1.2"),
            "support": ("1.8", "0", "1.8"),
        }
        assert_ledger_sound(database, "acme", now=clock.now())


class TestSplitInMicros:
    def test_one_unit_across_three_equal_lists_takes_the_extra_micro_from_the_first_list_id(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        expiring = grant(client, "acme", "1", expires_at=instant(expires_at))
        grant(client, "acme", "2")
        # Created out of order: the tie is broken by list_id, not by age.
        for list_id in ("charlie", "alpha", "bravo"):
            allocate(client, "acme", list_id, "1")

        clock.set(expires_at)
        after = balance(client, "acme")

        assert list_balances(after) == {
            "alpha": "0.666666",
            "bravo": "0.666667",
            "charlie": "0.666667",
        }
        [entry] = expiry_entries(client)
        assert sorted(postings(entry)) == [
            ("list:alpha", "-0.333334", expiring["id"]),
            ("list:bravo", "-0.333333", expiring["id"]),
            ("list:charlie", "-0.333333", expiring["id"]),
            ("system:breakage", "1", None),
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_leftover_micros_go_to_the_largest_remainders(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        grant(client, "acme", "2", expires_at=instant(expires_at))
        grant(client, "acme", "5")
        allocate(client, "acme", "alpha", "1")
        allocate(client, "acme", "bravo", "2")
        allocate(client, "acme", "charlie", "4")

        clock.set(expires_at)
        after = balance(client, "acme")

        # 2 units over 1:2:4 is 0.2857142…, 0.5714285…, 1.1428571…: the one micro
        # left after flooring goes to bravo, the largest remainder (4/7 of a micro).
        assert list_balances(after) == {
            "alpha": "0.714286",
            "bravo": "1.428571",
            "charlie": "2.857143",
        }
        assert after["total"] == "5"
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_equal_remainders_are_broken_by_list_id(self, client, database, clock, expires_at):
        create_account(client, "acme")
        grant(client, "acme", "0.000002", expires_at=instant(expires_at))
        grant(client, "acme", "2.999998")
        for list_id in ("charlie", "bravo", "alpha"):
            allocate(client, "acme", list_id, "1")

        clock.set(expires_at)
        after = balance(client, "acme")

        assert list_balances(after) == {"alpha": "0.999999", "bravo": "0.999999", "charlie": "1"}
        assert_ledger_sound(database, "acme", now=clock.now())


class TestHeldCreditOfAnExpiredLot:
    def test_the_reserved_part_stays_reserved_after_expiry(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        lot = grant(client, "acme", "10", expires_at=instant(expires_at))
        reserve(client, "acme", "4")

        run_due(database, expires_at)
        clock.set(expires_at + timedelta(hours=1))
        after = balance(client, "acme")

        assert totals(after) == ("4", "4", "0")
        assert [(x["id"], x["remaining"], x["reserved"]) for x in after["lots"]] == [
            (lot["id"], "4", "4")
        ]
        [entry] = expiry_entries(client)
        assert sorted(postings(entry)) == [
            ("pool", "-6", lot["id"]),
            ("system:breakage", "6", None),
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_the_reserved_part_expires_at_release(self, client, database, clock, expires_at):
        create_account(client, "acme")
        lot = grant(client, "acme", "10", expires_at=instant(expires_at))
        held = reserve(client, "acme", "4")
        clock.set(expires_at + timedelta(hours=1))

        response = client.post(f"/v1/reservations/{held['id']}/release")

        assert response.status_code == 200, response.text
        assert totals(balance(client, "acme")) == ("0", "0", "0")
        first, second = expiry_entries(client)
        assert sorted(postings(first)) == [
            ("pool", "-6", lot["id"]),
            ("system:breakage", "6", None),
        ]
        assert second["reference"] == held["id"]
        assert sorted(postings(second)) == [
            ("pool", "-4", lot["id"]),
            ("system:breakage", "4", None),
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capture_charges_the_held_part_and_the_rest_expires(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        lot = grant(client, "acme", "10", expires_at=instant(expires_at))
        allocate(client, "acme", "sales", "10")
        held = reserve(client, "acme", "4", list_id="sales")
        clock.set(expires_at)

        response = client.post(f"/v1/reservations/{held['id']}/capture", json={"amount": "3"})

        assert response.status_code == 200, response.text
        assert response.json()["paid_by"] == [{"lot_id": lot["id"], "unit": "EUR", "amount": "3"}]
        assert totals(balance(client, "acme")) == ("0", "0", "0")
        kinds = [(e["kind"], sorted(postings(e))) for e in journal(client, "acme")[-3:]]
        assert kinds == [
            ("expiry", [("list:sales", "-6", lot["id"]), ("system:breakage", "6", None)]),
            ("capture", [("list:sales", "-3", lot["id"]), ("system:revenue", "3", None)]),
            ("expiry", [("list:sales", "-1", lot["id"]), ("system:breakage", "1", None)]),
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_lapsing_reservation_expires_its_hold_on_an_expired_lot(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        grant(client, "acme", "10", expires_at=instant(expires_at))
        grant(client, "acme", "1")
        lapses_at = expires_at + timedelta(hours=2)
        held = reserve(client, "acme", "4", expires_at=instant(lapses_at))

        report = run_due(database, lapses_at)

        assert (report.lots_expired, report.reservations_lapsed) == (1, 1)
        assert report.expired_micros == {"EUR": 6_000_000}
        clock.set(lapses_at)
        assert totals(balance(client, "acme")) == ("1", "0", "1")
        assert client.get(f"/v1/reservations/{held['id']}").json()["status"] == "lapsed"
        breakage = sum(
            int(p["amount"])
            for e in expiry_entries(client)
            for p in e["postings"]
            if p["ledger_account"] == "system:breakage"
        )
        assert breakage == 10
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_reservation_lapsing_as_its_lot_expires_frees_the_hold_before_expiry(
        self, client, database, clock, expires_at
    ):
        # It lapses first: the whole lot is then unreserved, and expires pool first.
        create_account(client, "acme")
        grant(client, "acme", "2", priority=200)
        grant(client, "acme", "10", expires_at=instant(expires_at))
        allocate(client, "acme", "sales", "4")
        reserve(client, "acme", "4", list_id="sales", expires_at=instant(expires_at))

        clock.set(expires_at)
        after = balance(client, "acme")

        assert figures(after["unassigned"]) == ("0", "0", "0")
        assert {k: figures(v) for k, v in list_figures(after).items()} == {"sales": ("2", "0", "2")}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_reservation_lapsing_just_before_its_lot_expires_gives_the_same_result(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        grant(client, "acme", "2", priority=200)
        grant(client, "acme", "10", expires_at=instant(expires_at))
        allocate(client, "acme", "sales", "4")
        lapses_at = expires_at - timedelta(seconds=1)
        reserve(client, "acme", "4", list_id="sales", expires_at=instant(lapses_at))

        clock.set(expires_at)
        after = balance(client, "acme")

        assert figures(after["unassigned"]) == ("0", "0", "0")
        assert {k: figures(v) for k, v in list_figures(after).items()} == {"sales": ("2", "0", "2")}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_reservation_released_after_its_lot_expired_breaks_from_its_own_bucket(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        grant(client, "acme", "2", priority=200)
        grant(client, "acme", "10", expires_at=instant(expires_at))
        allocate(client, "acme", "sales", "4")
        held = reserve(client, "acme", "4", list_id="sales")

        clock.set(expires_at)
        client.post(f"/v1/reservations/{held['id']}/release")
        after = balance(client, "acme")

        # At expiry 6 unreserved went, all from the pool's 8; the held 4 went at release.
        assert figures(after["unassigned"]) == ("2", "0", "2")
        assert {k: figures(v) for k, v in list_figures(after).items()} == {"sales": ("0", "0", "0")}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capturing_more_than_held_never_spends_the_expired_lot(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        expiring = grant(client, "acme", "10", expires_at=instant(expires_at))
        lasting = grant(client, "acme", "1")
        held = reserve(client, "acme", "4")
        clock.set(expires_at)

        refused = client.post(f"/v1/reservations/{held['id']}/capture", json={"amount": "5.000001"})
        accepted = client.post(f"/v1/reservations/{held['id']}/capture", json={"amount": "5"})

        assert refused.status_code == 402
        assert refused.json()["error"]["code"] == "insufficient_credit"
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["paid_by"] == [
            {"lot_id": expiring["id"], "unit": "EUR", "amount": "4"},
            {"lot_id": lasting["id"], "unit": "EUR", "amount": "1"},
        ]
        assert totals(balance(client, "acme")) == ("0", "0", "0")
        assert_ledger_sound(database, "acme", now=clock.now())


class TestExactToTheSecond:
    def test_a_lot_is_spendable_the_second_before_it_expires(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        lot = grant(client, "acme", "5", expires_at=instant(expires_at))

        clock.set(expires_at - timedelta(seconds=1))
        held = reserve(client, "acme", "5")

        assert holds(held) == {lot["id"]: "5"}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_lot_is_not_spendable_at_its_expires_at_without_any_job(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        grant(client, "acme", "5", expires_at=instant(expires_at))

        clock.set(expires_at)
        response = client.post("/v1/accounts/acme/reservations", json={"amount": "0.000001"})
        with pytest.raises(InsufficientCredit):
            charge(database, clock, "acme", "0.000001")

        assert response.status_code == 402
        assert response.json()["error"]["code"] == "insufficient_credit"
        assert totals(balance(client, "acme")) == ("0", "0", "0")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_charge_at_expiry_is_paid_by_the_next_lot(self, client, database, clock, expires_at):
        create_account(client, "acme")
        grant(client, "acme", "5", priority=1, expires_at=instant(expires_at))
        lasting = grant(client, "acme", "3")

        clock.set(expires_at)
        result = charge(database, clock, "acme", "2")

        assert paid_by(result) == [(lasting["id"], "2")]
        assert totals(balance(client, "acme")) == ("1", "0", "1")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_the_balance_never_counts_an_expired_lot(self, client, database, clock, expires_at):
        create_account(client, "acme")
        lot = grant(client, "acme", "5", expires_at=instant(expires_at))

        clock.set(expires_at - timedelta(seconds=1))
        before = balance(client, "acme")
        clock.set(expires_at)
        after = balance(client, "acme")

        assert totals(before) == ("5", "0", "5")
        assert lots_remaining(before) == {lot["id"]: "5"}
        assert totals(after) == ("0", "0", "0")
        assert after["lots"] == []
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_allowance_units_expire_the_same_way(self, client, database, clock, expires_at):
        create_account(client, "acme")
        grant(
            client,
            "acme",
            "600",
            unit="SECONDS",
            applies_to=["voice"],
            source="plan_allowance",
            expires_at=instant(expires_at),
        )
        grant(client, "acme", "5")

        clock.set(expires_at - timedelta(seconds=1))
        before = balance(client, "acme")
        clock.set(expires_at)
        after = balance(client, "acme")

        assert [(a["unit"], a["available"]) for a in before["allowances"]] == [("SECONDS", "600")]
        assert [(a["unit"], a["available"]) for a in after["allowances"]] == [("SECONDS", "0")]
        assert totals(after) == ("5", "0", "5")
        assert_ledger_sound(database, "acme", now=clock.now())


class TestJobs:
    def test_jobs_expire_a_lot_at_its_expires_at_and_not_before(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        grant(client, "acme", "5", expires_at=instant(expires_at))

        early = run_due(database, expires_at - timedelta(seconds=1))
        on_time = run_due(database, expires_at)

        assert (early.accounts, early.lots_expired) == (0, 0)
        assert (on_time.accounts, on_time.lots_expired) == (1, 1)
        assert on_time.expired_micros == {"EUR": 5_000_000}
        assert totals(balance(client, "acme")) == ("0", "0", "0")
        assert_ledger_sound(database, "acme", now=expires_at)

    def test_running_jobs_twice_at_the_same_instant_changes_nothing_the_second_time(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        grant(client, "acme", "5", expires_at=instant(expires_at))
        grant(client, "acme", "1")
        run_due(database, expires_at)
        before, entries = balance(client, "acme"), journal(client, "acme")

        again = run_due(database, expires_at)

        assert (again.accounts, again.lots_expired, again.reservations_lapsed) == (0, 0, 0)
        assert again.expired_micros == {}
        assert totals(before) == ("1", "0", "1")
        assert balance(client, "acme") == before
        assert journal(client, "acme") == entries
        assert_ledger_sound(database, "acme", now=expires_at)

    def test_expired_credit_goes_to_breakage_in_the_journal(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        lot = grant(client, "acme", "5", expires_at=instant(expires_at))
        charge(database, clock, "acme", "1.25")

        run_due(database, expires_at)

        [entry] = expiry_entries(client)
        assert (entry["reference"], entry["created_at"]) == (
            f"lot:{lot['id']}",
            instant(expires_at),
        )
        assert sorted(postings(entry)) == [
            ("pool", "-3.75", lot["id"]),
            ("system:breakage", "3.75", None),
        ]
        assert_ledger_sound(database, "acme", now=expires_at)

    def test_a_fully_spent_lot_expires_to_nothing(self, client, database, clock, expires_at):
        create_account(client, "acme")
        grant(client, "acme", "5", expires_at=instant(expires_at))
        charge(database, clock, "acme", "5")

        run_due(database, expires_at)

        assert expiry_entries(client) == []
        assert_ledger_sound(database, "acme", now=expires_at)

    def test_lots_expiring_at_different_times_each_expire_when_due(
        self, client, database, clock, expires_at
    ):
        create_account(client, "acme")
        first = grant(client, "acme", "1", expires_at=instant(expires_at))
        second = grant(client, "acme", "2", expires_at=instant(expires_at + timedelta(days=1)))
        grant(client, "acme", "4")

        run_due(database, expires_at)
        clock.set(expires_at)
        middle = balance(client, "acme")
        run_due(database, expires_at + timedelta(days=1))
        clock.set(expires_at + timedelta(days=1))
        end = balance(client, "acme")

        assert middle["total"] == "6"
        assert second["id"] in lots_remaining(middle) and first["id"] not in lots_remaining(middle)
        assert end["total"] == "4"
        assert [e["reference"] for e in expiry_entries(client)] == [
            f"lot:{first['id']}",
            f"lot:{second['id']}",
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

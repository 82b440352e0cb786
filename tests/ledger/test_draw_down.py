"""SPEC §3, draw-down order: a charge takes from the applicable lots in the order
(priority, soonest expiry first and never-expiring last, created_at, id), and every
charge records which lots paid how much.
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
    reserve,
)
from tests.ledger.direct import charge, grant_at, holds, instant, journal, lots_remaining, paid_by
from tollgate.errors import InsufficientCredit


class TestOrder:
    def test_lower_priority_number_is_spent_first(self, client, database, clock):
        create_account(client, "acme")
        ordinary = grant(client, "acme", "5")
        first = grant(client, "acme", "5", priority=10)

        held = reserve(client, "acme", "7")

        assert holds(held) == {first["id"]: "5", ordinary["id"]: "2"}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_soonest_expiry_is_spent_first_and_never_expiring_last(self, client, database, clock):
        create_account(client, "acme")
        never = grant(client, "acme", "5")
        late = grant(client, "acme", "5", expires_at=instant(clock.now() + timedelta(days=30)))
        soon = grant(client, "acme", "5", expires_at=instant(clock.now() + timedelta(days=10)))

        result = charge(database, clock, "acme", "12")

        assert paid_by(result) == [(soon["id"], "5"), (late["id"], "5"), (never["id"], "2")]
        assert lots_remaining(balance(client, "acme")) == {never["id"]: "3"}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_priority_outranks_expiry(self, client, database, clock):
        create_account(client, "acme")
        expiring = grant(client, "acme", "5", expires_at=instant(clock.now() + timedelta(days=1)))
        preferred = grant(client, "acme", "5", priority=50)

        result = charge(database, clock, "acme", "6")

        assert paid_by(result) == [(preferred["id"], "5"), (expiring["id"], "1")]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_older_lot_is_spent_first_when_priority_and_expiry_are_equal(
        self, client, database, clock
    ):
        create_account(client, "acme")
        expires_at = clock.now() + timedelta(days=90)
        recorded_first = grant(client, "acme", "5", expires_at=instant(expires_at))
        # Recorded second (a higher id) but created an hour earlier: created_at decides.
        older = grant_at(
            database, "acme", "5", now=clock.now() - timedelta(hours=1), expires_at=expires_at
        )

        result = charge(database, clock, "acme", "6")

        assert older > recorded_first["id"]
        assert paid_by(result) == [(older, "5"), (recorded_first["id"], "1")]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_identical_lots_are_spent_in_id_order(self, client, database, clock):
        create_account(client, "acme")
        first = grant(client, "acme", "5")
        second = grant(client, "acme", "5")

        result = charge(database, clock, "acme", "6")

        assert paid_by(result) == [(first["id"], "5"), (second["id"], "1")]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_the_order_ignores_which_bucket_pays(self, client, database, clock):
        # Buckets say who may spend; lots say what is spent. A list's charge still
        # takes the lots in draw-down order.
        create_account(client, "acme")
        later = grant(client, "acme", "5")
        first = grant(client, "acme", "5", priority=1)
        allocate(client, "acme", "sales", "4")

        held = reserve(client, "acme", "4", list_id="sales")

        assert holds(held) == {first["id"]: "4"}
        assert lots_remaining(balance(client, "acme")) == {later["id"]: "5", first["id"]: "5"}
        assert_ledger_sound(database, "acme", now=clock.now())


class TestRecordOfWhoPaid:
    def test_reservation_records_the_lots_it_holds(self, client, database, clock):
        create_account(client, "acme")
        first = grant(client, "acme", "2.5", priority=1)
        second = grant(client, "acme", "10")

        held = reserve(client, "acme", "3.000001")

        assert holds(held) == {first["id"]: "2.5", second["id"]: "0.500001"}
        lots = {lot["id"]: lot for lot in balance(client, "acme")["lots"]}
        assert (lots[first["id"]]["remaining"], lots[first["id"]]["reserved"]) == ("2.5", "2.5")
        assert (lots[second["id"]]["remaining"], lots[second["id"]]["reserved"]) == (
            "10",
            "0.500001",
        )
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capture_answers_which_lots_paid_how_much(self, client, database, clock):
        create_account(client, "acme")
        first = grant(client, "acme", "5", priority=1)
        second = grant(client, "acme", "5")
        held = reserve(client, "acme", "7")

        response = client.post(f"/v1/reservations/{held['id']}/capture", json={"amount": "6"})

        assert response.status_code == 200, response.text
        assert response.json()["paid_by"] == [
            {"lot_id": first["id"], "unit": "EUR", "amount": "5"},
            {"lot_id": second["id"], "unit": "EUR", "amount": "1"},
        ]
        assert lots_remaining(balance(client, "acme")) == {second["id"]: "4"}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_journal_names_the_lot_behind_every_customer_leg(self, client, database, clock):
        create_account(client, "acme")
        first = grant(client, "acme", "5", priority=1)
        second = grant(client, "acme", "5")
        held = reserve(client, "acme", "7")
        client.post(f"/v1/reservations/{held['id']}/capture", json={"amount": "6"})

        capture = [entry for entry in journal(client, "acme") if entry["kind"] == "capture"]

        assert len(capture) == 1
        assert sorted(
            (p["ledger_account"], p["amount"], p["lot_id"]) for p in capture[0]["postings"]
        ) == sorted(
            [
                ("pool", "-5", first["id"]),
                ("pool", "-1", second["id"]),
                ("system:revenue", "6", None),
            ]
        )
        assert_ledger_sound(database, "acme", now=clock.now())


class TestAppliesTo:
    def test_restricted_lot_does_not_pay_an_untagged_charge(self, client, database, clock):
        create_account(client, "acme")
        sms_only = grant(client, "acme", "5", priority=1, applies_to=["sms"])
        general = grant(client, "acme", "3")

        result = charge(database, clock, "acme", "2")

        assert paid_by(result) == [(general["id"], "2")]
        assert lots_remaining(balance(client, "acme")) == {sms_only["id"]: "5", general["id"]: "1"}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_untagged_charge_beyond_unrestricted_credit_is_refused(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "5", applies_to=["sms"])
        grant(client, "acme", "3")
        before = balance(client, "acme")

        with pytest.raises(InsufficientCredit):
            charge(database, clock, "acme", "4")
        response = client.post("/v1/accounts/acme/reservations", json={"amount": "4"})

        # The pool holds 8, but only 3 of it may pay for anything.
        assert before["available"] == "8"
        assert response.status_code == 402
        assert response.json()["error"]["code"] == "insufficient_credit"
        assert balance(client, "acme") == before
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_restricted_lot_pays_a_matching_charge(self, client, database, clock):
        create_account(client, "acme")
        general = grant(client, "acme", "3")
        sms_only = grant(client, "acme", "5", priority=1, applies_to=["sms", "whatsapp_template"])

        result = charge(database, clock, "acme", "6", tag="sms")

        assert paid_by(result) == [(sms_only["id"], "5"), (general["id"], "1")]
        assert lots_remaining(balance(client, "acme")) == {general["id"]: "2"}
        revenue = [p for p in journal(client, "acme")[-1]["postings"] if p["lot_id"] is None]
        assert revenue == [
            {"ledger_account": "system:revenue:sms", "unit": "EUR", "amount": "6", "lot_id": None}
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_restricted_lot_does_not_pay_another_tag(self, client, database, clock):
        create_account(client, "acme")
        sms_only = grant(client, "acme", "5", priority=1, applies_to=["sms"])
        general = grant(client, "acme", "3")

        result = charge(database, clock, "acme", "2", tag="voice")

        assert paid_by(result) == [(general["id"], "2")]
        with pytest.raises(InsufficientCredit):
            charge(database, clock, "acme", "1.000001", tag="voice")
        assert lots_remaining(balance(client, "acme")) == {sms_only["id"]: "5", general["id"]: "1"}
        assert_ledger_sound(database, "acme", now=clock.now())

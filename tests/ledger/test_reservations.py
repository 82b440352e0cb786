"""SPEC §3, reservations: credit held in the paying bucket and in lots until it is
captured (the actual amount charged, the rest released), released, or it lapses.
"""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import (
    allocate,
    assert_ledger_sound,
    balance,
    create_account,
    grant,
    list_figures,
    reserve,
)
from tests.ledger.direct import holds, instant, journal, lots_remaining
from tollgate.jobs import run_due


def figures(entry: dict) -> tuple[str, str, str]:
    return entry["balance"], entry["reserved"], entry["available"]


def totals(answer: dict) -> tuple[str, str, str]:
    return answer["total"], answer["reserved"], answer["available"]


def capture(client, reservation_id: str, amount: str):
    return client.post(f"/v1/reservations/{reservation_id}/capture", json={"amount": amount})


def release(client, reservation_id: str):
    return client.post(f"/v1/reservations/{reservation_id}/release")


def read(client, reservation_id: str) -> dict:
    response = client.get(f"/v1/reservations/{reservation_id}")
    assert response.status_code == 200, response.text
    return response.json()


class TestAvailable:
    def test_available_is_balance_minus_reserved(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")

        held = reserve(client, "acme", "3.5")

        assert (held["status"], held["amount"], held["held"]) == ("held", "3.5", "3.5")
        after = balance(client, "acme")
        assert totals(after) == ("10", "3.5", "6.5")
        assert figures(after["unassigned"]) == ("10", "3.5", "6.5")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_reservations_are_counted_per_bucket_and_in_total(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")
        allocate(client, "acme", "support", "2")
        reserve(client, "acme", "1.5", list_id="sales")
        reserve(client, "acme", "2", list_id="support")
        reserve(client, "acme", "0.25")

        after = balance(client, "acme")

        assert totals(after) == ("10", "3.75", "6.25")
        assert figures(after["unassigned"]) == ("4", "0.25", "3.75")
        assert {k: figures(v) for k, v in list_figures(after).items()} == {
            "sales": ("4", "1.5", "2.5"),
            "support": ("2", "2", "0"),
        }
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_reserved_credit_cannot_be_reserved_again(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        reserve(client, "acme", "6")
        reserve(client, "acme", "4")
        before = balance(client, "acme")

        response = client.post("/v1/accounts/acme/reservations", json={"amount": "0.000001"})

        assert response.status_code == 402
        assert response.json()["error"]["code"] == "insufficient_credit"
        assert totals(before) == ("10", "10", "0")
        assert balance(client, "acme") == before
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_reservation_holds_nothing_in_the_journal(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        entries = journal(client, "acme")

        reserve(client, "acme", "4")

        assert journal(client, "acme") == entries
        assert_ledger_sound(database, "acme", now=clock.now())


class TestCapture:
    def test_capturing_less_releases_the_rest(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        held = reserve(client, "acme", "4")

        response = capture(client, held["id"], "2.5")

        assert response.status_code == 200, response.text
        answer = response.json()
        assert (answer["status"], answer["captured"], answer["held"]) == ("captured", "2.5", "0")
        assert totals(balance(client, "acme")) == ("7.5", "0", "7.5")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capturing_less_releases_the_lots_in_reverse_draw_down_order(
        self, client, database, clock
    ):
        create_account(client, "acme")
        first = grant(client, "acme", "3", priority=1)
        second = grant(client, "acme", "7")
        held = reserve(client, "acme", "5")

        answer = capture(client, held["id"], "4").json()

        assert holds(held) == {first["id"]: "3", second["id"]: "2"}
        assert answer["paid_by"] == [
            {"lot_id": first["id"], "unit": "EUR", "amount": "3"},
            {"lot_id": second["id"], "unit": "EUR", "amount": "1"},
        ]
        lots = {lot["id"]: lot for lot in balance(client, "acme")["lots"]}
        assert list(lots) == [second["id"]]
        assert (lots[second["id"]]["remaining"], lots[second["id"]]["reserved"]) == ("6", "0")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capturing_more_draws_the_excess_from_available_credit(self, client, database, clock):
        create_account(client, "acme")
        first = grant(client, "acme", "3", priority=1)
        second = grant(client, "acme", "7")
        held = reserve(client, "acme", "4")

        response = capture(client, held["id"], "6")

        assert response.status_code == 200, response.text
        answer = response.json()
        assert (answer["status"], answer["captured"], answer["held"]) == ("captured", "6", "0")
        assert answer["paid_by"] == [
            {"lot_id": first["id"], "unit": "EUR", "amount": "3"},
            {"lot_id": second["id"], "unit": "EUR", "amount": "3"},
        ]
        after = balance(client, "acme")
        assert totals(after) == ("4", "0", "4")
        assert lots_remaining(after) == {second["id"]: "4"}
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capturing_more_than_is_available_fails_with_nothing_charged(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        held = reserve(client, "acme", "4")
        reserve(client, "acme", "5")  # leaves 1 available
        before, entries = balance(client, "acme"), journal(client, "acme")

        response = capture(client, held["id"], "5.000001")

        assert response.status_code == 402
        assert response.json()["error"]["code"] == "insufficient_credit"
        assert balance(client, "acme") == before
        assert journal(client, "acme") == entries
        still = read(client, held["id"])
        assert (still["status"], still["held"], still["captured"]) == ("held", "4", None)
        assert capture(client, held["id"], "5").status_code == 200
        assert totals(balance(client, "acme")) == ("5", "5", "0")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capturing_more_is_limited_by_the_lists_allocation(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "5")
        held = reserve(client, "acme", "4", list_id="sales")
        before = balance(client, "acme")

        refused = capture(client, held["id"], "5.000001")
        accepted = capture(client, held["id"], "5")

        assert refused.status_code == 402
        assert refused.json()["error"]["code"] == "insufficient_credit"
        assert before["unassigned"]["available"] == "5"
        assert accepted.status_code == 200, accepted.text
        after = balance(client, "acme")
        assert figures(after["unassigned"]) == ("5", "0", "5")
        assert figures(list_figures(after)["sales"]) == ("0", "0", "0")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capture_is_a_journal_entry_to_revenue(self, client, database, clock):
        create_account(client, "acme")
        lot = grant(client, "acme", "10")
        held = reserve(client, "acme", "4")

        capture(client, held["id"], "1.5")

        entry = journal(client, "acme")[-1]
        assert (entry["kind"], entry["reference"]) == ("capture", held["id"])
        assert sorted(
            (p["ledger_account"], p["amount"], p["lot_id"]) for p in entry["postings"]
        ) == [
            ("pool", "-1.5", lot["id"]),
            ("system:revenue", "1.5", None),
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capturing_twice_is_a_conflict_with_no_second_effect(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        held = reserve(client, "acme", "4")
        capture(client, held["id"], "3")
        before, entries = balance(client, "acme"), journal(client, "acme")

        response = capture(client, held["id"], "3")

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "reservation_not_held"
        assert totals(before) == ("7", "0", "7")
        assert balance(client, "acme") == before
        assert journal(client, "acme") == entries
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capturing_a_released_reservation_is_a_conflict(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        held = reserve(client, "acme", "4")
        release(client, held["id"])
        before = balance(client, "acme")

        response = capture(client, held["id"], "1")

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "reservation_not_held"
        assert balance(client, "acme") == before
        assert read(client, held["id"])["status"] == "released"
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_capturing_an_unknown_reservation_is_404(self, client, database, clock):
        create_account(client, "acme")

        response = capture(client, "res_missing", "1")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "reservation_not_found"


class TestRelease:
    def test_release_gives_it_all_back(self, client, database, clock):
        create_account(client, "acme")
        lot = grant(client, "acme", "10")
        held = reserve(client, "acme", "4")
        entries = journal(client, "acme")

        response = release(client, held["id"])

        assert response.status_code == 200, response.text
        answer = response.json()
        assert (answer["status"], answer["held"], answer["captured"]) == ("released", "0", None)
        after = balance(client, "acme")
        assert totals(after) == ("10", "0", "10")
        assert [(x["id"], x["remaining"], x["reserved"]) for x in after["lots"]] == [
            (lot["id"], "10", "0")
        ]
        assert journal(client, "acme") == entries
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_release_gives_a_list_its_credit_back(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "5")
        held = reserve(client, "acme", "5", list_id="sales")

        release(client, held["id"])

        assert figures(list_figures(balance(client, "acme"))["sales"]) == ("5", "0", "5")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_releasing_twice_is_a_conflict_with_no_second_effect(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        held = reserve(client, "acme", "4")
        release(client, held["id"])
        reserve(client, "acme", "7")
        before = balance(client, "acme")

        response = release(client, held["id"])

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "reservation_not_held"
        assert totals(before) == ("10", "7", "3")
        assert balance(client, "acme") == before
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_releasing_a_captured_reservation_is_a_conflict(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        held = reserve(client, "acme", "4")
        capture(client, held["id"], "1")
        before, entries = balance(client, "acme"), journal(client, "acme")

        response = release(client, held["id"])

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "reservation_not_held"
        assert balance(client, "acme") == before
        assert journal(client, "acme") == entries
        assert read(client, held["id"])["status"] == "captured"
        assert_ledger_sound(database, "acme", now=clock.now())


class TestLapse:
    def test_jobs_lapse_a_reservation_at_its_expires_at(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        lapses_at = clock.now() + timedelta(hours=1)
        held = reserve(client, "acme", "4", expires_at=instant(lapses_at))

        early = run_due(database, lapses_at - timedelta(seconds=1))
        assert early.reservations_lapsed == 0
        assert read(client, held["id"])["status"] == "held"

        on_time = run_due(database, lapses_at)

        assert on_time.reservations_lapsed == 1
        answer = read(client, held["id"])
        assert (answer["status"], answer["held"], answer["ended_at"]) == (
            "lapsed",
            "0",
            instant(lapses_at),
        )
        clock.set(lapses_at)
        assert totals(balance(client, "acme")) == ("10", "0", "10")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_reservation_lapses_lazily_when_the_account_is_next_touched(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        lapses_at = clock.now() + timedelta(hours=1)
        held = reserve(client, "acme", "4", expires_at=instant(lapses_at))

        clock.set(lapses_at)
        # No job has run: the next operation catches up first.
        whole = reserve(client, "acme", "10")

        assert whole["held"] == "10"
        assert read(client, held["id"])["status"] == "lapsed"
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_the_balance_never_counts_a_lapsed_reservation(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        lapses_at = clock.now() + timedelta(hours=1)
        reserve(client, "acme", "4", expires_at=instant(lapses_at))

        clock.set(lapses_at - timedelta(seconds=1))
        before = balance(client, "acme")
        clock.set(lapses_at)
        after = balance(client, "acme")

        assert totals(before) == ("10", "4", "6")
        assert totals(after) == ("10", "0", "10")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_reading_a_reservation_past_its_expires_at_shows_it_lapsed(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        lapses_at = clock.now() + timedelta(hours=1)
        held = reserve(client, "acme", "4", expires_at=instant(lapses_at))

        clock.set(lapses_at)
        answer = read(client, held["id"])

        assert (answer["status"], answer["held"], answer["ended_at"]) == (
            "lapsed",
            "0",
            instant(lapses_at),
        )
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_reservation_can_be_captured_until_its_last_second(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        lapses_at = clock.now() + timedelta(hours=1)
        held = reserve(client, "acme", "4", expires_at=instant(lapses_at))

        clock.set(lapses_at - timedelta(seconds=1))
        response = capture(client, held["id"], "4")

        assert response.status_code == 200, response.text
        assert totals(balance(client, "acme")) == ("6", "0", "6")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_lapsed_reservation_can_no_longer_be_captured_or_released(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        lapses_at = clock.now() + timedelta(hours=1)
        held = reserve(client, "acme", "4", expires_at=instant(lapses_at))
        clock.set(lapses_at)

        captured = capture(client, held["id"], "4")
        released = release(client, held["id"])

        assert (captured.status_code, released.status_code) == (409, 409)
        assert captured.json()["error"]["code"] == "reservation_not_held"
        assert released.json()["error"]["code"] == "reservation_not_held"
        assert totals(balance(client, "acme")) == ("10", "0", "10")
        assert [e["kind"] for e in journal(client, "acme")] == ["grant"]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_running_jobs_twice_lapses_nothing_the_second_time(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        lapses_at = clock.now() + timedelta(hours=1)
        reserve(client, "acme", "4", expires_at=instant(lapses_at))

        first = run_due(database, lapses_at)
        second = run_due(database, lapses_at)

        assert (first.accounts, first.reservations_lapsed) == (1, 1)
        assert (second.accounts, second.reservations_lapsed) == (0, 0)
        clock.set(lapses_at)
        assert totals(balance(client, "acme")) == ("10", "0", "10")
        assert_ledger_sound(database, "acme", now=clock.now())

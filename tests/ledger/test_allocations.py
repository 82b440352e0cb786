"""SPEC §3, buckets: the unassigned pool and one allocation per list. A list with an
allocation spends only from it; any other list, or no list, spends from the pool.
"""

from __future__ import annotations

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
from tests.ledger.direct import charge, journal
from tollgate.errors import InsufficientCredit


def put_allocation(client, list_id: str, amount: str):
    return client.put(f"/v1/accounts/acme/lists/{list_id}/allocation", json={"amount": amount})


def figures(entry: dict) -> tuple[str, str, str]:
    return entry["balance"], entry["reserved"], entry["available"]


class TestSettingAnAllocation:
    def test_allocation_moves_credit_from_the_pool_to_the_list(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")

        answer = allocate(client, "acme", "sales", "4")

        assert answer == {
            "account_id": "acme",
            "list_id": "sales",
            "unit": "EUR",
            "balance": "4",
            "reserved": "0",
            "available": "4",
        }
        after = balance(client, "acme")
        assert (after["total"], after["reserved"], after["available"]) == ("10", "0", "10")
        assert figures(after["unassigned"]) == ("6", "0", "6")
        assert after["lists"] == [
            {"list_id": "sales", "balance": "4", "reserved": "0", "available": "4"}
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_lowering_an_allocation_moves_the_difference_back_to_the_pool(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")

        allocate(client, "acme", "sales", "1.25")

        after = balance(client, "acme")
        assert figures(after["unassigned"]) == ("8.75", "0", "8.75")
        assert figures(list_figures(after)["sales"]) == ("1.25", "0", "1.25")
        assert after["total"] == "10"
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_raising_an_allocation_needs_only_the_difference_from_the_pool(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")

        allocate(client, "acme", "sales", "10")

        after = balance(client, "acme")
        assert figures(after["unassigned"]) == ("0", "0", "0")
        assert figures(list_figures(after)["sales"]) == ("10", "0", "10")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_each_move_is_a_journal_entry_between_pool_and_list(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")
        allocate(client, "acme", "sales", "1")

        moves = [e for e in journal(client, "acme") if e["kind"] == "allocation"]

        assert [
            sorted((p["ledger_account"], p["amount"]) for p in e["postings"]) for e in moves
        ] == [
            [("list:sales", "4"), ("pool", "-4")],
            [("list:sales", "-3"), ("pool", "3")],
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_more_than_the_pools_available_is_refused_with_nothing_changed(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")
        reserve(client, "acme", "5")  # the pool: 6, of which 1 available
        before, entries = balance(client, "acme"), journal(client, "acme")

        response = put_allocation(client, "support", "1.000001")

        assert response.status_code == 402
        assert response.json()["error"]["code"] == "insufficient_credit"
        assert balance(client, "acme") == before
        assert journal(client, "acme") == entries
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_raising_beyond_the_pools_available_is_refused_with_nothing_changed(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")
        before = balance(client, "acme")

        response = put_allocation(client, "sales", "10.000001")

        assert response.status_code == 402
        assert response.json()["error"]["code"] == "insufficient_credit"
        assert balance(client, "acme") == before
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_an_allocation_cannot_be_set_below_what_the_list_has_reserved(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "5")
        reserve(client, "acme", "3", list_id="sales")
        before, entries = balance(client, "acme"), journal(client, "acme")

        response = put_allocation(client, "sales", "2.999999")

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "allocation_below_reserved"
        assert balance(client, "acme") == before
        assert journal(client, "acme") == entries
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_an_allocation_may_be_set_to_exactly_what_the_list_has_reserved(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "5")
        reserve(client, "acme", "3", list_id="sales")

        answer = allocate(client, "acme", "sales", "3")

        assert figures(answer) == ("3", "3", "0")
        assert figures(balance(client, "acme")["unassigned"]) == ("7", "0", "7")
        assert_ledger_sound(database, "acme", now=clock.now())


class TestDeletingAnAllocation:
    def test_delete_returns_the_credit_to_the_pool(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")

        response = client.delete("/v1/accounts/acme/lists/sales/allocation")

        assert response.status_code == 204
        after = balance(client, "acme")
        assert figures(after["unassigned"]) == ("10", "0", "10")
        assert after["lists"] == []
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_delete_lifts_the_limit(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "2")
        refused = client.post(
            "/v1/accounts/acme/reservations", json={"amount": "3", "list_id": "sales"}
        )

        client.delete("/v1/accounts/acme/lists/sales/allocation")
        held = reserve(client, "acme", "9", list_id="sales")

        assert refused.status_code == 402
        assert held["status"] == "held"
        assert figures(balance(client, "acme")["unassigned"]) == ("10", "9", "1")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_delete_moves_the_lists_reservations_to_the_pool(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")
        held = reserve(client, "acme", "3", list_id="sales")

        client.delete("/v1/accounts/acme/lists/sales/allocation")

        after = balance(client, "acme")
        assert figures(after["unassigned"]) == ("10", "3", "7")
        assert (after["total"], after["reserved"], after["available"]) == ("10", "3", "7")
        captured = client.post(f"/v1/reservations/{held['id']}/capture", json={"amount": "2"})
        assert captured.status_code == 200, captured.text
        assert figures(balance(client, "acme")["unassigned"]) == ("8", "0", "8")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_deleting_an_allocation_that_does_not_exist_is_404(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")

        response = client.delete("/v1/accounts/acme/lists/sales/allocation")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "allocation_not_found"
        assert_ledger_sound(database, "acme", now=clock.now())


class TestWhichBucketPays:
    def test_a_list_never_given_an_allocation_spends_from_the_pool(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")

        held = reserve(client, "acme", "4", list_id="newsletter")

        assert held["list_id"] == "newsletter"
        after = balance(client, "acme")
        assert figures(after["unassigned"]) == ("10", "4", "6")
        assert after["lists"] == []
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_charge_for_no_list_spends_from_the_pool(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")

        charge(database, clock, "acme", "5")

        after = balance(client, "acme")
        assert figures(after["unassigned"]) == ("1", "0", "1")
        assert figures(list_figures(after)["sales"]) == ("4", "0", "4")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_list_with_an_allocation_spends_only_from_it(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")

        charge(database, clock, "acme", "3", list_id="sales")

        after = balance(client, "acme")
        assert figures(after["unassigned"]) == ("6", "0", "6")
        assert figures(list_figures(after)["sales"]) == ("1", "0", "1")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_an_empty_allocation_refuses_even_when_the_pool_has_credit(
        self, client, database, clock
    ):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")
        charge(database, clock, "acme", "4", list_id="sales")
        before = balance(client, "acme")

        response = client.post(
            "/v1/accounts/acme/reservations", json={"amount": "0.000001", "list_id": "sales"}
        )
        with pytest.raises(InsufficientCredit):
            charge(database, clock, "acme", "0.000001", list_id="sales")

        assert response.status_code == 402
        assert response.json()["error"]["code"] == "insufficient_credit"
        assert before["unassigned"]["available"] == "6"
        assert balance(client, "acme") == before
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_a_list_asking_more_than_its_allocation_is_refused(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "4")

        response = client.post(
            "/v1/accounts/acme/reservations", json={"amount": "4.000001", "list_id": "sales"}
        )

        assert response.status_code == 402
        assert response.json()["error"]["code"] == "insufficient_credit"
        assert figures(list_figures(balance(client, "acme"))["sales"]) == ("4", "0", "4")
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_an_allocation_of_zero_blocks_the_list(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")

        answer = allocate(client, "acme", "sales", "0")
        response = client.post(
            "/v1/accounts/acme/reservations", json={"amount": "0.000001", "list_id": "sales"}
        )

        assert figures(answer) == ("0", "0", "0")
        assert response.status_code == 402
        assert response.json()["error"]["code"] == "insufficient_credit"
        after = balance(client, "acme")
        assert figures(after["unassigned"]) == ("10", "0", "10")
        assert after["lists"] == [
            {"list_id": "sales", "balance": "0", "reserved": "0", "available": "0"}
        ]
        assert_ledger_sound(database, "acme", now=clock.now())

    def test_other_lists_keep_spending_from_the_pool(self, client, database, clock):
        create_account(client, "acme")
        grant(client, "acme", "10")
        allocate(client, "acme", "sales", "0")

        held = reserve(client, "acme", "10", list_id="support")

        assert held["status"] == "held"
        assert figures(balance(client, "acme")["unassigned"]) == ("10", "10", "0")
        assert_ledger_sound(database, "acme", now=clock.now())

"""Idempotency-Key on POST /v1/accounts/{id}/credits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.conftest import START
from tests.helpers import assert_ledger_sound, balance, create_account, grant

CREDITS = "/v1/accounts/{}/credits"


def post_credit(client, account_id: str, body: dict, key: str | None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(CREDITS.format(account_id), json=body, headers=headers)


def grant_entries(client, account_id: str) -> list[dict]:
    journal = client.get(f"/v1/accounts/{account_id}/journal").json()
    return [entry for entry in journal["data"] if entry["kind"] == "grant"]


@pytest.fixture
def acme(client) -> str:
    create_account(client, "acme")
    return "acme"


def test_the_same_key_and_body_answers_the_first_answer_and_grants_once(
    client, clock, database, acme
):
    body = {"amount": "3.5", "expires_at": "2026-06-01T00:00:00Z", "source": "purchase"}
    first = post_credit(client, acme, body, "order-1001")
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers

    clock.advance(minutes=5)
    second = post_credit(client, acme, body, "order-1001")
    assert second.status_code == 201, second.text
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()

    answer = balance(client, acme)
    assert (answer["total"], answer["available"]) == ("3.5", "3.5")
    assert [lot["id"] for lot in answer["lots"]] == [first.json()["id"]]
    assert len(grant_entries(client, acme)) == 1
    assert_ledger_sound(database, acme)


def test_an_equal_amount_written_differently_is_the_same_request(client, acme):
    first = post_credit(client, acme, {"amount": "3.5"}, "k")
    second = post_credit(client, acme, {"amount": "3.50"}, "k")
    third = post_credit(client, acme, {"amount": "3.500000", "source": "grant"}, "k")
    assert first.status_code == second.status_code == third.status_code == 201
    assert second.headers["Idempotent-Replayed"] == third.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"] == third.json()["id"]
    assert balance(client, acme)["total"] == "3.5"


def test_an_equal_instant_written_differently_is_the_same_request(client, acme):
    first = post_credit(
        client, acme, {"amount": "1", "expires_at": "2026-06-01T02:00:00+02:00"}, "k"
    )
    second = post_credit(client, acme, {"amount": "1", "expires_at": "2026-06-01T00:00:00Z"}, "k")
    assert second.status_code == 201, second.text
    assert second.json()["id"] == first.json()["id"]
    assert balance(client, acme)["total"] == "1"


@pytest.mark.parametrize(
    "changed",
    [
        {"amount": "3.6"},
        {"amount": "3.5", "source": "purchase"},
        {"amount": "3.5", "priority": 10},
        {"amount": "3.5", "expires_at": "2026-06-01T00:00:00Z"},
        {"amount": "3.5", "unit": "SECONDS"},
        {"amount": "3.5", "applies_to": ["voice"]},
        {"amount": "3.5", "memo": "again"},
    ],
    ids=["amount", "source", "priority", "expiry", "unit", "applies_to", "memo"],
)
def test_the_same_key_with_another_body_is_409_and_grants_nothing(client, database, acme, changed):
    first = post_credit(client, acme, {"amount": "3.5"}, "order-1001")
    assert first.status_code == 201, first.text
    before = balance(client, acme)

    response = post_credit(client, acme, changed, "order-1001")
    assert response.status_code == 409, response.text
    assert response.json() == {
        "error": {
            "code": "idempotency_conflict",
            "message": (
                "idempotency key 'order-1001' was already used with a different request body"
            ),
        }
    }
    assert balance(client, acme) == before
    assert len(grant_entries(client, acme)) == 1
    assert_ledger_sound(database, acme)


def test_different_accounts_use_the_same_key_independently(client, acme):
    create_account(client, "globex", unit="USD")
    first = post_credit(client, acme, {"amount": "2"}, "shared-key")
    second = post_credit(client, "globex", {"amount": "7"}, "shared-key")
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert balance(client, acme)["total"] == "2"
    assert balance(client, "globex")["total"] == "7"


def test_different_keys_grant_twice(client, acme):
    assert post_credit(client, acme, {"amount": "2"}, "a").status_code == 201
    assert post_credit(client, acme, {"amount": "2"}, "b").status_code == 201
    assert balance(client, acme)["total"] == "4"


def test_without_a_key_every_request_grants(client, acme):
    assert post_credit(client, acme, {"amount": "2"}, None).status_code == 201
    assert post_credit(client, acme, {"amount": "2"}, None).status_code == 201
    assert balance(client, acme)["total"] == "4"


def test_a_refused_request_does_not_use_up_its_key(client, acme):
    refused = post_credit(client, acme, {"amount": "1", "expires_at": "2025-01-01T00:00:00Z"}, "k")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_expiry"

    accepted = post_credit(client, acme, {"amount": "2"}, "k")
    assert accepted.status_code == 201, accepted.text
    assert "Idempotent-Replayed" not in accepted.headers
    assert balance(client, acme)["total"] == "2"


def test_a_replay_answers_even_after_the_first_request_would_no_longer_be_valid(
    client, clock, acme
):
    body = {"amount": "1", "expires_at": (START + timedelta(hours=1)).isoformat()}
    first = post_credit(client, acme, body, "k")
    assert first.status_code == 201, first.text
    clock.advance(hours=2)  # the lot has expired and its expiry is now in the past
    replay = post_credit(client, acme, body, "k")
    assert replay.status_code == 201, replay.text
    assert replay.json() == first.json()
    assert balance(client, acme)["total"] == "0"


def test_an_overlong_key_is_422(client, acme):
    response = post_credit(client, acme, {"amount": "1"}, "k" * 256)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert balance(client, acme)["total"] == "0"


def test_concurrent_requests_with_one_key_grant_once(client, database, acme):
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda _: post_credit(client, acme, {"amount": "5"}, "burst"), range(8))
        )
    assert [a.status_code for a in answers] == [201] * 8
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(1 for a in answers if "Idempotent-Replayed" not in a.headers) == 1
    assert balance(client, acme)["total"] == "5"
    assert_ledger_sound(database, acme)


class TestReservationCreateIsRetrySafe:
    def test_same_key_holds_credit_once_and_answers_the_first_reservation(self, client, database):
        create_account(client, "acme")
        grant(client, "acme", "10")
        headers = {"Idempotency-Key": "campaign-42"}
        body = {"amount": "4", "list_id": "newsletter"}

        first = client.post("/v1/accounts/acme/reservations", json=body, headers=headers)
        again = client.post("/v1/accounts/acme/reservations", json=body, headers=headers)

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert client.get("/v1/accounts/acme/balance").json()["reserved"] == "4"
        assert_ledger_sound(database, "acme")

    def test_same_key_with_another_body_is_a_conflict(self, client):
        create_account(client, "acme")
        grant(client, "acme", "10")
        headers = {"Idempotency-Key": "campaign-42"}
        client.post("/v1/accounts/acme/reservations", json={"amount": "4"}, headers=headers)

        answer = client.post(
            "/v1/accounts/acme/reservations", json={"amount": "5"}, headers=headers
        )

        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "idempotency_conflict"
        assert client.get("/v1/accounts/acme/balance").json()["reserved"] == "4"

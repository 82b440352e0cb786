"""Idempotency-Key on every write that moves credit after a hold: authorizations
(create, extend, capture, release) and reservations (capture, release).

A retry with the same key answers the first answer (same status and body,
``Idempotent-Replayed: true``) and moves nothing; the same key with another request is
409 ``idempotency_conflict``; concurrent retries have exactly one effect.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.helpers import assert_ledger_sound, balance, grant, reserve
from tests.usage.conftest import FR_MOBILE, journal, totals

AUTHORIZE = {"account_id": "acme", "channel": "voice", "direction": "outbound", "to": FR_MOBILE}


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def authorize(client, key: str | None = None, **extra) -> Any:
    headers = keyed(key) if key else {}
    return client.post("/v1/authorizations", json={**AUTHORIZE, **extra}, headers=headers)


def authorization_id(client) -> str:
    response = authorize(client)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def step(client, authorization: str, action: str, key: str, body: dict | None = None):
    return client.post(
        f"/v1/authorizations/{authorization}/{action}", json=body, headers=keyed(key)
    )


def settle(client, reservation: str, action: str, key: str, body: dict | None = None):
    return client.post(f"/v1/reservations/{reservation}/{action}", json=body, headers=keyed(key))


def kinds(client) -> list[str]:
    return [entry["kind"] for entry in journal(client)]


def all_at_once(send: Callable[[], Any], times: int = 6) -> list[Any]:
    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(lambda _: send(), range(times)))


def assert_one_effect(answers: list[Any], status: int) -> None:
    assert [a.status_code for a in answers] == [status] * len(answers), [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert sum(1 for a in answers if "Idempotent-Replayed" not in a.headers) == 1


def assert_replay_of(replay: Any, first: Any) -> None:
    assert replay.status_code == first.status_code, replay.text
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


@pytest.fixture
def funded(client, acme) -> str:
    grant(client, acme, "1.00")
    return acme


class TestAuthorizeIsRetrySafe:
    def test_same_key_holds_once_and_answers_the_first_authorization(
        self, client, database, clock, funded
    ):
        first = authorize(client, "call-7")
        clock.advance(seconds=2)
        again = authorize(client, "call-7")

        assert first.status_code == 201, first.text
        assert_replay_of(again, first)
        assert totals(balance(client, funded)) == ("1", "0.07", "0.93")
        assert_ledger_sound(database, funded, now=clock.now())

    def test_same_key_with_another_number_is_a_conflict(self, client, funded):
        authorize(client, "call-7")

        answer = authorize(client, "call-7", to="+33612345699")

        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "idempotency_conflict"
        assert totals(balance(client, funded)) == ("1", "0.07", "0.93")

    def test_concurrent_retries_hold_once(self, client, database, clock, funded):
        answers = all_at_once(lambda: authorize(client, "call-7"))

        assert_one_effect(answers, 201)
        assert totals(balance(client, funded)) == ("1", "0.07", "0.93")
        assert_ledger_sound(database, funded, now=clock.now())

    def test_a_refused_authorization_does_not_use_up_its_key(self, client, acme):
        assert authorize(client, "call-7").status_code == 402
        grant(client, acme, "1.00")

        answer = authorize(client, "call-7")

        assert answer.status_code == 201, answer.text
        assert "Idempotent-Replayed" not in answer.headers


class TestExtendIsRetrySafe:
    def test_same_key_reserves_the_next_slice_once(self, client, database, clock, funded):
        call = authorization_id(client)

        first = step(client, call, "extend", "ext-1")
        again = step(client, call, "extend", "ext-1")

        assert first.status_code == 200, first.text
        assert first.json()["granted_seconds"] == 600
        assert_replay_of(again, first)
        assert totals(balance(client, funded)) == ("1", "0.14", "0.86")
        assert_ledger_sound(database, funded, now=clock.now())

    def test_another_key_reserves_another_slice(self, client, funded):
        call = authorization_id(client)
        step(client, call, "extend", "ext-1")

        answer = step(client, call, "extend", "ext-2")

        assert answer.json()["granted_seconds"] == 900
        assert totals(balance(client, funded)) == ("1", "0.21", "0.79")

    def test_the_same_key_on_another_call_is_a_conflict(self, client, funded):
        first, second = authorization_id(client), authorization_id(client)
        step(client, first, "extend", "ext-1")

        answer = step(client, second, "extend", "ext-1")

        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "idempotency_conflict"
        assert totals(balance(client, funded)) == ("1", "0.21", "0.79")

    def test_concurrent_retries_extend_once(self, client, database, clock, funded):
        call = authorization_id(client)

        answers = all_at_once(lambda: step(client, call, "extend", "ext-1"))

        assert_one_effect(answers, 200)
        assert answers[0].json()["granted_seconds"] == 600
        assert totals(balance(client, funded)) == ("1", "0.14", "0.86")
        assert_ledger_sound(database, funded, now=clock.now())


class TestCaptureIsRetrySafe:
    def test_a_retried_capture_answers_the_first_capture_not_409(
        self, client, database, clock, funded
    ):
        call = authorization_id(client)

        first = step(client, call, "capture", "cap-1", {"duration_seconds": 61})
        clock.advance(seconds=5)
        again = step(client, call, "capture", "cap-1", {"duration_seconds": 61})

        assert first.status_code == 200, first.text
        assert first.json()["usage"]["cost"] == "0.028"
        assert_replay_of(again, first)
        assert totals(balance(client, funded)) == ("0.972", "0", "0.972")
        assert_ledger_sound(database, funded, now=clock.now())

    def test_another_duration_with_the_same_key_is_a_conflict(self, client, funded):
        call = authorization_id(client)
        step(client, call, "capture", "cap-1", {"duration_seconds": 61})

        answer = step(client, call, "capture", "cap-1", {"duration_seconds": 62})

        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "idempotency_conflict"
        assert totals(balance(client, funded)) == ("0.972", "0", "0.972")

    def test_a_second_capture_with_another_key_is_still_refused(self, client, funded):
        call = authorization_id(client)
        step(client, call, "capture", "cap-1", {"duration_seconds": 61})

        answer = step(client, call, "capture", "cap-2", {"duration_seconds": 61})

        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "authorization_not_active"

    def test_concurrent_retries_charge_once(self, client, database, clock, funded):
        call = authorization_id(client)

        answers = all_at_once(
            lambda: step(client, call, "capture", "cap-1", {"duration_seconds": 61})
        )

        assert_one_effect(answers, 200)
        assert totals(balance(client, funded)) == ("0.972", "0", "0.972")
        assert kinds(client).count("capture") == 1
        assert_ledger_sound(database, funded, now=clock.now())


class TestReleaseIsRetrySafe:
    def test_a_retried_release_answers_the_first_release(self, client, database, clock, funded):
        call = authorization_id(client)

        first = step(client, call, "release", "rel-1")
        again = step(client, call, "release", "rel-1")

        assert first.status_code == 200, first.text
        assert first.json()["status"] == "released"
        assert_replay_of(again, first)
        assert totals(balance(client, funded)) == ("1", "0", "1")
        assert_ledger_sound(database, funded, now=clock.now())

    def test_concurrent_retries_release_once(self, client, database, clock, funded):
        call = authorization_id(client)

        answers = all_at_once(lambda: step(client, call, "release", "rel-1"))

        assert_one_effect(answers, 200)
        assert totals(balance(client, funded)) == ("1", "0", "1")
        assert_ledger_sound(database, funded, now=clock.now())


class TestReservationSettlementIsRetrySafe:
    def test_a_retried_capture_answers_the_first_capture(self, client, database, acme):
        grant(client, acme, "10")
        held = reserve(client, acme, "4")["id"]

        first = settle(client, held, "capture", "rc-1", {"amount": "3"})
        again = settle(client, held, "capture", "rc-1", {"amount": "3.000"})

        assert first.status_code == 200, first.text
        assert_replay_of(again, first)
        assert totals(balance(client, acme)) == ("7", "0", "7")
        assert_ledger_sound(database, acme)

    def test_another_amount_with_the_same_key_is_a_conflict(self, client, acme):
        grant(client, acme, "10")
        held = reserve(client, acme, "4")["id"]
        settle(client, held, "capture", "rc-1", {"amount": "3"})

        answer = settle(client, held, "capture", "rc-1", {"amount": "4"})

        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "idempotency_conflict"
        assert totals(balance(client, acme)) == ("7", "0", "7")

    def test_concurrent_capture_retries_charge_once(self, client, database, acme):
        grant(client, acme, "10")
        held = reserve(client, acme, "4")["id"]

        answers = all_at_once(lambda: settle(client, held, "capture", "rc-1", {"amount": "3"}))

        assert_one_effect(answers, 200)
        assert totals(balance(client, acme)) == ("7", "0", "7")
        assert_ledger_sound(database, acme)

    def test_a_retried_release_answers_the_first_release(self, client, database, acme):
        grant(client, acme, "10")
        held = reserve(client, acme, "4")["id"]

        first = settle(client, held, "release", "rr-1")
        again = settle(client, held, "release", "rr-1")

        assert first.status_code == 200, first.text
        assert_replay_of(again, first)
        assert totals(balance(client, acme)) == ("10", "0", "10")

    def test_concurrent_release_retries_release_once(self, client, database, acme):
        grant(client, acme, "10")
        held = reserve(client, acme, "4")["id"]

        answers = all_at_once(lambda: settle(client, held, "release", "rr-1"))

        assert_one_effect(answers, 200)
        assert totals(balance(client, acme)) == ("10", "0", "10")
        assert_ledger_sound(database, acme)

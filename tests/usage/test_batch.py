"""POST /v1/usage/batch: up to 1,000 events, one result per event in order, each event
succeeding or failing on its own.
"""

from __future__ import annotations

from decimal import Decimal

from tests.helpers import assert_ledger_sound, balance, create_account, grant
from tests.usage.conftest import (
    NOT_A_NUMBER,
    account,
    call,
    email,
    journal,
    login,
    sms,
    totals,
)


def post_batch(client, events: list[dict], status: int = 200) -> dict:
    response = client.post("/v1/usage/batch", json={"events": events})
    assert response.status_code == status, response.text
    return response.json()


def outcome(result: dict) -> tuple[str, str]:
    """(id, cost) for a charged event, (id, error code) for a failed one."""
    if "error" in result:
        return result["id"], result["error"]["code"]
    return result["id"], result["cost"]


class TestBatch:
    def test_answers_one_result_per_event_in_order(self, client, database, clock, acme):
        lot = grant(client, acme, "10")
        events = [
            email("m1", 1000),
            call("c1", 61),
            sms("s1"),
            login("l1", "agent-1"),
            call("c2", 1),
        ]

        results = post_batch(client, events)["results"]

        assert [outcome(r) for r in results] == [
            ("m1", "0.675"),
            ("c1", "0.028"),
            ("s1", "0.0079"),
            ("l1", "3.5"),
            ("c2", "0.014"),
        ]
        assert [r["quantity_unit"] for r in results] == [
            "message",
            "second",
            "segment",
            "day",
            "second",
        ]
        # Each answer shows the balance right after its own event.
        assert [r["balance"]["total"] for r in results] == [
            "9.325",
            "9.297",
            "9.2891",
            "5.7891",
            "5.7751",
        ]
        assert results[1]["paid_by"] == [{"lot_id": lot["id"], "unit": "EUR", "amount": "0.028"}]
        assert totals(balance(client, acme)) == ("5.7751", "0", "5.7751")
        assert_ledger_sound(database, acme, now=clock.now())

    def test_a_bad_event_fails_alone(self, client, database, clock, acme):
        grant(client, acme, "1")
        events = [
            sms("ok-1"),
            {**call("bad-field", 61), "duration_seconds": "sixty"},
            call("unratable", 61, NOT_A_NUMBER),
            sms("stranger", account_id="nobody"),
            email("too-dear", 10_000),  # 6.75, more than the credit
            {**sms("ok-2"), "text": None},  # an sms needs text or segments
            login("no-such-day", "agent-1", "9999-12-31T23:30:00Z"),
            call("ok-3", 125),
        ]

        results = post_batch(client, events)["results"]

        assert [outcome(r) for r in results] == [
            ("ok-1", "0.0079"),
            ("bad-field", "invalid_request"),
            ("unratable", "unratable"),
            ("stranger", "account_not_found"),
            ("too-dear", "insufficient_credit"),
            ("ok-2", "text_or_segments_required"),
            ("no-such-day", "invalid_instant"),
            ("ok-3", "0.042"),
        ]
        for result in results:
            if "error" in result:
                assert result["error"]["message"], result
        # The balance is exactly the credit less the successful costs.
        assert totals(balance(client, acme)) == ("0.9501", "0", "0.9501")
        assert_ledger_sound(database, acme, now=clock.now())

    def test_the_balance_falls_by_the_sum_of_the_successful_costs(self, client, database, acme):
        grant(client, acme, "0.2")
        events = [call(f"c{i}", 30 * i) for i in range(1, 12)]  # 30 s … 330 s

        results = post_batch(client, events)["results"]

        charged = [r for r in results if "error" not in r]
        failed = [r for r in results if "error" in r]
        assert failed and charged
        assert {r["error"]["code"] for r in failed} == {"insufficient_credit"}
        spent = sum(Decimal(r["cost"]) for r in charged)
        assert Decimal(balance(client, acme)["total"]) == Decimal("0.2") - spent
        # 30 … 180 s bill 60+60+120+120+180+180 s (0.168); 210 s bills 240 s (0.056),
        # more than the 0.032 left, and every longer call costs more still.
        assert [outcome(r)[1] for r in results] == [
            "0.014",
            "0.014",
            "0.028",
            "0.028",
            "0.042",
            "0.042",
            *["insufficient_credit"] * 5,
        ]
        assert_ledger_sound(database, acme)

    def test_a_refused_event_does_not_stop_a_smaller_one_after_it(self, client, acme):
        grant(client, acme, "0.02")

        results = post_batch(client, [call("c1", 61), sms("s1")])["results"]

        assert [outcome(r) for r in results] == [("c1", "insufficient_credit"), ("s1", "0.0079")]
        assert balance(client, acme)["total"] == "0.0121"

    def test_events_of_several_accounts(self, client, database, acme):
        create_account(client, "globex")
        grant(client, acme, "1")
        grant(client, "globex", "1")

        results = post_batch(
            client, [sms("s1"), sms("s1", account_id="globex"), call("c1", 61, account_id="globex")]
        )["results"]

        assert [outcome(r) for r in results] == [
            ("s1", "0.0079"),
            ("s1", "0.0079"),
            ("c1", "0.028"),
        ]
        assert balance(client, acme)["total"] == "0.9921"
        assert balance(client, "globex")["total"] == "0.9641"
        assert_ledger_sound(database, acme, "globex")

    def test_expiry_due_is_caught_up_before_the_batch_is_charged(
        self, client, database, clock, acme
    ):
        # A lot that expired since the account was last touched: locking the accounts
        # of the batch expires it first (journal entries written by the ledger), then
        # the batch's own entries follow with their own ids.
        create_account(client, "globex")
        grant(client, acme, "0.5", expires_at="2026-01-02T00:00:00Z")
        grant(client, acme, "1")
        grant(client, "globex", "0.2", expires_at="2026-01-02T00:00:00Z")
        grant(client, "globex", "1")
        clock.advance(days=2)

        results = post_batch(client, [sms("s1"), call("c1", 61, account_id="globex"), sms("s2")])[
            "results"
        ]

        assert [outcome(r) for r in results] == [
            ("s1", "0.0079"),
            ("c1", "0.028"),
            ("s2", "0.0079"),
        ]
        assert balance(client, acme)["total"] == "0.9842"
        assert balance(client, "globex")["total"] == "0.972"
        kinds = [entry["kind"] for entry in journal(client)]
        assert kinds.count("expiry") == 1 and kinds.count("charge") == 2, kinds
        ids = [entry["id"] for entry in journal(client) + journal(client, "globex")]
        assert len(ids) == len(set(ids))
        assert_ledger_sound(database, acme, "globex", now=clock.now())

    def test_an_id_repeated_in_the_same_batch_is_charged_once(self, client, database, acme):
        grant(client, acme, "1")

        results = post_batch(client, [call("c1", 61), sms("s1"), call("c1", 61), call("c1", 90)])[
            "results"
        ]

        assert results[2] == results[0]
        assert [outcome(r) for r in results] == [
            ("c1", "0.028"),
            ("s1", "0.0079"),
            ("c1", "0.028"),
            ("c1", "idempotency_conflict"),
        ]
        assert balance(client, acme)["total"] == "0.9641"
        assert_ledger_sound(database, acme)

    def test_a_batch_replays_events_recorded_before(self, client, acme):
        grant(client, acme, "1")
        first = post_batch(client, [call("c1", 61)])["results"][0]

        again = post_batch(client, [call("c1", 61), sms("s1")])["results"]

        assert again[0] == first
        assert balance(client, acme)["total"] == "0.9641"

    def test_two_logins_of_one_agent_in_one_batch_buy_one_pass(self, client, acme):
        grant(client, acme, "10")

        results = post_batch(
            client, [login("l1", "agent-1"), login("l2", "agent-1"), login("l3", "agent-2")]
        )["results"]

        assert [outcome(r)[1] for r in results] == ["3.5", "0", "3.5"]
        assert balance(client, acme)["total"] == "3"

    def test_debt_taken_in_a_batch_blocks_the_events_after_it(self, client, database, acme):
        grant(client, acme, "0.01")

        results = post_batch(
            client, [call("late", 61, allow_debt=True), sms("s1"), sms("s2", allow_debt=True)]
        )["results"]

        assert [outcome(r) for r in results] == [
            ("late", "0.028"),
            ("s1", "account_blocked"),
            ("s2", "0.0079"),
        ]
        answer = account(client, acme)
        assert (answer["status"], answer["debt"]) == ("blocked", "0.0259")
        assert_ledger_sound(database, acme)

    def test_an_event_without_a_usable_id_still_gets_its_place(self, client, acme):
        grant(client, acme, "1")

        results = post_batch(client, [{"channel": "sms"}, sms("s1")])["results"]

        assert results[0]["id"] is None
        assert results[0]["error"]["code"] == "invalid_request"
        assert outcome(results[1]) == ("s1", "0.0079")

    def test_a_thousand_events_are_one_batch(self, client, database, acme):
        grant(client, acme, "1")

        results = post_batch(client, [email(f"m{i}") for i in range(1000)])["results"]

        assert len(results) == 1000
        assert {r["cost"] for r in results} == {"0.000675"}
        # 1000 × 0.000675 = 0.675, exactly.
        assert balance(client, acme)["total"] == "0.325"
        assert_ledger_sound(database, acme)

    def test_more_than_a_thousand_events_are_refused_whole(self, client, acme):
        grant(client, acme, "10")
        before = journal(client)

        response = client.post(
            "/v1/usage/batch", json={"events": [email(f"m{i}") for i in range(1001)]}
        )

        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_request"
        assert balance(client, acme)["total"] == "10"
        assert journal(client) == before

    def test_an_empty_batch_is_refused(self, client, acme):
        response = client.post("/v1/usage/batch", json={"events": []})

        assert response.status_code == 422, response.text


class TestRecorderInsideATransaction:
    """The recorder reads and writes through the driver, inside the session's
    transaction: ORM work before it in the same transaction, and after it, must
    agree with it."""

    def test_it_pays_with_credit_granted_earlier_in_the_same_transaction(
        self, client, database, clock, acme
    ):
        from tollgate import ledger
        from tollgate.accounts.models import Account
        from tollgate.money import parse_amount
        from tollgate.usage.recorder import UsageRecorder
        from tollgate.usage.service import UsageInput

        now = clock.now()
        with database.write() as session:
            account = session.get(Account, acme)
            ledger.grant(session, account, amount=parse_amount("1"), source="purchase", now=now)
            (answer,) = UsageRecorder(session, now=now).record(
                [
                    UsageInput(
                        id="s1",
                        account_id=acme,
                        channel="sms",
                        occurred_at=now,
                        to="+33612345678",
                        text="Your code is 1234",
                    ),
                ]
            )
            # And the ORM, after it, sees what the recorder wrote.
            assert ledger.balance_view(session, session.get(Account, acme)).total == 992_100

        assert answer["cost"] == "0.0079"
        assert answer["balance"] == {"total": "0.9921", "available": "0.9921"}
        assert balance(client, acme)["total"] == "0.9921"
        assert_ledger_sound(database, acme, now=now)

"""POST /v1/quotes: the cost simulator prices hypothetical events at list price and
charges or records nothing.
"""

from __future__ import annotations

from tests.helpers import assert_ledger_sound, balance, grant
from tests.usage.conftest import (
    FR_MOBILE,
    LONDON,
    NOT_A_NUMBER,
    PRICE_ROWS,
    journal,
    login,
    post_usage,
    put_price_list,
)


def post_quote(client, events: list[dict], status: int = 200, **extra) -> dict:
    response = client.post("/v1/quotes", json={"account_id": "acme", "events": events, **extra})
    assert response.status_code == status, response.text
    return response.json()


def priced(result: dict) -> tuple:
    if "error" in result:
        return result["index"], result["error"]["code"]
    return result["index"], result["cost"], result["quantity"], result["quantity_unit"]


class TestQuotes:
    def test_prices_every_channel_and_totals_them(self, client, acme):
        grant(client, acme, "10")

        answer = post_quote(
            client,
            [
                {"channel": "voice", "to": FR_MOBILE, "duration_seconds": 61},
                {"channel": "voice", "to": LONDON, "duration_seconds": 61},
                {"channel": "sms", "to": FR_MOBILE, "text": "a" * 161},
                {"channel": "email", "count": 250},
                {"channel": "whatsapp_template", "to": FR_MOBILE, "category": "authentication"},
                {"channel": "agent_login"},
            ],
        )

        assert [priced(r) for r in answer["results"]] == [
            # The billed quantity, as a usage answer gives it: 61 s bill 120 s at 60/60.
            (0, "0.028", 120, "second"),
            (1, "0.078", 120, "second"),
            (2, "0.0158", 2, "segment"),
            (3, "0.16875", 250, "message"),
            (4, "0.0298", 1, "message"),
            (5, "3.5", 1, "day"),
        ]
        assert {r["unit"] for r in answer["results"]} == {"EUR"}
        # 0.028 + 0.078 + 0.0158 + 0.16875 + 0.0298 + 3.5
        assert answer["total"] == "3.82035"
        assert answer["unit"] == "EUR"

    def test_charges_and_records_nothing(self, client, database, clock, acme):
        grant(client, acme, "10")
        before_balance = balance(client, acme)
        before_journal = journal(client)

        post_quote(
            client,
            [
                {"channel": "voice", "to": FR_MOBILE, "duration_seconds": 600},
                {"channel": "agent_login"},
            ],
        )

        assert balance(client, acme) == before_balance
        assert journal(client) == before_journal
        # Quoting a login bought no day pass: the real first login still pays it.
        assert post_usage(client, login("l1", "agent-1"))["cost"] == "3.5"
        assert_ledger_sound(database, acme, now=clock.now())

    def test_credit_does_not_matter(self, client, acme):
        answer = post_quote(client, [{"channel": "email", "count": 100_000}])

        assert answer["results"][0]["cost"] == "67.5"
        assert answer["total"] == "67.5"
        assert balance(client, acme)["total"] == "0"

    def test_each_event_gets_its_own_error_and_the_total_counts_the_rest(self, client, acme):
        answer = post_quote(
            client,
            [
                {"channel": "sms", "to": FR_MOBILE, "segments": 2},
                {"channel": "voice", "to": NOT_A_NUMBER, "duration_seconds": 60},
                {"channel": "whatsapp_template", "to": FR_MOBILE},  # no category
                {"channel": "fax", "to": FR_MOBILE},
                {"channel": "voice", "to": FR_MOBILE},  # no duration
                {"channel": "email", "count": "ten"},
                {"channel": "voice", "to": FR_MOBILE, "duration_seconds": 0},
            ],
        )

        assert [priced(r) for r in answer["results"]] == [
            (0, "0.0158", 2, "segment"),
            (1, "unratable"),
            (2, "category_required"),
            (3, "invalid_request"),
            (4, "duration_required"),
            (5, "invalid_request"),
            (6, "0", 0, "second"),
        ]
        assert all(r["error"]["message"] for r in answer["results"] if "error" in r)
        assert answer["total"] == "0.0158"

    def test_quotes_at_list_price_ignoring_plan_seconds(self, client, acme):
        client.post(
            f"/v1/accounts/{acme}/credits",
            json={"amount": "600", "unit": "SECONDS", "applies_to": ["voice"]},
        )

        answer = post_quote(client, [{"channel": "voice", "to": FR_MOBILE, "duration_seconds": 61}])

        assert answer["results"][0]["cost"] == "0.028"

    def test_rates_with_the_version_in_force_at_occurred_at(self, client, clock, acme):
        dearer = [
            {**row, "price": "0.01"} if row["channel"] == "sms" else row for row in PRICE_ROWS
        ]
        put_price_list(client, dearer, effective_from="2026-02-01T00:00:00Z")
        event = {"channel": "sms", "to": FR_MOBILE, "text": "hi"}

        now = post_quote(client, [event])
        later = post_quote(client, [event], occurred_at="2026-02-01T00:00:00Z")

        assert (now["total"], later["total"]) == ("0.0079", "0.01")

    def test_an_unknown_account_is_a_404(self, client, price_list):
        response = client.post(
            "/v1/quotes", json={"account_id": "nobody", "events": [{"channel": "email"}]}
        )

        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "account_not_found"

    def test_no_events_is_refused(self, client, acme):
        response = client.post("/v1/quotes", json={"account_id": acme, "events": []})

        assert response.status_code == 422, response.text

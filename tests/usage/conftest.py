"""Scenario set-up for the usage hot path: a small price list with the figures of a
real pay-as-you-go offer, an account to charge, and helpers that speak the HTTP API.

The price list (``default``, EUR, in force since 2025-01-01 so that events dated
before the test clock's start are ratable):

| channel           | what                                   | price                     |
|-------------------|----------------------------------------|---------------------------|
| voice outbound    | anywhere                               | 0.014 / min, 60/60        |
| voice outbound    | +4420 (London fixed)                   | 0.014 / min + 0.05 connect|
| voice outbound    | +3933 (Italian mobiles)                | 0.1 / min, 30/6           |
| voice inbound     | any number                             | 0.0085 / min              |
| voice inbound     | toll-free                              | 0.022 / min               |
| sms               | per segment                            | 0.0079                    |
| email             | per 1,000                              | 0.675                     |
| whatsapp_template | marketing / utility / authentication   | 0.0859 / 0.0336 / 0.0298  |
| day_pass          | first agent_login of a local day       | 3.5                       |

There is deliberately no ``*`` WhatsApp category: a template message without a
category cannot be rated.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import create_account

FR_MOBILE = "+33612345678"
FR_FIXED = "+33145678901"
FR_TOLL_FREE = "+33805123456"
LONDON = "+442079460000"  # matches the +4420 row: 0.05 connect fee
ITALY = "+393331234567"  # matches the +3933 row: 30/6 increments
NOT_A_NUMBER = "12345"

NOW = "2026-01-01T00:00:00Z"  # the test clock's start

PRICE_ROWS: list[dict[str, Any]] = [
    {"channel": "voice", "direction": "outbound", "price": "0.014", "increment": "60/60"},
    {
        "channel": "voice",
        "direction": "outbound",
        "destination": "+4420",
        "price": "0.014",
        "increment": "60/60",
        "connect_fee": "0.05",
    },
    {
        "channel": "voice",
        "direction": "outbound",
        "destination": "+3933",
        "price": "0.1",
        "increment": "30/6",
    },
    {"channel": "voice", "direction": "inbound", "price": "0.0085"},
    {"channel": "voice", "direction": "inbound", "number_type": "toll_free", "price": "0.022"},
    {"channel": "sms", "price": "0.0079"},
    {"channel": "email", "price": "0.675", "per": 1000},
    {"channel": "whatsapp_template", "category": "marketing", "price": "0.0859"},
    {"channel": "whatsapp_template", "category": "utility", "price": "0.0336"},
    {"channel": "whatsapp_template", "category": "authentication", "price": "0.0298"},
    {"channel": "day_pass", "price": "3.5"},
]


def put_price_list(client: TestClient, rows=None, *, effective_from="2025-01-01T00:00:00Z") -> dict:
    response = client.put(
        "/v1/price-lists/default",
        json={"unit": "EUR", "effective_from": effective_from, "rows": rows or PRICE_ROWS},
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def price_list(client) -> dict:
    return put_price_list(client)


@pytest.fixture
def acme(client, price_list) -> str:
    """An EUR account in Paris with no credit yet."""
    create_account(client, "acme", timezone="Europe/Paris")
    return "acme"


# --- events -------------------------------------------------------------------------


def call(
    event_id: str, seconds: int, to: str = FR_MOBILE, *, account_id: str = "acme", **extra
) -> dict:
    return {
        "id": event_id,
        "account_id": account_id,
        "channel": "voice",
        "occurred_at": NOW,
        "to": to,
        "duration_seconds": seconds,
        **extra,
    }


def sms(
    event_id: str, text: str = "Your code is 1234", *, account_id: str = "acme", **extra
) -> dict:
    return {
        "id": event_id,
        "account_id": account_id,
        "channel": "sms",
        "occurred_at": NOW,
        "to": FR_MOBILE,
        "text": text,
        **extra,
    }


def email(event_id: str, count: int = 1, *, account_id: str = "acme", **extra) -> dict:
    return {
        "id": event_id,
        "account_id": account_id,
        "channel": "email",
        "occurred_at": NOW,
        "count": count,
        **extra,
    }


def login(
    event_id: str, user_id: str, occurred_at: str = NOW, *, account_id: str = "acme", **extra
) -> dict:
    return {
        "id": event_id,
        "account_id": account_id,
        "channel": "agent_login",
        "occurred_at": occurred_at,
        "user_id": user_id,
        **extra,
    }


# --- the API ------------------------------------------------------------------------------


def post_usage(client: TestClient, event: dict, status: int = 200) -> dict:
    response = client.post("/v1/usage", json=event)
    assert response.status_code == status, response.text
    return response.json()


def refused(client: TestClient, event: dict, code: str, status: int = 402) -> str:
    """POST the event, expect an error with ``code``; returns the message."""
    answer = post_usage(client, event, status)
    assert answer["error"]["code"] == code, answer
    return answer["error"]["message"]


def account(client: TestClient, account_id: str = "acme") -> dict:
    response = client.get(f"/v1/accounts/{account_id}")
    assert response.status_code == 200, response.text
    return response.json()


def journal(client: TestClient, account_id: str = "acme") -> list[dict]:
    response = client.get(f"/v1/accounts/{account_id}/journal", params={"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def totals(balance_answer: dict) -> tuple[str, str, str]:
    return balance_answer["total"], balance_answer["reserved"], balance_answer["available"]


def allowance(balance_answer: dict, unit: str = "SECONDS") -> tuple[str, str, str]:
    """(remaining, reserved, available) of an allowance unit; zeros when there is none."""
    for entry in balance_answer["allowances"]:
        if entry["unit"] == unit:
            return entry["remaining"], entry["reserved"], entry["available"]
    return "0", "0", "0"


def grant_seconds(client: TestClient, account_id: str, seconds: str) -> dict:
    """Plan minutes: a SECONDS lot that pays voice only."""
    response = client.post(
        f"/v1/accounts/{account_id}/credits",
        json={
            "amount": seconds,
            "unit": "SECONDS",
            "applies_to": ["voice"],
            "source": "plan_allowance",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()

"""The API's contract at its edge: what it accepts, what it refuses and how it says so.

Each refusal is a 422 with a stable code and a message that says what to do, and writes
nothing; each acceptance prices what SPEC §5-§6 say.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import OPERATOR_KEY
from tests.helpers import create_account, grant
from tests.usage.conftest import (
    FR_MOBILE,
    NOW,
    call,
    journal,
    post_usage,
    put_price_list,
    sms,
)
from tollgate.api import create_app
from tollgate.config import Settings


def refusal(response, code: str) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


def no_usage_written(client, account_id: str = "acme") -> None:
    assert journal(client, account_id) == [] or all(
        entry["kind"] != "usage" for entry in journal(client, account_id)
    )


@pytest.fixture
def acme(client) -> str:
    """An EUR account priced by tests.usage's price list, with no credit yet."""
    put_price_list(client)
    create_account(client, "acme", timezone="Europe/Paris")
    return "acme"


@pytest.fixture
def funded(client, acme) -> str:
    grant(client, acme, "100")
    return acme


# --- occurred_at -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    [
        pytest.param("2026-01-01T00:00:00", id="no-time-zone"),
        pytest.param("2026-01-01", id="bare-date"),
        pytest.param(1767225600, id="epoch-number"),
        pytest.param("1767225600", id="epoch-string"),
        pytest.param("2026-01-01T00:00:00 Europe/Paris", id="zone-name"),
    ],
)
def test_an_instant_without_a_time_zone_is_refused(client, funded, occurred_at):
    before = journal(client, funded)
    response = client.post("/v1/usage", json=call("c1", 61, occurred_at=occurred_at))
    message = refusal(response, "invalid_instant")
    assert "time zone" in message and "2026-01-31T09:30:00Z" in message
    assert journal(client, funded) == before


@pytest.mark.parametrize(
    "occurred_at", ["2026-01-01T01:00:00+01:00", "2025-12-31t23:00:00z", "2026-01-01T00:00:00.5Z"]
)
def test_an_instant_with_its_time_zone_is_accepted(client, funded, occurred_at):
    assert post_usage(client, call("c1", 61, occurred_at=occurred_at))["cost"] == "0.028"


def test_occurred_at_more_than_a_day_ahead_is_refused(client, funded):
    before = journal(client, funded)
    response = client.post("/v1/usage", json=call("c1", 61, occurred_at="2026-01-02T00:00:01Z"))
    message = refusal(response, "occurred_at_in_future")
    assert "86400 seconds ahead" in message
    assert journal(client, funded) == before
    # A day ahead exactly is still a clock's drift.
    post_usage(client, call("c2", 61, occurred_at="2026-01-02T00:00:00Z"))


def test_in_a_batch_a_future_event_fails_alone(client, funded):
    response = client.post(
        "/v1/usage/batch",
        json={"events": [call("c1", 61, occurred_at="2027-01-01T00:00:00Z"), call("c2", 61)]},
    )
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["error"]["code"] == "occurred_at_in_future" and first["id"] == "c1"
    assert second["cost"] == "0.028"


def test_the_future_skew_is_a_setting(database, clock):
    from fastapi.testclient import TestClient

    settings = Settings(
        database_url="sqlite://", operator_keys=(OPERATOR_KEY,), max_future_skew_seconds=60
    )
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}) as client:
        put_price_list(client)
        create_account(client, "acme")
        grant(client, "acme", "10")
        late = client.post("/v1/usage", json=call("c1", 61, occurred_at="2026-01-01T00:01:01Z"))
        assert "60 seconds ahead" in refusal(late, "occurred_at_in_future")
        post_usage(client, call("c2", 61, occurred_at="2026-01-01T00:01:00Z"))


# --- accounts and lots ---------------------------------------------------------------------


def test_patch_to_a_price_list_that_does_not_exist_is_refused(client, acme):
    response = client.patch("/v1/accounts/acme", json={"price_list_id": "nowhere"})
    message = refusal(response, "unknown_price_list")
    assert "PUT /v1/price-lists/nowhere" in message
    assert client.get("/v1/accounts/acme").json()["price_list_id"] == "default"


def test_patch_to_a_price_list_in_another_unit_is_refused(client, acme):
    response = client.put(
        "/v1/price-lists/dollars",
        json={"unit": "USD", "rows": [{"channel": "sms", "price": "0.01"}]},
    )
    assert response.status_code == 201, response.text
    response = client.patch("/v1/accounts/acme", json={"price_list_id": "dollars"})
    assert "USD" in refusal(response, "price_list_unit_mismatch")
    assert client.get("/v1/accounts/acme").json()["price_list_id"] == "default"


def test_patch_to_a_price_list_in_the_accounts_unit_is_accepted(client, acme):
    response = client.put(
        "/v1/price-lists/euros", json={"unit": "EUR", "rows": [{"channel": "sms", "price": "1"}]}
    )
    assert response.status_code == 201, response.text
    response = client.patch("/v1/accounts/acme", json={"price_list_id": "euros"})
    assert response.status_code == 200, response.text
    assert response.json()["price_list_id"] == "euros"


def lots(client, account_id: str = "acme") -> list:
    return list(client.get(f"/v1/accounts/{account_id}/balance").json()["lots"])


def test_a_lot_for_a_channel_nothing_spends_is_refused(client, acme):
    response = client.post("/v1/accounts/acme/credits", json={"amount": "1", "applies_to": ["fax"]})
    message = refusal(response, "invalid_request")
    assert "applies_to" in message and "'voice'" in message and "day_pass" in message
    assert lots(client) == []


def test_a_lot_in_a_unit_nothing_spends_is_refused(client, acme):
    response = client.post("/v1/accounts/acme/credits", json={"amount": "1", "unit": "USD"})
    message = refusal(response, "unspendable_unit")
    assert "EUR" in message and "SECONDS" in message
    assert lots(client) == []
    # The account's unit and allowance seconds are spendable.
    grant(client, acme, "1", unit="EUR")
    grant(client, acme, "60", unit="SECONDS", applies_to=["voice"])
    assert len(lots(client)) == 2


# --- events ----------------------------------------------------------------------------


def test_a_whatsapp_event_without_category_is_refused_saying_so(client, funded):
    event = {**sms("w1"), "channel": "whatsapp_template", "text": None}
    message = refusal(client.post("/v1/usage", json=event), "category_required")
    assert "category" in message and "marketing" in message
    no_usage_written(client)


def test_a_quote_for_whatsapp_without_category_says_so(client, funded):
    response = client.post(
        "/v1/quotes",
        json={"account_id": "acme", "events": [{"channel": "whatsapp_template", "to": FR_MOBILE}]},
    )
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["error"]["code"] == "category_required"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(
            {"id": "bad id!", "name": "x", "unit": "EUR"},
            "id must be 1 to 64 letters, digits",
            id="account-id",
        ),
        pytest.param({"id": "a", "name": "x", "unit": "eur"}, "unit must be 2 to 12", id="unit"),
        pytest.param(
            {"id": "a", "name": "x", "unit": "EUR", "country": "fr"},
            "two-letter ISO country",
            id="country",
        ),
        pytest.param({"id": "a", "name": "x"}, "unit is required", id="missing"),
        pytest.param({"id": "a", "name": 5, "unit": "EUR"}, "name must be a string", id="type"),
    ],
)
def test_messages_show_no_pydantic_internals_or_regexes(client, body, words):
    message = refusal(client.post("/v1/accounts", json=body), "invalid_request")
    assert words in message
    assert not re.search(r"\^|\$|\[A-|Input should|pydantic|type=", message), message


# --- SMS count, billed quantity, quotes ------------------------------------------------------


def test_an_sms_to_many_recipients_costs_count_times_segments(client, funded):
    answer = post_usage(client, sms("s1", "a" * 161, count=3))
    # 161 GSM characters: 2 segments, to 3 recipients: 6 × 0.0079.
    assert (answer["cost"], answer["quantity"], answer["quantity_unit"]) == (
        "0.0474",
        6,
        "segment",
    )
    answer = post_usage(client, sms("s2", segments=4, text=None, count=5))
    assert (answer["cost"], answer["quantity"]) == ("0.158", 20)


def test_a_quote_for_many_recipients_costs_count_times_segments(client, funded):
    response = client.post(
        "/v1/quotes",
        json={
            "account_id": "acme",
            "events": [{"channel": "sms", "to": FR_MOBILE, "segments": 2, "count": 10}],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["total"] == "0.158"


def test_a_call_answers_its_billed_quantity(client, funded):
    answer = post_usage(client, call("c1", 61))
    assert (answer["cost"], answer["quantity"], answer["quantity_unit"]) == (
        "0.028",
        120,
        "second",
    )


def test_a_quote_takes_the_usage_events_own_fields(client, funded):
    event = call("c1", 61, list_id="support", user_id="u1", customer_id="c9", allow_debt=True)
    event["from"] = "+33100000000"
    response = client.post("/v1/quotes", json={"account_id": "acme", "events": [event]})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert (result["cost"], result["quantity"]) == ("0.028", 120)
    no_usage_written(client)


def test_a_quote_prices_each_event_with_the_version_in_force_at_its_occurred_at(client, funded):
    put_price_list(
        client,
        [{"channel": "sms", "price": "1"}],
        effective_from="2026-01-01T00:00:00Z",
    )
    response = client.post(
        "/v1/quotes",
        json={
            "account_id": "acme",
            "events": [
                {**sms("old", occurred_at="2025-06-01T00:00:00Z")},
                {**sms("new", occurred_at=NOW)},
            ],
        },
    )
    assert response.status_code == 200, response.text
    old, new = response.json()["results"]
    assert (old["cost"], new["cost"]) == ("0.0079", "1")


def test_a_quote_for_another_account_is_refused(client, funded):
    response = client.post(
        "/v1/quotes", json={"account_id": "acme", "events": [sms("s1", account_id="other")]}
    )
    (result,) = response.json()["results"]
    assert result["error"]["code"] == "account_mismatch"


# --- bounds (SPEC §2: 64-bit micros) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "field"),
    [
        pytest.param(call("c1", 86_401), "duration_seconds", id="duration"),
        pytest.param(sms("s1", segments=1_001, text=None), "segments", id="segments"),
        pytest.param(sms("s1", count=100_001), "count", id="count"),
    ],
)
def test_quantities_beyond_their_bounds_are_refused(client, funded, event, field):
    message = refusal(client.post("/v1/usage", json=event), "invalid_request")
    assert message.startswith(f"{field} must be at most")


def test_a_price_beyond_its_bound_is_refused(client):
    response = client.put(
        "/v1/price-lists/default",
        json={"unit": "EUR", "rows": [{"channel": "sms", "price": "10000"}]},
    )
    assert '"0" to "9999.999999"' in refusal(response, "invalid_amount")
    response = client.put(
        "/v1/price-lists/default",
        json={
            "unit": "EUR",
            "rows": [{"channel": "voice", "price": "1", "connect_fee": "10000"}],
        },
    )
    assert "connect_fee" in refusal(response, "invalid_amount")


def test_the_dearest_event_fits_in_64_bits(client):
    top = "9999.999999"
    put_price_list(client, [{"channel": "sms", "price": top}])
    create_account(client, "acme")
    response = client.post(
        "/v1/quotes",
        json={
            "account_id": "acme",
            "events": [{"channel": "sms", "to": FR_MOBILE, "segments": 1_000, "count": 100_000}],
        },
    )
    assert response.status_code == 200, response.text
    # 1e8 segments × 9999.999999: 999,999,999,900 EUR, 9.999999999e17 micros < 2^63 - 1.
    assert response.json()["results"][0]["cost"] == "999999999900"
    assert 999_999_999_900 * 1_000_000 < 2**63 - 1


# --- content types and the docs ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "text/plain", "application/octet-stream"],
)
def test_a_json_body_is_read_whatever_its_declared_content_type(client, acme, content_type):
    # What `curl -d '{...}'` sends without -H 'Content-Type: application/json'.
    headers = {} if content_type is None else {"content-type": content_type}
    response = client.post(
        "/v1/accounts/acme/credits", content=b'{"amount": "2.5"}', headers=headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == "2.5"


def test_a_form_that_is_not_json_is_still_malformed(client, acme):
    response = client.post(
        "/v1/accounts/acme/credits",
        content=b"amount=2.5",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_json"
    assert lots(client) == []


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_load_their_assets_from_the_server_itself(client, page):
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)
    assert urls, html
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url} from elsewhere"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.content
    assert "http://" not in html and "https://" not in html.replace("https://github", "")

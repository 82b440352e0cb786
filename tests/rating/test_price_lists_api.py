"""PUT/GET /v1/price-lists: versions by effective date, and every kind of bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tollgate.errors import InvalidRequest
from tollgate.rating.rater import RatableEvent
from tollgate.rating.resolver import PriceListResolver, rate_event

FR_MOBILE = "+33612345678"

ROWS = [
    {"channel": "voice", "direction": "outbound", "price": "0.014"},
    {"channel": "voice", "direction": "inbound", "price": "0.0085"},
    {"channel": "voice", "direction": "inbound", "number_type": "toll_free", "price": "0.022"},
    {
        "channel": "voice",
        "destination": "+3933",
        "price": "0.1",
        "increment": "30/6",
        "connect_fee": "0.05",
    },
    {"channel": "sms", "price": "0.0079"},
    {"channel": "email", "price": "0.675", "per": 1000},
    {
        "channel": "whatsapp_template",
        "destination": "FR",
        "category": "marketing",
        "price": "0.0859",
    },
    {"channel": "day_pass", "price": "3.5"},
]


def put(client, rows=None, *, price_list_id="default", unit="EUR", effective_from=None, status=201):
    body = {"unit": unit, "rows": ROWS if rows is None else rows}
    if effective_from is not None:
        body["effective_from"] = effective_from
    response = client.put(f"/v1/price-lists/{price_list_id}", json=body)
    assert response.status_code == status, response.text
    return response.json()


def assert_error(response, code: str, status: int = 422) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code, body
    return body["error"]["message"]


class TestPutPriceList:
    def test_creates_version_1_with_defaults_filled_in(self, client):
        answer = put(client)
        assert answer["id"] == "default"
        assert answer["version"] == 1
        assert answer["unit"] == "EUR"
        assert answer["effective_from"] == "2026-01-01T00:00:00Z"  # now, by default
        assert answer["row_count"] == len(ROWS)
        assert answer["rows"][0] == {
            "channel": "voice",
            "direction": "outbound",
            "destination": "*",
            "number_type": "*",
            "category": "*",
            "price": "0.014",
            "per": 60,
            "increment": "60/60",
            "connect_fee": "0",
        }
        assert answer["rows"][3]["increment"] == "30/6"
        assert answer["rows"][3]["connect_fee"] == "0.05"
        assert answer["rows"][5] == {
            "channel": "email",
            "direction": "*",
            "destination": "*",
            "number_type": "*",
            "category": "*",
            "price": "0.675",
            "per": 1000,
            "increment": None,
            "connect_fee": None,
        }

    def test_each_put_is_a_new_version_and_older_ones_stay(self, client):
        put(client, effective_from="2026-01-01T00:00:00Z")
        second = put(
            client, [{"channel": "sms", "price": "0.009"}], effective_from="2026-03-01T00:00:00Z"
        )
        assert second["version"] == 2
        versions = client.get("/v1/price-lists/default/versions").json()["data"]
        assert [(v["version"], v["effective_from"], v["in_force"]) for v in versions] == [
            (1, "2026-01-01T00:00:00Z", True),
            (2, "2026-03-01T00:00:00Z", False),
        ]
        assert client.get("/v1/price-lists/default/versions/1").json()["row_count"] == len(ROWS)

    def test_putting_the_latest_version_again_changes_nothing(self, client):
        put(client, effective_from="2026-01-01T00:00:00Z")
        again = put(client, effective_from="2026-01-01T00:00:00Z", status=200)
        assert again["version"] == 1
        assert len(client.get("/v1/price-lists/default/versions").json()["data"]) == 1

    def test_price_lists_are_listed(self, client):
        put(client)
        put(client, price_list_id="wholesale")
        assert client.get("/v1/price-lists").json()["data"] == [
            {"id": "default", "versions": 1},
            {"id": "wholesale", "versions": 1},
        ]

    def test_operator_only(self, anonymous):
        response = anonymous.put("/v1/price-lists/default", json={"unit": "EUR", "rows": ROWS})
        assert_error(response, "unauthorized", 401)
        assert_error(anonymous.get("/v1/price-lists/default"), "unauthorized", 401)


class TestGetPriceList:
    def test_answers_the_version_in_force_now_or_at(self, client, clock):
        put(client, effective_from="2026-01-01T00:00:00Z")
        put(client, [{"channel": "sms", "price": "0.009"}], effective_from="2026-03-01T00:00:00Z")
        assert client.get("/v1/price-lists/default").json()["version"] == 1
        at = client.get("/v1/price-lists/default", params={"at": "2026-03-01T00:00:00Z"}).json()
        assert at["version"] == 2
        assert at["rows"][0]["price"] == "0.009"
        clock.set(datetime(2026, 4, 1, tzinfo=UTC))
        assert client.get("/v1/price-lists/default").json()["version"] == 2

    def test_unknown_price_list_is_404(self, client):
        assert_error(client.get("/v1/price-lists/nope"), "price_list_not_found", 404)
        assert_error(client.get("/v1/price-lists/nope/versions"), "price_list_not_found", 404)

    def test_before_the_first_version_is_404(self, client):
        put(client, effective_from="2026-02-01T00:00:00Z")
        message = assert_error(
            client.get("/v1/price-lists/default"), "price_list_not_in_force", 404
        )
        assert "2026-02-01T00:00:00Z" in message

    def test_unknown_version_is_404(self, client):
        put(client)
        assert_error(
            client.get("/v1/price-lists/default/versions/7"), "price_list_version_not_found", 404
        )


class TestBadInput:
    @pytest.mark.parametrize(
        ("row", "code", "words"),
        [
            ({"channel": "fax", "price": "1"}, "invalid_price_row", "channel"),
            ({"channel": "agent_login", "price": "3.5"}, "invalid_price_row", "day_pass"),
            ({"channel": "voice", "price": "0.0000001"}, "invalid_amount", "6 decimals"),
            ({"channel": "voice", "price": 0.014}, "invalid_amount", "decimal string"),
            ({"channel": "voice", "price": "-0.01"}, "invalid_amount", 'from "0"'),
            ({"channel": "voice", "price": "abc"}, "invalid_amount", "decimal string"),
            ({"channel": "voice"}, "invalid_request", "price"),
            ({"channel": "voice", "price": "0.01", "per": 0}, "invalid_price_row", "per"),
            ({"channel": "voice", "price": "0.01", "per": -60}, "invalid_price_row", "per"),
            (
                {"channel": "voice", "price": "0.01", "increment": "60"},
                "invalid_price_row",
                "first/next",
            ),
            (
                {"channel": "voice", "price": "0.01", "increment": "0/60"},
                "invalid_price_row",
                "increment",
            ),
            (
                {"channel": "voice", "price": "0.01", "connect_fee": "0.0000001"},
                "invalid_amount",
                "connect_fee",
            ),
            (
                {"channel": "sms", "price": "0.01", "connect_fee": "0.1"},
                "invalid_price_row",
                "voice rows only",
            ),
            (
                {"channel": "sms", "price": "0.01", "increment": "1/1"},
                "invalid_price_row",
                "voice rows only",
            ),
            (
                {"channel": "voice", "price": "0.01", "destination": "fr"},
                "invalid_price_row",
                "destination",
            ),
            (
                {"channel": "voice", "price": "0.01", "destination": "XX"},
                "invalid_price_row",
                "country",
            ),
            (
                {"channel": "voice", "price": "0.01", "destination": "+0"},
                "invalid_price_row",
                "prefix",
            ),
            (
                {"channel": "voice", "price": "0.01", "destination": "33"},
                "invalid_price_row",
                "destination",
            ),
            (
                {"channel": "voice", "price": "0.01", "direction": "both"},
                "invalid_price_row",
                "direction",
            ),
            (
                {"channel": "voice", "price": "0.01", "number_type": "cell"},
                "invalid_price_row",
                "number_type",
            ),
            (
                {"channel": "voice", "price": "0.01", "category": "marketing"},
                "invalid_price_row",
                "whatsapp",
            ),
            (
                {"channel": "whatsapp_template", "price": "0.01", "category": "spam"},
                "invalid_price_row",
                "category",
            ),
            (
                {"channel": "email", "price": "0.675", "destination": "FR"},
                "invalid_price_row",
                "destination",
            ),
            ({"channel": "voice", "price": "0.01", "colour": "red"}, "invalid_request", "colour"),
        ],
    )
    def test_a_bad_row_is_422_with_a_clear_message(self, client, row, code, words):
        response = client.put(
            "/v1/price-lists/default", json={"unit": "EUR", "rows": [ROWS[0], row]}
        )
        message = assert_error(response, code)
        assert words in message
        assert_error(client.get("/v1/price-lists/default"), "price_list_not_found", 404)

    def test_row_errors_name_the_row(self, client):
        response = client.put(
            "/v1/price-lists/default",
            json={"unit": "EUR", "rows": [ROWS[0], {"channel": "voice", "price": "1", "per": 0}]},
        )
        assert "rows[1]" in assert_error(response, "invalid_price_row")

    def test_duplicate_match_keys_are_refused(self, client):
        rows = [
            {"channel": "voice", "destination": "FR", "price": "0.01"},
            {"channel": "voice", "destination": "FR", "direction": "*", "price": "0.02"},
        ]
        message = assert_error(
            client.put("/v1/price-lists/default", json={"unit": "EUR", "rows": rows}),
            "duplicate_price_row",
        )
        assert "rows[1]" in message and "rows[0]" in message

    def test_zero_prices_are_allowed(self, client):
        assert put(client, [{"channel": "sms", "price": "0"}])["rows"][0]["price"] == "0"

    @pytest.mark.parametrize(
        "body",
        [
            {"unit": "EUR", "rows": []},
            {"unit": "eur", "rows": ROWS},
            {"rows": ROWS},
            {"unit": "EUR"},
            {"unit": "EUR", "rows": "voice"},
            {"unit": "EUR", "rows": [ROWS[0]], "extra": 1},
        ],
    )
    def test_a_bad_body_is_422(self, client, body):
        assert_error(client.put("/v1/price-lists/default", json=body), "invalid_request")

    def test_an_effective_from_without_its_time_zone_is_422(self, client):
        for effective_from in ("yesterday", "2026-01-01T00:00:00", "2026-01-01", "1767225600"):
            body = {"unit": "EUR", "rows": ROWS, "effective_from": effective_from}
            response = client.put("/v1/price-lists/default", json=body)
            assert_error(response, "invalid_instant")

    def test_a_bad_id_is_422(self, client):
        response = client.put("/v1/price-lists/bad%20id", json={"unit": "EUR", "rows": ROWS})
        assert_error(response, "invalid_price_list_id")

    def test_a_bad_at_is_422(self, client):
        put(client)
        assert_error(
            client.get("/v1/price-lists/default", params={"at": "soon"}), "invalid_instant"
        )


class TestRatingByDate:
    def test_an_event_before_effective_from_uses_the_older_version(self, client, database):
        put(client, [{"channel": "sms", "price": "0.0079"}], effective_from="2026-01-01T00:00:00Z")
        put(client, [{"channel": "sms", "price": "0.009"}], effective_from="2026-03-01T00:00:00Z")
        sms = RatableEvent("sms", to=FR_MOBILE, segments=1)
        with database.read() as session:
            resolver = PriceListResolver(session)
            feb = resolver.rate("default", sms, datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC))
            march = resolver.rate("default", sms, datetime(2026, 3, 1, tzinfo=UTC))
            assert (feb.cost, feb.version) == (7_900, 1)
            assert (march.cost, march.version) == (9_000, 2)
            assert (
                rate_event(session, "default", sms, datetime(2026, 2, 1, tzinfo=UTC)).version == 1
            )

    def test_a_later_put_with_the_same_start_supersedes(self, client, database):
        put(client, [{"channel": "sms", "price": "0.0079"}], effective_from="2026-01-01T00:00:00Z")
        put(client, [{"channel": "sms", "price": "0.008"}], effective_from="2026-01-01T00:00:00Z")
        with database.read() as session:
            rating = rate_event(
                session,
                "default",
                RatableEvent("sms", to=FR_MOBILE, segments=1),
                datetime(2026, 1, 2, tzinfo=UTC),
            )
        assert (rating.cost, rating.version) == (8_000, 2)

    def test_an_event_before_every_version_is_unratable(self, client, database):
        put(client, effective_from="2026-01-01T00:00:00Z")
        with database.read() as session, pytest.raises(InvalidRequest) as excinfo:
            rate_event(
                session, "default", RatableEvent("email"), datetime(2025, 12, 31, tzinfo=UTC)
            )
        assert excinfo.value.code == "unratable"

    def test_an_unknown_price_list_is_unratable(self, database):
        with database.read() as session, pytest.raises(InvalidRequest) as excinfo:
            rate_event(session, "nope", RatableEvent("email"), datetime(2026, 1, 1, tzinfo=UTC))
        assert excinfo.value.code == "unratable"
        assert "does not exist" in excinfo.value.message

    def test_every_channel_rates_from_the_stored_list(self, client, database):
        put(client)
        at = datetime(2026, 1, 2, tzinfo=UTC)
        with database.read() as session:
            resolver = PriceListResolver(session)

            def cost(**event) -> int:
                return resolver.rate("default", RatableEvent(**event), at).cost

            assert cost(channel="voice", to=FR_MOBILE, duration_seconds=61) == 28_000
            assert (
                cost(channel="voice", direction="inbound", to="+33123456789", duration_seconds=60)
                == 8_500
            )
            assert (
                cost(channel="voice", direction="inbound", to="+33801234567", duration_seconds=60)
                == 22_000
            )
            # +3933…: 30/6 increments, 0.1/min and a 0.05 connect fee: 66 s → 0.11 + 0.05
            assert cost(channel="voice", to="+393331234567", duration_seconds=61) == 160_000
            assert cost(channel="sms", to=FR_MOBILE, segments=2) == 15_800
            assert cost(channel="email", count=1) == 675
            assert cost(channel="whatsapp_template", to=FR_MOBILE, category="marketing") == 85_900
            assert cost(channel="agent_login") == 3_500_000

"""POST/GET/PATCH /v1/accounts."""

from __future__ import annotations

import pytest

from tests.helpers import create_account
from tollgate.accounts.models import Account


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


class TestCreateAccount:
    def test_answers_201_with_every_field(self, client):
        response = client.post(
            "/v1/accounts", json={"id": "acme", "name": "Acme Contact Centre", "unit": "EUR"}
        )
        assert response.status_code == 201, response.text
        assert response.json() == {
            "id": "acme",
            "name": "Acme Contact Centre",
            "unit": "EUR",
            "timezone": "UTC",
            "country": None,
            "price_list_id": "default",
            "status": "active",
            "debt": "0",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }

    def test_optional_fields_are_kept(self, client):
        created = create_account(
            client,
            "globex",
            unit="USD",
            timezone="America/New_York",
            country="US",
            price_list_id="wholesale-2026",
        )
        assert created["timezone"] == "America/New_York"
        assert created["country"] == "US"
        assert created["price_list_id"] == "wholesale-2026"
        assert client.get("/v1/accounts/globex").json() == created

    def test_a_new_account_has_an_empty_balance(self, client):
        create_account(client, "acme", unit="CREDIT")
        balance = client.get("/v1/accounts/acme/balance").json()
        assert balance["unit"] == "CREDIT"
        assert (balance["total"], balance["reserved"], balance["available"]) == ("0", "0", "0")
        assert balance["lots"] == [] and balance["lists"] == []

    def test_a_duplicate_id_is_409_and_keeps_the_first_account(self, client, clock):
        create_account(client, "acme", unit="EUR")
        clock.advance(hours=1)
        response = client.post("/v1/accounts", json={"id": "acme", "name": "Other", "unit": "USD"})
        error = assert_error(response, 409, "account_exists")
        assert "acme" in error["message"]
        account = client.get("/v1/accounts/acme").json()
        assert (account["name"], account["unit"], account["updated_at"]) == (
            "Acme",
            "EUR",
            "2026-01-01T00:00:00Z",
        )


class TestGetAccount:
    def test_answers_the_stored_account(self, client):
        created = create_account(client, "acme")
        response = client.get("/v1/accounts/acme")
        assert response.status_code == 200
        assert response.json() == created

    @pytest.mark.parametrize(
        "path",
        ["/v1/accounts/nobody", "/v1/accounts/ACME", "/v1/accounts/%20", "/v1/accounts/acme."],
    )
    def test_an_unknown_account_is_404(self, client, path):
        create_account(client, "acme")
        assert_error(client.get(path), 404, "account_not_found")

    def test_a_path_with_a_nul_character_is_404(self, client):
        create_account(client, "acme")
        assert_error(client.get("/v1/accounts/acme%00"), 404, "not_found")


class TestUpdateAccount:
    def test_changes_name_timezone_country_and_price_list(self, client, clock):
        created = create_account(client, "acme")
        eu_2026 = {"unit": "EUR", "rows": [{"channel": "voice", "price": "0.01"}]}
        assert client.put("/v1/price-lists/eu-2026", json=eu_2026).status_code == 201
        clock.advance(days=1)
        response = client.patch(
            "/v1/accounts/acme",
            json={
                "name": "Acme Europe",
                "timezone": "Europe/Paris",
                "country": "FR",
                "price_list_id": "eu-2026",
            },
        )
        assert response.status_code == 200, response.text
        expected = {
            **created,
            "name": "Acme Europe",
            "timezone": "Europe/Paris",
            "country": "FR",
            "price_list_id": "eu-2026",
            "updated_at": "2026-01-02T00:00:00Z",
        }
        assert response.json() == expected
        assert client.get("/v1/accounts/acme").json() == expected

    def test_fields_left_out_keep_their_value(self, client):
        create_account(client, "acme", timezone="Europe/Paris", country="FR")
        response = client.patch("/v1/accounts/acme", json={"name": "Renamed"})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert (answer["name"], answer["timezone"], answer["country"]) == (
            "Renamed",
            "Europe/Paris",
            "FR",
        )

    def test_country_may_be_cleared(self, client):
        create_account(client, "acme", country="FR")
        response = client.patch("/v1/accounts/acme", json={"country": None})
        assert response.status_code == 200, response.text
        assert client.get("/v1/accounts/acme").json()["country"] is None

    @pytest.mark.parametrize("field", ["name", "timezone", "price_list_id"])
    def test_a_required_field_cannot_be_set_to_null(self, client, field):
        created = create_account(client, "acme")
        response = client.patch("/v1/accounts/acme", json={field: None})
        error = assert_error(response, 422, "invalid_request")
        assert field in error["message"]
        assert client.get("/v1/accounts/acme").json() == created

    def test_an_unknown_account_is_404(self, client):
        response = client.patch("/v1/accounts/nobody", json={"name": "X"})
        assert_error(response, 404, "account_not_found")

    @pytest.mark.parametrize(
        "body",
        [
            {"unit": "USD"},
            {"status": "blocked"},
            {"debt": "5"},
            {"id": "other"},
            {"name": "X", "colour": "red"},
        ],
        ids=["unit", "status", "debt", "id", "unknown"],
    )
    def test_fields_that_cannot_be_changed_are_422(self, client, body):
        created = create_account(client, "acme")
        response = client.patch("/v1/accounts/acme", json=body)
        error = assert_error(response, 422, "invalid_request")
        assert "is not a field of this request" in error["message"]
        assert client.get("/v1/accounts/acme").json() == created

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"timezone": "Mars/Olympus_Mons"}, "invalid_timezone"),
            ({"timezone": "../../etc/passwd"}, "invalid_timezone"),
            ({"timezone": ""}, "invalid_request"),
            ({"country": "fr"}, "invalid_request"),
            ({"country": "FRA"}, "invalid_request"),
            ({"name": ""}, "invalid_request"),
            ({"name": 5}, "invalid_request"),
            ({"price_list_id": "has space"}, "invalid_request"),
        ],
    )
    def test_invalid_values_are_422_and_change_nothing(self, client, body, code):
        created = create_account(client, "acme")
        assert_error(client.patch("/v1/accounts/acme", json=body), 422, code)
        assert client.get("/v1/accounts/acme").json() == created


VALID = {"id": "acme", "name": "Acme", "unit": "EUR"}


class TestInvalidAccounts:
    @pytest.mark.parametrize(
        ("changes", "code", "mentions"),
        [
            ({"timezone": "Mars/Olympus_Mons"}, "invalid_timezone", "IANA"),
            ({"timezone": "UTC\u0000"}, "invalid_request", "NUL"),
            ({"timezone": 1}, "invalid_request", "timezone"),
            ({"country": "france"}, "invalid_request", "country"),
            ({"country": "fr"}, "invalid_request", "country"),
            ({"country": 33}, "invalid_request", "country"),
            ({"unit": "eur"}, "invalid_request", "unit"),
            ({"unit": "E"}, "invalid_request", "unit"),
            ({"unit": "EURO-1"}, "invalid_request", "unit"),
            ({"unit": None}, "invalid_request", "unit"),
            ({"id": ""}, "invalid_request", "id"),
            ({"id": "has space"}, "invalid_request", "id"),
            ({"id": "-leading-dash"}, "invalid_request", "id"),
            ({"id": "a/b"}, "invalid_request", "id"),
            ({"id": "x" * 65}, "invalid_request", "id"),
            ({"id": 42}, "invalid_request", "id"),
            ({"name": ""}, "invalid_request", "name"),
            ({"name": "n" * 201}, "invalid_request", "name"),
            ({"name": "nul\u0000byte"}, "invalid_request", "name"),
            ({"price_list_id": "bad list"}, "invalid_request", "price_list_id"),
            ({"status": "blocked"}, "invalid_request", "status"),
            ({"debt": "0"}, "invalid_request", "debt"),
            ({"colour": "red"}, "invalid_request", "colour"),
        ],
    )
    def test_invalid_fields_are_422_with_a_stable_code(self, client, changes, code, mentions):
        response = client.post("/v1/accounts", json={**VALID, **changes})
        error = assert_error(response, 422, code)
        assert mentions in error["message"]
        assert_error(client.get("/v1/accounts/acme"), 404, "account_not_found")

    @pytest.mark.parametrize("missing", ["id", "name", "unit"])
    def test_required_fields_are_required(self, client, missing):
        body = {key: value for key, value in VALID.items() if key != missing}
        error = assert_error(client.post("/v1/accounts", json=body), 422, "invalid_request")
        assert missing in error["message"]

    def test_longest_valid_id_is_accepted(self, client):
        account_id = "a" + "b" * 63
        create_account(client, account_id)
        assert client.get(f"/v1/accounts/{account_id}").status_code == 200

    def test_malformed_json_is_400(self, client):
        response = client.post(
            "/v1/accounts", content=b'{"id": "acme",', headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "malformed_json")


class TestListAccounts:
    def test_lists_every_account_newest_first(self, client, clock):
        for account_id in ("acme", "globex", "initech"):
            create_account(client, account_id)
            clock.advance(minutes=1)

        response = client.get("/v1/accounts")

        assert response.status_code == 200, response.text
        answer = response.json()
        assert [account["id"] for account in answer["data"]] == ["initech", "globex", "acme"]
        assert answer["data"][2] == client.get("/v1/accounts/acme").json()
        assert answer["next_cursor"] is None

    def test_pages_follow_the_cursor_without_repeating_or_skipping(self, client, clock):
        # Two created in the same instant: the id breaks the tie.
        for account_id in ("a1", "a2", "b1", "b2", "c1"):
            create_account(client, account_id)
            if account_id.endswith("2"):
                clock.advance(minutes=1)

        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            answer = client.get("/v1/accounts", params=params).json()
            seen += [account["id"] for account in answer["data"]]
            pages += 1
            cursor = answer["next_cursor"]
            if cursor is None:
                break

        assert seen == ["c1", "b2", "b1", "a2", "a1"]
        assert pages == 3

    def test_filters_by_status(self, client, database):
        create_account(client, "acme")
        create_account(client, "globex")
        with database.write() as session:  # no API closes an account yet
            session.get(Account, "globex").status = "closed"

        closed_ids = [a["id"] for a in client.get("/v1/accounts?status=closed").json()["data"]]
        active_ids = [a["id"] for a in client.get("/v1/accounts?status=active").json()["data"]]

        assert (closed_ids, active_ids) == (["globex"], ["acme"])

    def test_an_account_key_sees_only_its_own_account(self, client, anonymous):
        create_account(client, "acme")
        create_account(client, "globex")
        key = client.post(
            "/v1/accounts/globex/api-keys", json={"name": "k", "rights": ["consumption.view"]}
        ).json()["key"]

        response = anonymous.get("/v1/accounts", headers={"Authorization": f"Bearer {key}"})

        assert response.status_code == 200, response.text
        assert [account["id"] for account in response.json()["data"]] == ["globex"]

    @pytest.mark.parametrize("query", ["status=gone", "limit=0", "limit=501", "cursor=%%%"])
    def test_bad_query_is_422(self, client, query):
        create_account(client, "acme")
        response = client.get(f"/v1/accounts?{query}")
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] in {"invalid_request", "invalid_cursor"}

    def test_a_cursor_not_answered_by_the_api_is_422(self, client):
        response = client.get("/v1/accounts", params={"cursor": "bm90IGEgY3Vyc29y"})
        assert_error(response, 422, "invalid_cursor")

"""Reads an operator expects: an authorization, and a recorded usage event with the
answer it was given. An account key naming another account's gets 404, as everywhere."""

from __future__ import annotations

import pytest

from tests.helpers import grant
from tests.usage.conftest import FR_MOBILE, NOW, post_usage, sms


def view_key(client, account_id: str) -> dict[str, str]:
    response = client.post(
        f"/v1/accounts/{account_id}/api-keys", json={"name": "k", "rights": ["consumption.view"]}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


@pytest.fixture
def funded(client, acme) -> str:
    grant(client, acme, "1.00")
    return acme


class TestReadAuthorization:
    def test_answers_the_call_as_it_stands(self, client, clock, funded):
        opened = client.post(
            "/v1/authorizations", json={"account_id": "acme", "to": FR_MOBILE, "list_id": "ops"}
        )
        assert opened.status_code == 201, opened.text
        call = opened.json()["id"]

        response = client.get(f"/v1/authorizations/{call}")

        assert response.status_code == 200, response.text
        assert response.json() == {
            "id": call,
            "account_id": "acme",
            "direction": "outbound",
            "to": FR_MOBILE,
            "list_id": "ops",
            "status": "active",
            "granted_seconds": 300,
            "created_at": NOW,
            "expires_at": opened.json()["expires_at"],
            "ended_at": None,
            "usage_event_id": None,
        }

    def test_a_captured_call_names_the_event_it_recorded(self, client, clock, funded):
        call = client.post("/v1/authorizations", json={"account_id": "acme", "to": FR_MOBILE})
        call_id = call.json()["id"]
        clock.advance(seconds=70)
        captured = client.post(
            f"/v1/authorizations/{call_id}/capture", json={"duration_seconds": 61}
        )
        assert captured.status_code == 200, captured.text

        answer = client.get(f"/v1/authorizations/{call_id}").json()

        assert answer["status"] == "captured"
        assert answer["ended_at"] == "2026-01-01T00:01:10Z"
        event = client.get(f"/v1/usage/acme/{answer['usage_event_id']}")
        assert event.status_code == 200, event.text
        assert event.json()["answer"] == captured.json()["usage"]

    def test_a_missing_authorization_is_404(self, client, acme):
        response = client.get("/v1/authorizations/auth_nothing")
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "authorization_not_found"

    def test_an_account_key_reads_its_own_and_gets_404_for_another(self, client, anonymous, funded):
        client.post("/v1/accounts", json={"id": "globex", "name": "Globex", "unit": "EUR"})
        call = client.post("/v1/authorizations", json={"account_id": "acme", "to": FR_MOBILE})
        url = f"/v1/authorizations/{call.json()['id']}"

        own = anonymous.get(url, headers=view_key(client, "acme"))
        other = anonymous.get(url, headers=view_key(client, "globex"))

        assert own.status_code == 200, own.text
        assert other.status_code == 404, other.text
        assert other.json()["error"]["code"] == "authorization_not_found"


class TestReadUsageEvent:
    def test_answers_the_event_and_the_answer_it_was_given(self, client, clock, funded):
        recorded = post_usage(client, sms("sms-1", list_id="marketing"))
        clock.advance(hours=1)

        response = client.get("/v1/usage/acme/sms-1")

        assert response.status_code == 200, response.text
        assert response.json() == {
            "id": "sms-1",
            "account_id": "acme",
            "channel": "sms",
            "occurred_at": NOW,
            "list_id": "marketing",
            "user_id": None,
            "customer_id": None,
            "direction": None,
            "to": FR_MOBILE,
            "quantity": recorded["quantity"],
            "quantity_unit": recorded["quantity_unit"],
            "cost": recorded["cost"],
            "unit": "EUR",
            "allowance_used": 0,
            "debt": "0",
            "recorded_at": NOW,
            "answer": recorded,
        }

    def test_an_event_id_with_a_slash_is_found(self, client, funded):
        recorded = post_usage(client, sms("batch/7"))
        response = client.get("/v1/usage/acme/batch/7")
        assert response.status_code == 200, response.text
        assert response.json()["answer"] == recorded

    def test_an_event_never_recorded_is_404(self, client, funded):
        response = client.get("/v1/usage/acme/nothing")
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "usage_event_not_found"

    def test_a_missing_account_is_404(self, client, funded):
        response = client.get("/v1/usage/nobody/sms-1")
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "account_not_found"

    def test_another_accounts_key_gets_404(self, client, anonymous, funded):
        client.post("/v1/accounts", json={"id": "globex", "name": "Globex", "unit": "EUR"})
        post_usage(client, sms("sms-1"))

        own = anonymous.get("/v1/usage/acme/sms-1", headers=view_key(client, "acme"))
        other = anonymous.get("/v1/usage/acme/sms-1", headers=view_key(client, "globex"))

        assert own.status_code == 200, own.text
        assert other.status_code == 404, other.text
        assert other.json()["error"]["code"] == "account_not_found"

"""Small helpers shared by the tests (scenario set-up through the public API)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tollgate.db import Database
from tollgate.ledger import check_invariants
from tollgate.ledger.invariants import journal_total


def create_account(
    client: TestClient, account_id: str = "acme", unit: str = "EUR", **extra: Any
) -> dict:
    response = client.post(
        "/v1/accounts", json={"id": account_id, "name": account_id.title(), "unit": unit, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


def grant(client: TestClient, account_id: str, amount: str, **extra: Any) -> dict:
    response = client.post(f"/v1/accounts/{account_id}/credits", json={"amount": amount, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def allocate(client: TestClient, account_id: str, list_id: str, amount: str) -> dict:
    response = client.put(
        f"/v1/accounts/{account_id}/lists/{list_id}/allocation", json={"amount": amount}
    )
    assert response.status_code == 200, response.text
    return response.json()


def reserve(client: TestClient, account_id: str, amount: str, **extra: Any) -> dict:
    response = client.post(
        f"/v1/accounts/{account_id}/reservations", json={"amount": amount, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


def balance(client: TestClient, account_id: str) -> dict:
    response = client.get(f"/v1/accounts/{account_id}/balance")
    assert response.status_code == 200, response.text
    return response.json()


def list_figures(balance_answer: dict) -> dict[str, dict]:
    return {entry["list_id"]: entry for entry in balance_answer["lists"]}


def assert_ledger_sound(database: Database, *account_ids: str, now=None) -> None:
    """The SPEC §3 invariants hold for each account and the whole journal sums to zero."""
    with database.read() as session:
        for account_id in account_ids:
            problems = check_invariants(session, account_id, now=now)
            assert problems == [], f"{account_id}: {problems}"
        assert journal_total(session) == 0

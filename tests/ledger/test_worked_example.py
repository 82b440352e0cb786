"""The worked example of docs/ledger.md, step by step, so the documentation stays true."""

from datetime import timedelta

from tests.helpers import (
    allocate,
    assert_ledger_sound,
    balance,
    create_account,
    grant,
    list_figures,
    reserve,
)


def test_docs_ledger_worked_example(client, database, clock):
    start = clock.now()
    create_account(client, "acme", unit="EUR")
    pack = grant(
        client,
        "acme",
        "100",
        source="purchase",
        expires_at=(start + timedelta(days=730)).isoformat(),
    )
    welcome = grant(
        client, "acme", "20", priority=50, expires_at=(start + timedelta(days=30)).isoformat()
    )
    allocate(client, "acme", "support", "70")
    allocate(client, "acme", "sales", "40")
    assert balance(client, "acme")["unassigned"]["balance"] == "10"

    held = reserve(client, "acme", "5", list_id="sales")
    assert held["holds"] == [{"lot_id": welcome["id"], "amount": "5"}]
    assert list_figures(balance(client, "acme"))["sales"]["available"] == "35"

    captured = client.post(f"/v1/reservations/{held['id']}/capture", json={"amount": "3.2"})
    assert captured.status_code == 200, captured.text
    assert captured.json()["paid_by"] == [{"lot_id": welcome["id"], "unit": "EUR", "amount": "3.2"}]

    clock.set(start + timedelta(days=30))
    after = balance(client, "acme")
    assert after["unassigned"]["balance"] == "0"
    lists = list_figures(after)
    assert lists["support"]["balance"] == "65.543071"
    assert lists["sales"]["balance"] == "34.456929"
    assert after["total"] == "100"
    assert [lot["id"] for lot in after["lots"]] == [pack["id"]]

    journal = client.get("/v1/accounts/acme/journal").json()["data"]
    expiry = journal[-1]
    assert expiry["kind"] == "expiry"
    assert {(p["ledger_account"], p["amount"]) for p in expiry["postings"]} == {
        ("pool", "-10"),
        ("list:support", "-4.456929"),
        ("list:sales", "-2.343071"),
        ("system:breakage", "16.8"),
    }
    assert_ledger_sound(database, "acme", now=clock.now())

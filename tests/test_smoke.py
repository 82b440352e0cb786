from tests.helpers import assert_ledger_sound, balance, create_account, grant


def test_grant_then_balance(client, database):
    create_account(client, "acme")
    grant(client, "acme", "10.5")
    answer = balance(client, "acme")
    assert answer["total"] == "10.5"
    assert answer["available"] == "10.5"
    assert_ledger_sound(database, "acme")

def test_every_operation_declares_its_refusals_with_the_error_model(app):
    error = {"$ref": "#/components/schemas/ErrorAnswer"}
    undeclared = [
        f"{method.upper()} {path} {status}"
        for path, methods in app.openapi()["paths"].items()
        for method, operation in methods.items()
        for status in ("400", "401", "403", "404", "413", "422")
        if operation["responses"]
        .get(status, {})
        .get("content", {})
        .get("application/json", {})
        .get("schema")
        != error
    ]
    assert undeclared == []


def test_money_moving_operations_declare_402_and_409(app):
    paths = app.openapi()["paths"]
    for path, method in [
        ("/v1/usage", "post"),
        ("/v1/accounts/{account_id}/reservations", "post"),
        ("/v1/reservations/{reservation_id}/capture", "post"),
        ("/v1/authorizations", "post"),
    ]:
        assert {"402", "409"} <= set(paths[path][method]["responses"]), (method, path)


def test_a_whole_number_may_be_written_as_a_float_but_not_as_a_fraction(client):
    # JSON Schema counts 60.0 as an integer: what the schema allows, the server accepts.
    from tests.helpers import create_account

    create_account(client, "acme")
    grant = {"amount": "1", "priority": 5.0}
    assert client.post("/v1/accounts/acme/credits", json=grant).json()["priority"] == 5
    refused = client.post("/v1/accounts/acme/credits", json={"amount": "1", "priority": 5.5})
    assert refused.status_code == 422, refused.text

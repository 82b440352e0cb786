"""/openapi.json documents every answer: each route names its answer model."""

from __future__ import annotations

from fastapi.routing import APIRoute

from tests.helpers import create_account


def test_every_route_declares_its_answer_model(app):
    undeclared = [
        f"{sorted(route.methods)} {route.path}"
        for route in app.routes
        if isinstance(route, APIRoute) and route.response_model is None and route.status_code != 204
    ]
    assert undeclared == []


def test_every_documented_success_has_a_schema(app):
    missing = [
        f"{method.upper()} {path} {status}"
        for path, methods in app.openapi()["paths"].items()
        for method, operation in methods.items()
        for status, response in operation["responses"].items()
        if status.startswith("2") and status != "204"
        if "schema" not in response.get("content", {}).get("application/json", {})
        or response["content"]["application/json"]["schema"] == {}
    ]
    assert missing == []


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
    # JSON Schema counts 5.0 as an integer: what the schema allows, the server accepts.
    create_account(client, "acme")
    granted = client.post("/v1/accounts/acme/credits", json={"amount": "1", "priority": 5.0})
    assert granted.status_code == 201, granted.text
    assert granted.json()["priority"] == 5
    refused = client.post("/v1/accounts/acme/credits", json={"amount": "1", "priority": 5.5})
    assert refused.status_code == 422, refused.text

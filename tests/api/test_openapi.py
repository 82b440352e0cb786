"""/openapi.json documents every answer: each route names its answer model."""

from __future__ import annotations

from fastapi.routing import APIRoute


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

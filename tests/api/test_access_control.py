"""Access control: operator keys, account keys and their rights, on every endpoint.

The matrix below names every endpoint of the API with the rule that guards it; a
test fails if the application serves an endpoint the matrix does not name, so a new
endpoint cannot ship without an access rule and its tests. Each endpoint is tried
with no key, a wrong key, a revoked key, another account's admin key and a key of
its own account lacking only the needed right (each refused, with the exact status,
and nothing in the database changed), then with a key holding the right, an admin
key and the operator key (each let through).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import OPERATOR_KEY
from tests.helpers import allocate, create_account, grant, reserve
from tollgate.access.models import ApiKey
from tollgate.access.service import RIGHTS
from tollgate.api.auth import OPERATOR
from tollgate.models import metadata

NOW = "2026-01-01T00:00:00Z"
FR_MOBILE = "+33612345678"
VIEW, ADMIN, USERS = "consumption.view", "admin", "users.manage"
NON_ADMIN = tuple(right for right in RIGHTS if right != ADMIN)
PUBLIC = "public"  # the rule of the probes, which take no key


def sms(event_id: str) -> dict:
    return {
        "id": event_id,
        "account_id": "acme",
        "channel": "sms",
        "occurred_at": NOW,
        "to": FR_MOBILE,
        "text": "Your code is 1234",
    }


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as the OpenAPI schema names it
    rule: str  # a right, OPERATOR or PUBLIC
    ok: int  # the status when let through
    url: str  # ``path`` filled from the scene: {reservation}, {authorization}, {key}
    body: dict | None = None
    # Whether the request names an account (in its path, through a reservation or
    # authorization id, or in its body): another account's key then gets 404, not 403.
    names_account: bool = True
    # A list that shows an account key its own account only: another account's key is
    # let through (and sees nothing of this one), so it is not among the refusals.
    scoped_list: bool = False
    # Puts back what a successful call used up, before the next allowed caller tries.
    rearm: Callable[[TestClient], object] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def not_found(self) -> str:
        """The code a missing thing named by this request answers."""
        for name in ("reservation", "authorization"):
            if f"{{{name}_id}}" in self.path:
                return f"{name}_not_found"
        return "account_not_found"


ENDPOINTS = [
    Endpoint("GET", "/healthz", PUBLIC, 200, "/healthz", names_account=False),
    Endpoint("GET", "/readyz", PUBLIC, 200, "/readyz", names_account=False),
    # The API's documentation pages (assets served from the package, not a CDN).
    Endpoint("GET", "/docs", PUBLIC, 200, "/docs", names_account=False),
    Endpoint("GET", "/redoc", PUBLIC, 200, "/redoc", names_account=False),
    Endpoint(
        "POST",
        "/v1/accounts",
        OPERATOR,
        201,
        "/v1/accounts",
        {"id": "initech", "name": "Initech", "unit": "EUR"},
        names_account=False,
    ),
    Endpoint("GET", "/v1/accounts", VIEW, 200, "/v1/accounts", scoped_list=True),
    Endpoint("GET", "/v1/accounts/{account_id}", VIEW, 200, "/v1/accounts/acme"),
    Endpoint(
        "PATCH",
        "/v1/accounts/{account_id}",
        OPERATOR,
        200,
        "/v1/accounts/acme",
        {"name": "Acme SAS"},
    ),
    Endpoint(
        "POST",
        "/v1/accounts/{account_id}/credits",
        OPERATOR,
        201,
        "/v1/accounts/acme/credits",
        {"amount": "5"},
    ),
    Endpoint("GET", "/v1/accounts/{account_id}/balance", VIEW, 200, "/v1/accounts/acme/balance"),
    Endpoint("GET", "/v1/accounts/{account_id}/journal", VIEW, 200, "/v1/accounts/acme/journal"),
    Endpoint(
        "PUT",
        "/v1/accounts/{account_id}/lists/{list_id}/allocation",
        ADMIN,
        200,
        "/v1/accounts/acme/lists/support/allocation",
        {"amount": "7"},
    ),
    Endpoint(
        "DELETE",
        "/v1/accounts/{account_id}/lists/{list_id}/allocation",
        ADMIN,
        204,
        "/v1/accounts/acme/lists/support/allocation",
        rearm=lambda client: allocate(client, "acme", "support", "6"),
    ),
    Endpoint(
        "POST",
        "/v1/accounts/{account_id}/reservations",
        OPERATOR,
        201,
        "/v1/accounts/acme/reservations",
        {"amount": "1"},
    ),
    Endpoint(
        "GET", "/v1/reservations/{reservation_id}", VIEW, 200, "/v1/reservations/{reservation}"
    ),
    Endpoint(
        "POST",
        "/v1/reservations/{reservation_id}/capture",
        OPERATOR,
        200,
        "/v1/reservations/{reservation}/capture",
        {"amount": "0.5"},
    ),
    Endpoint(
        "POST",
        "/v1/reservations/{reservation_id}/release",
        OPERATOR,
        200,
        "/v1/reservations/{reservation}/release",
    ),
    Endpoint(
        "PUT",
        "/v1/price-lists/{price_list_id}",
        OPERATOR,
        201,
        "/v1/price-lists/wholesale",
        {"unit": "EUR", "rows": [{"channel": "sms", "price": "0.01"}]},
        names_account=False,
    ),
    Endpoint("GET", "/v1/price-lists", OPERATOR, 200, "/v1/price-lists", names_account=False),
    Endpoint(
        "GET",
        "/v1/price-lists/{price_list_id}",
        OPERATOR,
        200,
        "/v1/price-lists/default",
        names_account=False,
    ),
    Endpoint(
        "GET",
        "/v1/price-lists/{price_list_id}/versions",
        OPERATOR,
        200,
        "/v1/price-lists/default/versions",
        names_account=False,
    ),
    Endpoint(
        "GET",
        "/v1/price-lists/{price_list_id}/versions/{version}",
        OPERATOR,
        200,
        "/v1/price-lists/default/versions/1",
        names_account=False,
    ),
    # Usage names an account in its body, but only the operator may report usage at all.
    Endpoint("POST", "/v1/usage", OPERATOR, 200, "/v1/usage", sms("ev-1"), names_account=False),
    Endpoint(
        "POST",
        "/v1/usage/batch",
        OPERATOR,
        200,
        "/v1/usage/batch",
        {"events": [sms("ev-2")]},
        names_account=False,
    ),
    Endpoint(
        "POST",
        "/v1/quotes",
        VIEW,
        200,
        "/v1/quotes",
        {"account_id": "acme", "events": [{"channel": "sms", "to": FR_MOBILE, "text": "Hi"}]},
    ),
    Endpoint(
        "POST",
        "/v1/authorizations",
        OPERATOR,
        201,
        "/v1/authorizations",
        {"account_id": "acme", "to": FR_MOBILE},
        names_account=False,
    ),
    Endpoint(
        "GET",
        "/v1/authorizations/{authorization_id}",
        VIEW,
        200,
        "/v1/authorizations/{authorization}",
    ),
    Endpoint(
        "GET",
        "/v1/usage/{account_id}/{event_id:path}",
        VIEW,
        200,
        "/v1/usage/acme/ev-0",
    ),
    Endpoint(
        "POST",
        "/v1/authorizations/{authorization_id}/extend",
        OPERATOR,
        200,
        "/v1/authorizations/{authorization}/extend",
    ),
    Endpoint(
        "POST",
        "/v1/authorizations/{authorization_id}/capture",
        OPERATOR,
        200,
        "/v1/authorizations/{authorization}/capture",
        {"duration_seconds": 30},
    ),
    Endpoint(
        "POST",
        "/v1/authorizations/{authorization_id}/release",
        OPERATOR,
        200,
        "/v1/authorizations/{authorization}/release",
    ),
    Endpoint(
        "POST",
        "/v1/accounts/{account_id}/api-keys",
        USERS,
        201,
        "/v1/accounts/acme/api-keys",
        {"name": "ci", "rights": [USERS]},
    ),
    Endpoint("GET", "/v1/accounts/{account_id}/api-keys", USERS, 200, "/v1/accounts/acme/api-keys"),
    Endpoint(
        "DELETE",
        "/v1/accounts/{account_id}/api-keys/{key_id}",
        USERS,
        204,
        "/v1/accounts/acme/api-keys/{key}",
    ),
]


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]


def new_key(client, account_id: str, *rights: str, name: str = "key") -> dict:
    response = client.post(
        f"/v1/accounts/{account_id}/api-keys", json={"name": name, "rights": list(rights)}
    )
    assert response.status_code == 201, response.text
    return response.json()


def bearer(key: str | dict) -> dict:
    return {"Authorization": f"Bearer {key['key'] if isinstance(key, dict) else key}"}


def snapshot(database) -> dict:
    """Every row of every table: a refused request changes none of them."""
    with database.read() as session:
        return {
            table.name: sorted((tuple(row) for row in session.execute(table.select())), key=repr)
            for table in metadata.sorted_tables
        }


@pytest.fixture
def scene(client) -> dict:
    """acme and globex, each with credit; acme with an allocation, a held reservation,
    an open call authorization, and API keys of every kind the matrix needs."""
    response = client.put(
        "/v1/price-lists/default",
        json={
            "unit": "EUR",
            "effective_from": "2025-01-01T00:00:00Z",
            "rows": [
                {"channel": "voice", "direction": "outbound", "price": "0.014"},
                {"channel": "sms", "price": "0.0079"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    for account_id in ("acme", "globex"):
        create_account(client, account_id)
        grant(client, account_id, "100")
    allocate(client, "acme", "support", "6")
    reserve(client, "globex", "2")
    recorded = client.post("/v1/usage", json=sms("ev-0"))
    assert recorded.status_code == 200, recorded.text
    authorization = client.post("/v1/authorizations", json={"account_id": "acme", "to": FR_MOBILE})
    assert authorization.status_code == 201, authorization.text
    revoked = new_key(client, "acme", ADMIN, name="revoked")
    assert client.delete(f"/v1/accounts/acme/api-keys/{revoked['id']}").status_code == 204
    return {
        "reservation": reserve(client, "acme", "1")["id"],
        "authorization": authorization.json()["id"],
        "key": new_key(client, "acme", USERS, name="target")["id"],
        "acme_admin": new_key(client, "acme", ADMIN),
        "globex_admin": new_key(client, "globex", ADMIN),
        "revoked": revoked,
    }


def key_lacking(client, rule: str) -> dict:
    """A key of acme holding every right but the one the rule needs."""
    if rule == OPERATOR:
        return new_key(client, "acme", ADMIN)
    return new_key(client, "acme", *(right for right in NON_ADMIN if right != rule))


def served_endpoints(app) -> set[tuple[str, str]]:
    """Every (method, path) the application answers, those left out of OpenAPI included."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were resolved lazily
        routes = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    return {
        (method, route.path)
        for route in routes
        if isinstance(getattr(route, "original_route", route), APIRoute)
        for method in route.methods
    }


def test_the_matrix_names_every_endpoint(app):
    served = served_endpoints(app)
    named = {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}
    assert served - named == set(), "add these endpoints to ENDPOINTS, with their access rule"
    assert named - served == set(), "these endpoints are no longer served"


def allowed_callers(client, scene, rule: str) -> dict[str, dict]:
    """The callers that may use a route guarded by ``rule``, with their headers."""
    if rule == PUBLIC:
        return {"no key": {}, "wrong key": bearer("tg_" + "x" * 43)}
    callers = {"operator": bearer(OPERATOR_KEY)}
    if rule != OPERATOR:
        callers["admin"] = bearer(scene["acme_admin"])
    if rule not in (OPERATOR, ADMIN):
        callers["key with the right"] = bearer(new_key(client, "acme", rule))
    return callers


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_access(client, anonymous, database, scene, endpoint):
    """Refused callers change nothing; then each allowed caller is let through."""
    url = endpoint.url.format(**scene)
    refusals = (
        []
        if endpoint.rule == PUBLIC
        else [
            ("no key", {}, 401, "unauthorized"),
            ("wrong key", bearer("tg_" + "x" * 43), 401, "unauthorized"),
            ("revoked key", bearer(scene["revoked"]), 401, "unauthorized"),
            (
                "other account's admin key",
                bearer(scene["globex_admin"]),
                *((404, endpoint.not_found) if endpoint.names_account else (403, "forbidden")),
            ),
            ("key lacking the right", bearer(key_lacking(client, endpoint.rule)), 403, "forbidden"),
        ]
    )
    if endpoint.scoped_list:
        refusals = [r for r in refusals if r[0] != "other account's admin key"]
    before = snapshot(database)
    for name, headers, status, code in refusals:
        response = anonymous.request(endpoint.method, url, json=endpoint.body, headers=headers)
        assert response.status_code == status, (name, response.text)
        assert response.json()["error"]["code"] == code, (name, response.text)
    assert snapshot(database) == before

    for name, headers in allowed_callers(client, scene, endpoint.rule).items():
        if endpoint.rearm:
            endpoint.rearm(client)
        response = anonymous.request(endpoint.method, url, json=endpoint.body, headers=headers)
        assert response.status_code == endpoint.ok, (name, response.text)


# --- scenarios ------------------------------------------------------------------------


class TestCreateApiKey:
    def test_the_secret_is_answered_once_and_only_its_hash_is_stored(self, client, database):
        create_account(client, "acme")
        answer = new_key(client, "acme", VIEW, "credit.buy", name="dashboard")
        assert set(answer) == {"id", "name", "rights", "key"}
        assert answer["id"].startswith("key_") and answer["key"].startswith("tg_")
        assert (answer["name"], answer["rights"]) == ("dashboard", [VIEW, "credit.buy"])

        listed = client.get("/v1/accounts/acme/api-keys").json()["data"]
        assert listed == [
            {
                "id": answer["id"],
                "name": "dashboard",
                "rights": [VIEW, "credit.buy"],
                "created_at": NOW,
                "revoked_at": None,
            }
        ]
        with database.read() as session:
            (row,) = session.execute(select(ApiKey.__table__)).all()
        assert row.hash == hashlib.sha256(answer["key"].encode()).hexdigest()
        assert all(answer["key"] not in str(value) for value in row)

    def test_the_key_works_for_its_own_account(self, client, anonymous):
        create_account(client, "acme")
        key = new_key(client, "acme", VIEW)
        response = anonymous.get("/v1/accounts/acme/balance", headers=bearer(key))
        assert response.status_code == 200, response.text

    def test_rights_are_listed_once_each_in_a_fixed_order(self, client):
        create_account(client, "acme")
        answer = new_key(client, "acme", USERS, VIEW, USERS)
        assert answer["rights"] == [VIEW, USERS]

    @pytest.mark.parametrize(
        "rights", [[], ["root"], ["consumption.VIEW"], "admin", [None]], ids=str
    )
    def test_unknown_or_no_rights_are_422(self, client, rights):
        create_account(client, "acme")
        response = client.post("/v1/accounts/acme/api-keys", json={"name": "k", "rights": rights})
        assert_error(response, 422, "invalid_request")

    def test_a_key_for_a_missing_account_is_404(self, client):
        response = client.post("/v1/accounts/nobody/api-keys", json={"name": "k", "rights": [VIEW]})
        assert_error(response, 404, "account_not_found")


class TestRevokeApiKey:
    def test_a_revoked_key_stops_working_at_once(self, client, anonymous, clock):
        create_account(client, "acme")
        key, other = new_key(client, "acme", VIEW), new_key(client, "acme", VIEW)
        assert anonymous.get("/v1/accounts/acme", headers=bearer(key)).status_code == 200
        clock.advance(hours=1)
        assert client.delete(f"/v1/accounts/acme/api-keys/{key['id']}").status_code == 204
        assert_error(anonymous.get("/v1/accounts/acme", headers=bearer(key)), 401, "unauthorized")
        assert anonymous.get("/v1/accounts/acme", headers=bearer(other)).status_code == 200
        listed = {
            entry["id"]: entry for entry in client.get("/v1/accounts/acme/api-keys").json()["data"]
        }
        assert listed[key["id"]]["revoked_at"] == "2026-01-01T01:00:00Z"
        assert listed[other["id"]]["revoked_at"] is None

    def test_revoking_twice_keeps_the_first_instant(self, client, clock):
        create_account(client, "acme")
        key = new_key(client, "acme", VIEW)
        assert client.delete(f"/v1/accounts/acme/api-keys/{key['id']}").status_code == 204
        clock.advance(hours=1)
        assert client.delete(f"/v1/accounts/acme/api-keys/{key['id']}").status_code == 204
        (listed,) = client.get("/v1/accounts/acme/api-keys").json()["data"]
        assert listed["revoked_at"] == NOW

    def test_a_key_can_revoke_itself(self, client, anonymous):
        create_account(client, "acme")
        key = new_key(client, "acme", USERS)
        url = f"/v1/accounts/acme/api-keys/{key['id']}"
        assert anonymous.delete(url, headers=bearer(key)).status_code == 204
        assert_error(anonymous.delete(url, headers=bearer(key)), 401, "unauthorized")

    def test_an_unknown_key_or_another_accounts_key_is_404(self, client):
        create_account(client, "acme")
        create_account(client, "globex")
        globex_key = new_key(client, "globex", VIEW)
        for key_id in ("key_nothing", globex_key["id"]):
            response = client.delete(f"/v1/accounts/acme/api-keys/{key_id}")
            assert_error(response, 404, "api_key_not_found")
        assert client.get("/v1/accounts/globex/api-keys").json()["data"][0]["revoked_at"] is None


class TestNoEscalation:
    @pytest.mark.parametrize(
        ("holder", "wanted"),
        [
            ([USERS], [VIEW]),
            ([USERS], [ADMIN]),
            ([USERS, VIEW], [VIEW, "credit.buy"]),
            (list(NON_ADMIN), [ADMIN]),
        ],
        ids=str,
    )
    def test_users_manage_cannot_grant_rights_it_lacks(
        self, client, anonymous, database, holder, wanted
    ):
        create_account(client, "acme")
        manager = new_key(client, "acme", *holder)
        before = snapshot(database)
        response = anonymous.post(
            "/v1/accounts/acme/api-keys",
            json={"name": "more", "rights": wanted},
            headers=bearer(manager),
        )
        assert_error(response, 403, "forbidden")
        assert snapshot(database) == before

    def test_users_manage_grants_what_it_holds(self, client, anonymous):
        create_account(client, "acme")
        manager = new_key(client, "acme", USERS, VIEW)
        response = anonymous.post(
            "/v1/accounts/acme/api-keys",
            json={"name": "viewer", "rights": [VIEW]},
            headers=bearer(manager),
        )
        assert response.status_code == 201, response.text
        viewer = response.json()
        assert anonymous.get("/v1/accounts/acme/journal", headers=bearer(viewer)).status_code == 200

    def test_only_admin_grants_admin(self, client, anonymous):
        create_account(client, "acme")
        admin = new_key(client, "acme", ADMIN)
        response = anonymous.post(
            "/v1/accounts/acme/api-keys",
            json={"name": "second admin", "rights": [ADMIN]},
            headers=bearer(admin),
        )
        assert response.status_code == 201, response.text
        assert response.json()["rights"] == [ADMIN]

    def test_users_manage_cannot_revoke_a_more_powerful_key(self, client, anonymous):
        create_account(client, "acme")
        admin, manager = new_key(client, "acme", ADMIN), new_key(client, "acme", USERS)
        response = anonymous.delete(
            f"/v1/accounts/acme/api-keys/{admin['id']}", headers=bearer(manager)
        )
        assert_error(response, 403, "forbidden")
        assert anonymous.get("/v1/accounts/acme", headers=bearer(admin)).status_code == 200


class TestTenantIsolation:
    """Another account's things answer exactly what missing things answer."""

    @pytest.fixture
    def globex(self, client) -> dict:
        for account_id in ("acme", "globex"):
            create_account(client, account_id)
            grant(client, account_id, "10")
        return {
            "reservation": reserve(client, "globex", "1")["id"],
            "acme_admin": new_key(client, "acme", ADMIN),
        }

    @pytest.mark.parametrize(
        ("method", "url", "missing_id"),
        [
            ("GET", "/v1/accounts/{globex}", "nobody"),
            ("GET", "/v1/accounts/{globex}/balance", "nobody"),
            ("GET", "/v1/accounts/{globex}/journal", "nobody"),
            ("GET", "/v1/reservations/{reservation}", "res_missing"),
            ("POST", "/v1/reservations/{reservation}/release", "res_missing"),
        ],
    )
    def test_another_accounts_resource_is_404_like_a_missing_one(
        self, client, anonymous, globex, method, url, missing_id
    ):
        other_id = "globex" if "{globex}" in url else globex["reservation"]
        seen_by_acme = anonymous.request(
            method,
            url.format(globex=other_id, reservation=other_id),
            headers=bearer(globex["acme_admin"]),
        )
        missing_for_operator = client.request(
            method, url.format(globex=missing_id, reservation=missing_id)
        )
        assert seen_by_acme.status_code == missing_for_operator.status_code == 404
        assert seen_by_acme.json() == {
            "error": {
                **missing_for_operator.json()["error"],
                "message": missing_for_operator.json()["error"]["message"].replace(
                    missing_id, other_id
                ),
            }
        }
        assert client.get(f"/v1/reservations/{globex['reservation']}").json()["status"] == "held"

    def test_a_missing_reservation_looks_the_same_to_an_account_key(
        self, client, anonymous, globex
    ):
        headers = bearer(globex["acme_admin"])
        other = anonymous.get(f"/v1/reservations/{globex['reservation']}", headers=headers)
        missing = anonymous.get("/v1/reservations/res_missing", headers=headers)
        assert other.json()["error"]["code"] == missing.json()["error"]["code"]
        assert other.status_code == missing.status_code == 404

    def test_a_quote_for_another_account_is_404(self, client, anonymous, globex):
        response = anonymous.post(
            "/v1/quotes",
            json={"account_id": "globex", "events": [{"channel": "email", "count": 1}]},
            headers=bearer(globex["acme_admin"]),
        )
        assert_error(response, 404, "account_not_found")

    def test_an_account_key_cannot_list_or_create_another_accounts_keys(
        self, client, anonymous, globex
    ):
        headers = bearer(globex["acme_admin"])
        assert_error(
            anonymous.get("/v1/accounts/globex/api-keys", headers=headers), 404, "account_not_found"
        )
        response = anonymous.post(
            "/v1/accounts/globex/api-keys", json={"name": "x", "rights": [ADMIN]}, headers=headers
        )
        assert_error(response, 404, "account_not_found")
        assert client.get("/v1/accounts/globex/api-keys").json()["data"] == []

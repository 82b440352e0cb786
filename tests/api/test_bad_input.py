"""Bad input on every write endpoint: a 4xx with a stable code, and nothing written.

Each case sends one bad request to an account that already holds credit, a list
allocation and a held reservation, then compares the account's balance, journal and
reservation with what they were before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import OPERATOR_KEY, START
from tests.helpers import allocate, create_account, grant, reserve


def assert_error(response, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].strip()
    if message is not None:
        assert message in body["error"]["message"], body


@pytest.fixture
def funded(client) -> dict:
    """acme: 10 EUR expiring in 30 days, 4 allocated to "support", 1 reserved there."""
    create_account(client, "acme")
    grant(client, "acme", "10", expires_at=(START + timedelta(days=30)).isoformat())
    allocate(client, "acme", "support", "4")
    reservation = reserve(client, "acme", "1", list_id="support")
    return {"account": "acme", "reservation": reservation["id"]}


def snapshot(client, funded: dict) -> tuple:
    balance = client.get(f"/v1/accounts/{funded['account']}/balance")
    journal = client.get(f"/v1/accounts/{funded['account']}/journal", params={"limit": 500})
    reservation = client.get(f"/v1/reservations/{funded['reservation']}")
    account = client.get(f"/v1/accounts/{funded['account']}")
    for response in (balance, journal, reservation, account):
        assert response.status_code == 200, response.text
    return balance.json(), journal.json(), reservation.json(), account.json()


WRITES = {
    "grant": ("POST", "/v1/accounts/{account}/credits"),
    "allocation": ("PUT", "/v1/accounts/{account}/lists/support/allocation"),
    "reservation": ("POST", "/v1/accounts/{account}/reservations"),
    "capture": ("POST", "/v1/reservations/{reservation}/capture"),
}


@dataclass
class Bad:
    """One bad request body and the error it must get."""

    id: str
    status: int
    code: str
    message: str | None = None
    json: Any = None
    content: bytes | None = None
    only: tuple[str, ...] = ()
    headers: dict = field(default_factory=dict)

    def send(self, client, endpoint: str, funded: dict):
        method, template = WRITES[endpoint]
        url = template.format(**funded)
        if self.content is not None:
            headers = {"content-type": "application/json", **self.headers}
            return client.request(method, url, content=self.content, headers=headers)
        return client.request(method, url, json=self.json, headers=self.headers)


NOT_DECIMAL = "amount must be a decimal string"
NOT_OBJECT = "the request body must be a JSON object"

COMMON = [
    Bad("malformed-json", 400, "malformed_json", "not valid JSON", content=b'{"amount": "1"'),
    Bad("trailing-garbage", 400, "malformed_json", content=b'{"amount": "1"} x'),
    Bad("single-quotes", 400, "malformed_json", content=b"{'amount': '1'}"),
    Bad("not-utf8", 400, "malformed_json", content=b'{"amount": "\xff"}'),
    Bad("empty-body", 422, "invalid_request", NOT_OBJECT, content=b""),
    Bad("json-null", 422, "invalid_request", NOT_OBJECT, content=b"null"),
    Bad("json-array", 422, "invalid_request", NOT_OBJECT, json=[{"amount": "1"}]),
    Bad("json-string", 422, "invalid_request", NOT_OBJECT, json="1"),
    Bad("json-number", 422, "invalid_request", NOT_OBJECT, json=1),
    Bad("missing-amount", 422, "invalid_request", "amount", json={}),
    Bad("unknown-field", 422, "invalid_request", "colour", json={"amount": "1", "colour": "red"}),
    Bad("integer", 422, "invalid_amount", NOT_DECIMAL, json={"amount": 1}),
    Bad("float", 422, "invalid_amount", NOT_DECIMAL, json={"amount": 1.5}),
    Bad("exponent-number", 422, "invalid_amount", NOT_DECIMAL, content=b'{"amount": 1e2}'),
    Bad("boolean", 422, "invalid_amount", NOT_DECIMAL, json={"amount": True}),
    Bad("null-amount", 422, "invalid_amount", NOT_DECIMAL, json={"amount": None}),
    Bad("list-amount", 422, "invalid_amount", NOT_DECIMAL, json={"amount": ["1"]}),
    Bad("object-amount", 422, "invalid_amount", NOT_DECIMAL, json={"amount": {"value": "1"}}),
    Bad("empty-string", 422, "invalid_amount", NOT_DECIMAL, json={"amount": ""}),
    Bad("words", 422, "invalid_amount", NOT_DECIMAL, json={"amount": "ten"}),
    Bad("exponent-string", 422, "invalid_amount", NOT_DECIMAL, json={"amount": "1e3"}),
    Bad("comma", 422, "invalid_amount", NOT_DECIMAL, json={"amount": "1,5"}),
    Bad("plus-sign", 422, "invalid_amount", NOT_DECIMAL, json={"amount": "+1"}),
    Bad("nan", 422, "invalid_amount", NOT_DECIMAL, json={"amount": "NaN"}),
    Bad("infinity", 422, "invalid_amount", NOT_DECIMAL, json={"amount": "Infinity"}),
    Bad("non-ascii-digits", 422, "invalid_amount", NOT_DECIMAL, json={"amount": "\u0661"}),
    Bad(
        "seven-decimals",
        422,
        "invalid_amount",
        "more than 6 decimals",
        json={"amount": "0.0000001"},
    ),
    Bad(
        "seven-decimals-trailing-zero",
        422,
        "invalid_amount",
        "more than 6 decimals",
        json={"amount": "1.5000000"},
    ),
    Bad("negative", 422, "invalid_amount", "must not be negative", json={"amount": "-1"}),
    Bad(
        "negative-micro",
        422,
        "invalid_amount",
        "must not be negative",
        json={"amount": "-0.000001"},
    ),
    Bad(
        "over-the-largest-amount",
        422,
        "invalid_amount",
        "at most",
        json={"amount": "1000000000.000001"},
    ),
    Bad("huge", 422, "invalid_amount", "too large", json={"amount": "9" * 40}),
    # Zero means nothing for a grant or a reservation (it is meaningful for an
    # allocation, which it empties, and a capture, which then charges nothing).
    Bad(
        "zero",
        422,
        "invalid_amount",
        "greater than zero",
        json={"amount": "0"},
        only=("grant", "reservation"),
    ),
    Bad(
        "zero-with-decimals",
        422,
        "invalid_amount",
        "greater than zero",
        json={"amount": "0.000000"},
        only=("grant", "reservation"),
    ),
    Bad(
        "negative-zero",
        422,
        "invalid_amount",
        "greater than zero",
        json={"amount": "-0"},
        only=("grant", "reservation"),
    ),
]

PAST = (START - timedelta(seconds=1)).isoformat()
SPECIFIC = [
    # grants
    Bad(
        "expires-in-the-past",
        422,
        "invalid_expiry",
        "expires_at must be in the future",
        json={"amount": "1", "expires_at": PAST},
        only=("grant", "reservation"),
    ),
    Bad(
        "expires-now",
        422,
        "invalid_expiry",
        "expires_at must be in the future",
        json={"amount": "1", "expires_at": START.isoformat()},
        only=("grant", "reservation"),
    ),
    Bad(
        "expires-not-a-date",
        422,
        "invalid_instant",
        "expires_at",
        json={"amount": "1", "expires_at": "tomorrow"},
        only=("grant", "reservation"),
    ),
    Bad(
        "expires-beyond-year-9999",
        422,
        "invalid_instant",
        "expires_at",
        json={"amount": "1", "expires_at": "9999-12-31T23:59:59-05:00"},
        only=("grant", "reservation"),
    ),
    Bad(
        "expires-before-year-1",
        422,
        "invalid_instant",
        "expires_at",
        json={"amount": "1", "expires_at": "0001-01-01T00:00:00+05:00"},
        only=("grant", "reservation"),
    ),
    Bad(
        "priority-string",
        422,
        "invalid_request",
        "priority",
        json={"amount": "1", "priority": "1"},
        only=("grant",),
    ),
    Bad(
        "priority-float",
        422,
        "invalid_request",
        "priority",
        json={"amount": "1", "priority": 1.5},
        only=("grant",),
    ),
    Bad(
        "priority-huge",
        422,
        "invalid_request",
        "priority",
        json={"amount": "1", "priority": 2**70},
        only=("grant",),
    ),
    Bad(
        "unknown-source",
        422,
        "invalid_source",
        "source must be one of",
        json={"amount": "1", "source": "gift"},
        only=("grant",),
    ),
    Bad(
        "source-not-a-string",
        422,
        "invalid_request",
        "source",
        json={"amount": "1", "source": 1},
        only=("grant",),
    ),
    Bad(
        "lowercase-unit",
        422,
        "invalid_request",
        "unit",
        json={"amount": "1", "unit": "eur"},
        only=("grant",),
    ),
    Bad(
        "applies-to-string",
        422,
        "invalid_request",
        "applies_to",
        json={"amount": "1", "applies_to": "voice"},
        only=("grant",),
    ),
    Bad(
        "applies-to-empty",
        422,
        "invalid_request",
        "applies_to",
        json={"amount": "1", "applies_to": []},
        only=("grant",),
    ),
    Bad(
        "applies-to-bad-tag",
        422,
        "invalid_request",
        "applies_to",
        json={"amount": "1", "applies_to": ["Voice Calls"]},
        only=("grant",),
    ),
    Bad(
        "memo-number",
        422,
        "invalid_request",
        "memo",
        json={"amount": "1", "memo": 5},
        only=("grant",),
    ),
    Bad(
        "memo-nul-byte",
        422,
        "invalid_request",
        "memo must not contain NUL",
        json={"amount": "1", "memo": "a\u0000b"},
        only=("grant",),
    ),
    Bad(
        "memo-lone-surrogate",
        422,
        "invalid_request",
        "memo",
        content=b'{"amount": "1", "memo": "\\ud800"}',
        only=("grant",),
    ),
    Bad(
        "applies-to-nul-byte",
        422,
        "invalid_request",
        "applies_to",
        json={"amount": "1", "applies_to": ["voice\u0000"]},
        only=("grant",),
    ),
    # reservations
    Bad(
        "list-id-number",
        422,
        "invalid_request",
        "list_id",
        json={"amount": "1", "list_id": 5},
        only=("reservation",),
    ),
    Bad(
        "list-id-empty",
        422,
        "invalid_request",
        "list_id",
        json={"amount": "1", "list_id": ""},
        only=("reservation",),
    ),
    Bad(
        "list-id-nul-byte",
        422,
        "invalid_request",
        "list_id",
        json={"amount": "1", "list_id": "a\u0000b"},
        only=("reservation",),
    ),
    Bad(
        "more-than-the-pool",
        402,
        "insufficient_credit",
        "only 6 EUR available",
        json={"amount": "6.000001"},
        only=("reservation",),
    ),
    Bad(
        "more-than-the-list",
        402,
        "insufficient_credit",
        "only 3 EUR available",
        json={"amount": "3.5", "list_id": "support"},
        only=("reservation",),
    ),
    Bad(
        "largest-amount",
        402,
        "insufficient_credit",
        json={"amount": "1000000000"},
        only=("reservation", "allocation"),
    ),
    # allocations
    Bad(
        "more-than-the-pool-has",
        402,
        "insufficient_credit",
        "unassigned pool has 6 EUR",
        json={"amount": "10.5"},
        only=("allocation",),
    ),
    Bad(
        "below-what-the-list-holds",
        409,
        "allocation_below_reserved",
        "1 EUR reserved",
        json={"amount": "0.5"},
        only=("allocation",),
    ),
    # captures: more than held draws the excess from available credit, or nothing at all
    Bad(
        "more-than-held-and-available",
        402,
        "insufficient_credit",
        json={"amount": "4.000001"},
        only=("capture",),
    ),
]

CASES = [
    pytest.param(endpoint, case, id=f"{endpoint}-{case.id}")
    for case in COMMON + SPECIFIC
    for endpoint in WRITES
    if not case.only or endpoint in case.only
]


@pytest.mark.parametrize(("endpoint", "case"), CASES)
def test_bad_input_is_refused_and_writes_nothing(client, funded, endpoint, case):
    before = snapshot(client, funded)
    response = case.send(client, endpoint, funded)
    assert_error(response, case.status, case.code, case.message)
    assert snapshot(client, funded) == before


class TestUnknownTargets:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/v1/accounts/nobody/credits", {"amount": "1"}),
            ("PUT", "/v1/accounts/nobody/lists/support/allocation", {"amount": "1"}),
            ("DELETE", "/v1/accounts/nobody/lists/support/allocation", None),
            ("POST", "/v1/accounts/nobody/reservations", {"amount": "1"}),
            ("GET", "/v1/accounts/nobody/balance", None),
            ("GET", "/v1/accounts/nobody/journal", None),
        ],
    )
    def test_an_unknown_account_is_404(self, client, funded, method, path, body):
        before = snapshot(client, funded)
        response = client.request(method, path, json=body)
        assert_error(response, 404, "account_not_found", "does not exist")
        assert snapshot(client, funded) == before

    @pytest.mark.parametrize("reservation_id", ["res_000000000000000000000000", "1", "%20"])
    @pytest.mark.parametrize(
        ("method", "action", "body"),
        [("POST", "/capture", {"amount": "1"}), ("POST", "/release", None), ("GET", "", None)],
    )
    def test_an_unknown_reservation_is_404(
        self, client, funded, reservation_id, method, action, body
    ):
        before = snapshot(client, funded)
        response = client.request(method, f"/v1/reservations/{reservation_id}{action}", json=body)
        assert_error(response, 404, "reservation_not_found", "does not exist")
        assert snapshot(client, funded) == before

    def test_removing_an_allocation_that_does_not_exist_is_404(self, client, funded):
        before = snapshot(client, funded)
        response = client.delete("/v1/accounts/acme/lists/marketing/allocation")
        assert_error(response, 404, "allocation_not_found", "marketing")
        assert snapshot(client, funded) == before

    @pytest.mark.parametrize(
        "list_id", ["x" * 129, "has%20space", "-dash", "caf%C3%A9", "%ED%A0%80"], ids=str
    )
    @pytest.mark.parametrize("method", ["PUT", "DELETE"])
    def test_an_invalid_list_id_in_the_path_is_422(self, client, funded, list_id, method):
        before = snapshot(client, funded)
        body = {"amount": "1"} if method == "PUT" else None
        response = client.request(
            method, f"/v1/accounts/acme/lists/{list_id}/allocation", json=body
        )
        assert_error(response, 422, "invalid_list_id", "list_id")
        assert snapshot(client, funded) == before

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/v1/accounts/acme%00/credits", {"amount": "1"}),
            ("GET", "/v1/accounts/acme%00/balance", None),
            ("PUT", "/v1/accounts/acme/lists/support%00/allocation", {"amount": "1"}),
            ("DELETE", "/v1/accounts/acme/lists/support%00/allocation", None),
            ("POST", "/v1/reservations/res%00/capture", {"amount": "1"}),
            ("POST", "/v1/reservations/res%00/release", None),
        ],
    )
    def test_a_path_with_a_nul_character_names_nothing(self, client, funded, method, path, body):
        before = snapshot(client, funded)
        response = client.request(method, path, json=body)
        assert_error(response, 404, "not_found", "NUL")
        assert snapshot(client, funded) == before

    def test_a_list_allocated_through_the_path_can_be_spent_by_name(self, client, funded):
        allocate(client, "acme", "team.b-2@eu:1", "2")
        reservation = reserve(client, "acme", "2", list_id="team.b-2@eu:1")
        assert reservation["list_id"] == "team.b-2@eu:1"


class TestFinishedReservations:
    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("capture", "capture"),
            ("capture", "release"),
            ("release", "release"),
            ("release", "capture"),
        ],
    )
    def test_ending_a_reservation_twice_is_409_and_has_no_second_effect(
        self, client, funded, first, second
    ):
        url = f"/v1/reservations/{funded['reservation']}"
        body = {"amount": "0.4"}
        response = client.post(f"{url}/{first}", json=body if first == "capture" else None)
        assert response.status_code == 200, response.text
        before = snapshot(client, funded)
        response = client.post(f"{url}/{second}", json=body if second == "capture" else None)
        expected = "captured" if first == "capture" else "released"
        assert_error(response, 409, "reservation_not_held", f"already {expected}")
        assert snapshot(client, funded) == before


class TestQueryParameters:
    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 0},
            {"limit": 501},
            {"limit": "ten"},
            {"after": -1},
            {"after": "x"},
            {"after": 2**64},
            {"after": 10**30},
        ],
        ids=str,
    )
    def test_bad_journal_paging_is_422(self, client, funded, params):
        response = client.get("/v1/accounts/acme/journal", params=params)
        assert_error(response, 422, "invalid_request")

    def test_the_largest_cursor_is_an_empty_page(self, client, funded):
        response = client.get("/v1/accounts/acme/journal", params={"after": 2**63 - 1})
        assert response.status_code == 200, response.text
        assert response.json() == {"data": [], "has_more": False, "next_after": None}


class TestRouting:
    def test_an_unknown_path_is_a_json_404(self, client):
        assert_error(client.get("/v1/nothing-here"), 404, "not_found")

    def test_a_wrong_method_is_a_json_405(self, client, funded):
        assert_error(client.delete("/v1/accounts/acme/credits"), 405, "method_not_allowed")


# --- authentication -----------------------------------------------------------------

EVERY_ENDPOINT = [
    ("POST", "/v1/accounts", {"id": "initech", "name": "Initech", "unit": "EUR"}),
    ("GET", "/v1/accounts/acme", None),
    ("PATCH", "/v1/accounts/acme", {"name": "Hijacked"}),
    ("POST", "/v1/accounts/acme/credits", {"amount": "1000"}),
    ("GET", "/v1/accounts/acme/balance", None),
    ("GET", "/v1/accounts/acme/journal", None),
    ("PUT", "/v1/accounts/acme/lists/support/allocation", {"amount": "6"}),
    ("DELETE", "/v1/accounts/acme/lists/support/allocation", None),
    ("POST", "/v1/accounts/acme/reservations", {"amount": "1"}),
    ("GET", "/v1/reservations/{reservation}", None),
    ("POST", "/v1/reservations/{reservation}/capture", {"amount": "1"}),
    ("POST", "/v1/reservations/{reservation}/release", None),
]

BAD_CREDENTIALS = {
    "no-header": {},
    "wrong-key": {"Authorization": "Bearer not-the-key"},
    "key-prefix": {"Authorization": f"Bearer {OPERATOR_KEY[:-1]}"},
    "key-with-suffix": {"Authorization": f"Bearer {OPERATOR_KEY}x"},
    "empty-bearer": {"Authorization": "Bearer "},
    "basic-scheme": {"Authorization": f"Basic {OPERATOR_KEY}"},
    "key-without-scheme": {"Authorization": OPERATOR_KEY},
}


@pytest.mark.parametrize(
    ("method", "path", "body"), EVERY_ENDPOINT, ids=[f"{m} {p}" for m, p, _ in EVERY_ENDPOINT]
)
def test_every_endpoint_needs_a_valid_operator_key(client, anonymous, funded, method, path, body):
    before = snapshot(client, funded)
    for name, credentials in BAD_CREDENTIALS.items():
        response = anonymous.request(method, path.format(**funded), json=body, headers=credentials)
        assert response.status_code == 401, (name, response.text)
        assert_error(response, 401, "unauthorized")
    assert snapshot(client, funded) == before
    assert client.get("/v1/accounts/initech").status_code == 404


@pytest.mark.parametrize("body", [b"[]", b'{"amount": 1.5}', b'{"amount": "0"}'], ids=str)
def test_authentication_is_checked_before_the_body(client, anonymous, funded, body):
    response = anonymous.post(
        "/v1/accounts/acme/credits", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 401, "unauthorized")


def test_the_scheme_is_case_insensitive(anonymous, funded):
    response = anonymous.get(
        "/v1/accounts/acme", headers={"Authorization": f"bearer {OPERATOR_KEY}"}
    )
    assert response.status_code == 200, response.text

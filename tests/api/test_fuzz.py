"""Hostile input: the API fuzzed from its own OpenAPI schema (schemathesis).

Requests are generated from /openapi.json, valid and invalid ones, and sent in-process
to an app built as the fixtures build it (operator key, fixed clock), on each store:

- every operation on its own, against an account that holds credit, an allocation,
  a held reservation, a call authorization and an API key — half of the generated
  requests name those, the others whatever was generated;
- sequences of calls that follow the links schemathesis infers from the documented
  answers (and a few more): create an account, grant it credit, reserve, capture,
  release, charge usage…

In both, time passes now and then, so that requests also find lots to expire and
reservations to lapse. Every answer must not be a 5xx, must match what /openapi.json
says the operation answers, and when it is a 4xx it must have changed nothing: no
journal entry or posting, no lot, bucket or debt figure.
"""

from __future__ import annotations

import os
import zlib
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks, positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from sqlalchemy import func, select, text

from tests.conftest import OPERATOR_KEY, START
from tests.helpers import allocate, create_account, grant, reserve
from tests.usage.conftest import FR_MOBILE, put_price_list
from tollgate.accounts.models import Account
from tollgate.api import create_app
from tollgate.config import Settings
from tollgate.db import Database
from tollgate.ledger.invariants import journal_total
from tollgate.ledger.models import Bucket, JournalEntry, Lot, Posting
from tollgate.models import metadata

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {OPERATOR_KEY}"}
# Small budgets, since the file runs in the suite on both stores; TOLLGATE_FUZZ_SCALE=20
# fuzzes twenty times longer. A single answer slower than the deadline is a bug in
# itself (a lock wait, a runaway query).
SCALE = int(os.environ.get("TOLLGATE_FUZZ_SCALE", "1"))
DEADLINE = timedelta(seconds=10)
EXAMPLES_PER_OPERATION = 15 * SCALE
SEQUENCES = 15 * SCALE
STEPS_PER_SEQUENCE = 12
EXPIRING_DAYS = 14


def ledger_figures(database: Database) -> dict[str, int]:
    """Everything a balance is made of, summed over the whole store."""
    with database.read() as session:
        postings, moved = session.execute(
            select(func.count(), func.coalesce(func.sum(func.abs(Posting.amount)), 0))
        ).one()
        lots, amount, remaining, reserved = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Lot.amount), 0),
                func.coalesce(func.sum(Lot.remaining), 0),
                func.coalesce(func.sum(Lot.reserved), 0),
            )
        ).one()
        balance, held = session.execute(
            select(
                func.coalesce(func.sum(Bucket.balance), 0),
                func.coalesce(func.sum(Bucket.reserved), 0),
            )
        ).one()
        return {
            "journal entries": session.scalar(select(func.count()).select_from(JournalEntry)),
            "postings": postings,
            "Σ postings": journal_total(session),
            "Σ |postings|": int(moved),
            "lots": lots,
            "Σ lot amount": int(amount),
            "Σ lot remaining": int(remaining),
            "Σ lot reserved": int(reserved),
            "Σ bucket balance": int(balance),
            "Σ bucket reserved": int(held),
            "Σ debt": int(session.scalar(select(func.coalesce(func.sum(Account.debt), 0)))),
        }


class LedgerWatch:
    """The ledger's figures taken before each request, for :meth:`check` after it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.before: dict[str, int] | None = None

    def mark(self) -> None:
        self.before = ledger_figures(self.database)

    def check(self):
        """A schemathesis check: a 4xx answer left every figure as it was."""

        def rejected_request_changes_no_balance(ctx, response, case) -> None:
            if not 400 <= response.status_code < 500:
                return
            assert self.before is not None, "mark() was not called before the request"
            after = ledger_figures(self.database)
            changed = {
                name: f"{self.before[name]} -> {after[name]}"
                for name in after
                if after[name] != self.before[name]
            }
            assert not changed, (
                f"{case.method} {case.formatted_path} answered {response.status_code} "
                f"but changed the ledger: {changed}"
            )

        return rejected_request_changes_no_balance


def seed(client) -> dict[str, str]:
    """What requests may name: acme (EUR) with 100 EUR, 10 of them allocated to
    "support" and 1 reserved there, an open call authorization and an API key.

    1 EUR of it expires each day of the first two weeks, so that whenever the tests
    let time pass, the next request that locks acme has an expiry to catch up on.
    """
    put_price_list(client)
    create_account(client, "acme")
    grant(client, "acme", "86")
    for day in range(1, EXPIRING_DAYS + 1):
        grant(client, "acme", "1", expires_at=(START + timedelta(days=day)).isoformat())
    allocate(client, "acme", "support", "10")
    reservation = reserve(client, "acme", "1", list_id="support")
    authorization = client.post("/v1/authorizations", json={"account_id": "acme", "to": FR_MOBILE})
    assert authorization.status_code == 201, authorization.text
    key = client.post("/v1/accounts/acme/api-keys", json={"name": "fuzz", "rights": ["admin"]})
    assert key.status_code == 201, key.text
    return {
        "account_id": "acme",
        "list_id": "support",
        "reservation_id": reservation["id"],
        "authorization_id": authorization.json()["id"],
        "key_id": key.json()["id"],
        "price_list_id": "default",
    }


def empty(database: Database) -> None:
    """Delete every row, the append-only journal's included."""
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    with database.write() as session:
        if not database.is_sqlite:
            session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return
        # SQLite has no TRUNCATE: the triggers that guard the journal go for the
        # time of the transaction.
        triggers = session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        for name, _ in triggers:
            session.execute(text(f'DROP TRIGGER "{name}"'))
        for table in reversed(metadata.sorted_tables):
            session.execute(table.delete())
        for _, sql in triggers:
            session.execute(text(sql))


@pytest.fixture
def seeded(client) -> dict[str, str]:
    return seed(client)


@pytest.fixture
def watch(database) -> LedgerWatch:
    return LedgerWatch(database)


def name_what_exists(case, seeded: dict[str, str]) -> None:
    """Generated ids mostly name nothing (404): name what exists instead, in the path
    and in a body (an account, a number that can be rated, a moment a price list
    covers). Only in parts generated valid: a negative part stays as generated, or
    its one invalid value could be replaced by a valid one."""
    components = case.meta.components if case.meta is not None else {}

    def generated_valid(location: ParameterLocation) -> bool:
        info = components.get(location)
        return info is None or info.mode is GenerationMode.POSITIVE

    if case.path_parameters and generated_valid(ParameterLocation.PATH):
        for name in case.path_parameters:
            if name in seeded:
                case.path_parameters[name] = seeded[name]
    if isinstance(case.body, dict) and generated_valid(ParameterLocation.BODY):
        plausible = {
            "account_id": seeded["account_id"],
            "to": FR_MOBILE,
            "occurred_at": START.isoformat(),
        }
        for name, value in plausible.items():
            if name in case.body:
                case.body[name] = value


@pytest.fixture
def api_schema(app, seeded):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# Refusals of schema-valid requests that no schema can express: most depend on the
# clock, the store or the price list (a past expires_at, a future occurred_at, a number
# no price row rates, credit that is not there, a price list that does not exist or
# prices in another unit, a unit the account cannot spend); two price rows that match
# the same events are a uniqueness over defaulted fields, which JSON Schema's
# uniqueItems cannot say; a page cursor is opaque, valid only if this API answered it.
# Each is a declared status of its route (status_code_conformance
# holds for them); positive_data_acceptance lets exactly these codes through and fails
# on every other refusal of schema-valid data.
INEXPRESSIBLE_REFUSALS = frozenset(
    {
        "insufficient_credit",
        "invalid_expiry",
        "occurred_at_in_future",
        "unratable",
        "unknown_price_list",
        "price_list_unit_mismatch",
        "unspendable_unit",
        "duplicate_price_row",
        "invalid_cursor",
    }
)


def refusal_code(response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def positive_data_acceptance_but_inexpressible(ctx, response, case):
    """schemathesis' positive_data_acceptance, less INEXPRESSIBLE_REFUSALS."""
    if response.status_code in (402, 422) and refusal_code(response) in INEXPRESSIBLE_REFUSALS:
        return None
    return positive_data_acceptance(ctx, response, case)


def checks(watch: LedgerWatch) -> list:
    """Every check schemathesis has (``schemathesis run -c all``), and the ledger's own;
    positive_data_acceptance narrowed as INEXPRESSIBLE_REFUSALS says."""
    load_all_checks()
    every = [check for check in CHECKS.get_all() if check is not positive_data_acceptance]
    assert len(every) == len(CHECKS.get_all()) - 1
    return [*every, positive_data_acceptance_but_inexpressible, watch.check()]


def _operation_labels() -> list[str]:
    # Known at collection time, so that each operation is a test of its own.
    app = create_app(Settings(database_url="sqlite://", operator_keys=(OPERATOR_KEY,)))
    return [
        f"{method.upper()} {path}"
        for path, methods in app.openapi()["paths"].items()
        for method in methods
    ]


@pytest.mark.parametrize("operation", _operation_labels())
def test_every_operation_survives_hostile_input(operation, api_schema, watch, clock, seeded):
    target = api_schema.find_operation_by_label(operation)
    requests = st.one_of(
        target.as_strategy(GenerationMode.POSITIVE), target.as_strategy(GenerationMode.NEGATIVE)
    )

    @given(case=requests, a_day_passes=st.booleans(), existing=st.booleans())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=DEADLINE,
        suppress_health_check=list(HealthCheck),
    )
    def answers_within_the_contract(case, a_day_passes, existing):
        if a_day_passes:
            clock.advance(days=1)
        if existing:
            name_what_exists(case, seeded)
        watch.mark()
        response = case.call(headers=AUTH)
        case.validate_response(response, checks=checks(watch))

    answers_within_the_contract()


CREDITS = "POST /v1/accounts/{account_id}/credits"
RESERVE = "POST /v1/accounts/{account_id}/reservations"
ALLOCATE = "PUT /v1/accounts/{account_id}/lists/{list_id}/allocation"
# Sequences keep to the operations that move money, or most steps would go elsewhere.
MONEY_FLOW = [
    "POST /v1/accounts",
    CREDITS,
    ALLOCATE,
    "DELETE /v1/accounts/{account_id}/lists/{list_id}/allocation",
    RESERVE,
    "POST /v1/reservations/{reservation_id}/capture",
    "POST /v1/reservations/{reservation_id}/release",
    "POST /v1/usage",
    "POST /v1/usage/batch",
    "POST /v1/authorizations",
    "POST /v1/authorizations/{authorization_id}/extend",
    "POST /v1/authorizations/{authorization_id}/capture",
    "POST /v1/authorizations/{authorization_id}/release",
    "GET /v1/accounts/{account_id}/balance",
    "GET /v1/accounts/{account_id}/journal",
    "GET /v1/reservations/{reservation_id}",
]
# Links schemathesis cannot infer from the answers' shapes, so that sequences go on
# from credit to spending it: (from, status, to, link).
SPENDING_LINKS = [
    (
        CREDITS,
        "201",
        RESERVE,
        {
            "parameters": {"path.account_id": "$response.body#/account_id"},
            "requestBody": {"amount": "$response.body#/amount"},
        },
    ),
    (CREDITS, "201", ALLOCATE, {"parameters": {"path.account_id": "$response.body#/account_id"}}),
    (
        CREDITS,
        "201",
        "POST /v1/usage",
        {"requestBody": {"account_id": "$response.body#/account_id"}},
    ),
    (
        CREDITS,
        "201",
        "POST /v1/authorizations",
        {"requestBody": {"account_id": "$response.body#/account_id"}},
    ),
    (
        ALLOCATE,
        "200",
        RESERVE,
        {
            "parameters": {"path.account_id": "$response.body#/account_id"},
            "requestBody": {"list_id": "$response.body#/list_id"},
        },
    ),
    (
        RESERVE,
        "201",
        "POST /v1/reservations/{reservation_id}/capture",
        {
            "parameters": {"path.reservation_id": "$response.body#/id"},
            "requestBody": {"amount": "$response.body#/held"},
        },
    ),
]


def add_links(schema, links) -> None:
    for number, (source, status, target, link) in enumerate(links):
        method, path = source.split(" ", 1)
        target_method, target_path = target.split(" ", 1)
        pointer = target_path.replace("~", "~0").replace("/", "~1")
        responses = schema.raw_schema["paths"][path][method.lower()]["responses"]
        responses[status].setdefault("links", {})[f"Spending{number}"] = {
            "operationRef": f"#/paths/{pointer}/{target_method.lower()}",
            **link,
        }


def test_sequences_of_calls_keep_to_the_contract(
    api_schema, watch, database, client, seeded, clock
):
    """Create accounts, grant, reserve, capture, release… following the links, while
    time passes: lots expire and reservations lapse in between."""
    contract = checks(watch)
    add_links(api_schema, SPENDING_LINKS)
    money_flow = api_schema.include(name=MONEY_FLOW)

    class Sequences(money_flow.as_state_machine()):
        def setup(self):
            # Each sequence starts from the same store, or Hypothesis could not replay one.
            clock.set(START)
            empty(database)
            seeded.update(seed(client))

        @rule(hours=st.integers(min_value=1, max_value=72))
        def time_passes(self, hours):
            clock.advance(hours=hours)

        def before_call(self, case):
            # Half the steps (chosen from the case itself, so that Hypothesis can
            # replay them) name what was seeded.
            if zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 2:
                name_what_exists(case, seeded)
            watch.mark()

        def get_call_kwargs(self, case):
            return {"headers": AUTH}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=contract, transport_kwargs=kwargs)

    Sequences.run(
        settings=settings(
            max_examples=SEQUENCES,
            stateful_step_count=STEPS_PER_SEQUENCE,
            deadline=DEADLINE,
            suppress_health_check=list(HealthCheck),
        )
    )

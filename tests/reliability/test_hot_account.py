"""A hot account: many clients charge one account at once, over HTTP, until it runs dry.

Eight clients, released together, post fixed-price events for one account to a real
``tollgate serve`` — on PostgreSQL three worker processes (``--workers 3``) sharing the
store, on SQLite one process — each until it is refused. The account must end at
exactly zero available, or at the remainder too small for one more event; never below
zero; with exactly ``credit // price`` events accepted, each recorded once. A deadlock
would show as a 500 (PostgreSQL aborts one side) or as a client timing out.

The batch variant mixes ``/v1/usage/batch`` requests that name the hot account and
others, in shuffled orders, with single events, so that transactions lock overlapping
sets of accounts in every order.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import _stores as stores
from tests.reliability.live import Api, LiveServer
from tests.reliability.stores import empty_store
from tollgate.db import Database
from tollgate.ledger.invariants import check_invariants, journal_total
from tollgate.money import format_amount, parse_amount
from tollgate.usage.models import UsageEvent

pytestmark = pytest.mark.slow

CLIENTS = 8
OTHERS = ("cool-1", "cool-2", "cool-3")
CREDIT = "5"
OCCURRED_AT = "2026-01-01T00:00:00Z"
PRICE_ROWS = [
    {"channel": "sms", "price": "0.025"},  # 5 / 0.025 = 200 events, nothing left
    {"channel": "whatsapp_template", "category": "authentication", "price": "0.0298"},
    # 5 / 0.0298 = 167 events, 0.0234 left: less than one more event
]
# A client gives up after this many answers: the test fails instead of running forever.
MOST_REQUESTS_PER_CLIENT = 1_000


def usage_event(channel: str, event_id: str, account_id: str) -> dict:
    event = {
        "id": event_id,
        "account_id": account_id,
        "channel": channel,
        "occurred_at": OCCURRED_AT,
        "to": "+33612345678",
    }
    if channel == "sms":
        event["segments"] = 1
    else:
        event["category"] = "authentication"
    return event


def price_of(channel: str) -> int:
    row = next(r for r in PRICE_ROWS if r["channel"] == channel)
    return parse_amount(row["price"])


@dataclass
class Store:
    """One server for the module's tests, on one store; each test has a hot account of
    its own."""

    url: str
    server: LiveServer


@pytest.fixture(scope="module", params=stores())
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    store = request.param
    directory = tmp_path_factory.mktemp(store)
    url = empty_store(store, directory, request)
    live = LiveServer(url, directory / "serve.log", workers=1 if store == "sqlite" else 3)
    try:
        live.start()
        if store != "sqlite":
            # Several server processes really share the store (supervisor + workers).
            assert live.processes() in (0, 4, 5), live.processes()  # 0: no /proc
        with Api(live) as api:
            api.ok(
                "PUT",
                "/v1/price-lists/default",
                {"unit": "EUR", "effective_from": "2025-01-01T00:00:00Z", "rows": PRICE_ROWS},
            )
            for account_id in OTHERS:
                api.ok(
                    "POST", "/v1/accounts", {"id": account_id, "name": account_id, "unit": "EUR"}
                )
                api.ok("POST", f"/v1/accounts/{account_id}/credits", {"amount": "100000"})
        yield Store(url, live)
    finally:
        live.kill()


def open_hot_account(served: Store, account_id: str) -> None:
    with Api(served.server) as api:
        api.ok("POST", "/v1/accounts", {"id": account_id, "name": account_id, "unit": "EUR"})
        # Two lots, so that the charges also cross from one to the next.
        api.ok("POST", f"/v1/accounts/{account_id}/credits", {"amount": "2", "priority": 10})
        api.ok("POST", f"/v1/accounts/{account_id}/credits", {"amount": "3"})


def together(work: Callable[[int], list], clients: int = CLIENTS) -> list:
    """Run ``work(client)`` for every client on its own thread, all released at once."""
    barrier = threading.Barrier(clients)

    def start(client: int) -> list:
        barrier.wait(timeout=60)
        return work(client)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(start, client) for client in range(clients)]
        return [future.result(timeout=300) for future in futures]


def assert_ran_dry(
    served: Store,
    account_id: str,
    channel: str,
    accepted: list[dict],
    refused: list[tuple[int, Any]],
) -> None:
    """Exactly ``credit // price`` events accepted, the rest refused with a 402, and the
    account left with what no further event fits in, never less than zero."""
    price = price_of(channel)
    credit = parse_amount(CREDIT)
    expected = credit // price
    left = credit - expected * price
    context = f"server log:\n{served.server.log_tail()}"
    assert len(accepted) == expected, context
    assert refused, "no client was ever refused"
    assert all(
        status == 402 and answer["error"]["code"] == "insufficient_credit"
        for status, answer in refused
    ), f"{Counter(status for status, _ in refused)}: {refused[:3]} {context}"

    # The balances the answers gave step down by one price each, never below zero.
    seen = sorted(
        (parse_amount(a["balance"]["available"], allow_zero=True) for a in accepted), reverse=True
    )
    assert seen == [credit - n * price for n in range(1, expected + 1)]
    with Api(served.server) as api:
        balance = api.ok("GET", f"/v1/accounts/{account_id}/balance")
        account = api.ok("GET", f"/v1/accounts/{account_id}")
    assert balance["available"] == format_amount(left)
    assert 0 <= left < price
    assert (account["status"], account["debt"]) == ("active", "0")

    database = Database(served.url)
    try:
        with database.read() as session:
            recorded = session.scalar(
                select(func.count())
                .select_from(UsageEvent)
                .where(UsageEvent.account_id == account_id)
            )
            assert recorded == expected
            for checked in (account_id, *OTHERS):
                assert check_invariants(session, checked) == [], checked
            assert journal_total(session) == 0
    finally:
        database.dispose()


@pytest.mark.parametrize("channel", ["sms", "whatsapp_template"])
def test_hot_account_is_charged_exactly_until_it_runs_dry(served: Store, channel: str) -> None:
    hot = f"hot-{channel}"
    open_hot_account(served, hot)

    def charge_until_refused(client: int) -> list[tuple[int, Any]]:
        answers = []
        with Api(served.server, timeout=60) as api:
            for n in range(MOST_REQUESTS_PER_CLIENT):
                event = usage_event(channel, f"c{client}-{n}", hot)
                status, answer = api.call("POST", "/v1/usage", event)
                answers.append((status, answer))
                if status != 200:
                    break
        return answers

    answers = [answer for client in together(charge_until_refused) for answer in client]
    accepted = [answer for status, answer in answers if status == 200]
    refused = [(status, answer) for status, answer in answers if status != 200]
    assert_ran_dry(served, hot, channel, accepted, refused)


def test_batches_locking_accounts_in_any_order_do_not_deadlock(served: Store) -> None:
    hot, channel = "hot-batches", "sms"
    open_hot_account(served, hot)
    database = Database(served.url)
    try:
        with database.read() as session:
            others_before = session.scalar(
                select(func.count())
                .select_from(UsageEvent)
                .where(UsageEvent.account_id.in_(OTHERS))
            )
    finally:
        database.dispose()

    def charge_until_refused(client: int) -> list[tuple[str, int, Any]]:
        """(account, status, answer) of every event sent, until a hot one is refused."""
        rng = random.Random(client)
        outcomes: list[tuple[str, int, Any]] = []
        with Api(served.server, timeout=60) as api:
            for n in range(MOST_REQUESTS_PER_CLIENT):
                events = [
                    usage_event(channel, f"b{client}-{n}-hot{k}", hot)
                    for k in range(rng.randint(1, 2))
                ]
                events += [
                    usage_event(channel, f"b{client}-{n}-{k}", rng.choice(OTHERS))
                    for k in range(rng.randint(1, 4))
                ]
                rng.shuffle(events)
                if rng.random() < 0.3:
                    event = events[0]
                    status, answer = api.call("POST", "/v1/usage", event)
                    outcomes.append((event["account_id"], status, answer))
                else:
                    status, answer = api.call("POST", "/v1/usage/batch", {"events": events})
                    assert status == 200, f"{status} {answer}\n{served.server.log_tail()}"
                    for event, result in zip(events, answer["results"], strict=True):
                        # A refused event of a batch: as the 402 it would be on its own.
                        refused = result.get("error", {}).get("code") == "insufficient_credit"
                        status = 200 if "error" not in result else 402 if refused else 0
                        outcomes.append((event["account_id"], status, result))
                if any(account == hot and status != 200 for account, status, _ in outcomes):
                    break
        return outcomes

    outcomes = [o for client in together(charge_until_refused) for o in client]
    others = [(status, answer) for account, status, answer in outcomes if account != hot]
    failed = [(status, answer) for status, answer in others if status != 200]
    assert others and not failed, failed[:3]
    on_hot = [(status, answer) for account, status, answer in outcomes if account == hot]
    accepted = [answer for status, answer in on_hot if status == 200]
    refused = [(status, answer) for status, answer in on_hot if status != 200]
    assert_ran_dry(served, hot, channel, accepted, refused)

    database = Database(served.url)
    try:
        with database.read() as session:
            others_after = session.scalar(
                select(func.count())
                .select_from(UsageEvent)
                .where(UsageEvent.account_id.in_(OTHERS))
            )
        assert others_after - others_before == len(others)
    finally:
        database.dispose()

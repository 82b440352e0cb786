"""A soak: mixed requests from eight threads against a real server, then the ledger's checks.

Eight clients send, for a bounded time, what a busy installation receives at once:
single usage events and batches (some refused for want of credit, some naming an
unknown account, some replaying an earlier event), grants under an
``Idempotency-Key`` (some retried), and reservations captured or released. Refused
events matter: each leaves an exception (and the recorder that raised it) in a
reference cycle, which the cyclic garbage collector frees later in whichever thread
it happens to run — the way a SQLite connection once got used from two threads.

Nothing may answer 5xx or fail to answer, no request may take longer than
:data:`STALL` (a stall, not a speed measurement: once a stuck transaction kept every
writer waiting a minute), and afterwards every account's invariants hold, the journal
sums to zero, and every accepted event is recorded exactly once.

``TOLLGATE_SOAK_SECONDS`` lengthens the run (to reproduce a rare fault).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from tests.conftest import _stores as stores
from tests.reliability.live import Api, LiveServer
from tests.reliability.stores import empty_store
from tollgate.db import Database
from tollgate.ledger.invariants import check_invariants, journal_total
from tollgate.usage.models import UsageEvent

pytestmark = pytest.mark.slow

CLIENTS = 8
SECONDS = float(os.environ.get("TOLLGATE_SOAK_SECONDS", "20"))
# No answer may take longer: generous, it detects a stall (busy timeouts are 60 s).
STALL = 10.0
RICH = tuple(f"rich-{n}" for n in range(4))
POOR = tuple(f"poor-{n}" for n in range(2))  # little credit: most of their events refused
OCCURRED_AT = "2026-01-01T00:00:00Z"
PRICE_ROWS = [
    {"channel": "sms", "price": "0.0079"},
    {"channel": "voice", "direction": "outbound", "price": "0.014", "increment": "60/60"},
]


def sms(event_id: str, account_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "account_id": account_id,
        "channel": "sms",
        "occurred_at": OCCURRED_AT,
        "to": "+33612345678",
        "segments": 1,
    }


def call(event_id: str, account_id: str, seconds: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "account_id": account_id,
        "channel": "voice",
        "occurred_at": OCCURRED_AT,
        "to": "+33612345678",
        "duration_seconds": seconds,
    }


@dataclass
class Tally:
    """What one client saw."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    slowest: float = 0.0
    accepted: set[tuple[str, str]] = field(default_factory=set)


class Client:
    """One load thread: a random mix of requests until ``deadline``."""

    def __init__(self, server: LiveServer, number: int, deadline: float) -> None:
        self.api = Api(server, timeout=STALL * 3)
        self.number = number
        self.rng = random.Random(number)
        self.deadline = deadline
        self.tally = Tally()
        self.sent: list[dict[str, Any]] = []
        self.keys: list[tuple[str, dict[str, Any]]] = []
        self.serial = 0

    def run(self) -> Tally:
        kinds = (self.usage, self.batch, self.grant, self.reservation)
        weights = (35, 30, 15, 20)
        try:
            while time.monotonic() < self.deadline:
                self.rng.choices(kinds, weights)[0]()
        finally:
            self.api.close()
        return self.tally

    def _call(self, kind: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        began = time.monotonic()
        try:
            status, answer = self.api.call(method, path, body)
        except httpx2.TransportError as exc:
            status, answer = 0, repr(exc)
        took = time.monotonic() - began
        self.tally.slowest = max(self.tally.slowest, took)
        self.tally.statuses[(kind, status)] += 1
        if status == 0 or status >= 500 or took > STALL:
            self.tally.failures.append(f"{method} {path}: {status} in {took:.1f}s: {answer}")
        return status, answer

    def _event(self) -> dict[str, Any]:
        """A new event, now and then a replay of one sent before."""
        if self.sent and self.rng.random() < 0.05:
            return self.rng.choice(self.sent)
        self.serial += 1
        event_id = f"c{self.number}-{self.serial}"
        roll = self.rng.random()
        account = (
            self.rng.choice(POOR)
            if roll < 0.3
            else "nobody"
            if roll < 0.33
            else self.rng.choice(RICH)
        )
        event = (
            sms(event_id, account)
            if self.rng.random() < 0.7
            else call(event_id, account, self.rng.randint(1, 600))
        )
        self.sent.append(event)
        return event

    def _accepted(self, event: dict[str, Any], answer: Any) -> None:
        if isinstance(answer, dict) and "cost" in answer:
            self.tally.accepted.add((event["account_id"], event["id"]))

    def usage(self) -> None:
        event = self._event()
        status, answer = self._call("usage", "POST", "/v1/usage", event)
        if status == 200:
            self._accepted(event, answer)

    def batch(self) -> None:
        events = list(
            {e["id"]: e for e in (self._event() for _ in range(self.rng.randint(1, 20)))}.values()
        )
        status, answer = self._call("batch", "POST", "/v1/usage/batch", {"events": events})
        if status == 200:
            for event, result in zip(events, answer["results"], strict=True):
                self._accepted(event, result)

    def grant(self) -> None:
        if self.keys and self.rng.random() < 0.2:
            key, body = self.rng.choice(self.keys)  # a retry
        else:
            key = f"grant-{self.number}-{self.serial}-{self.rng.random()}"
            account = self.rng.choice(RICH + POOR)
            body = {"account": account, "amount": self.rng.choice(["0.01", "0.5", "2"])}
            self.keys.append((key, body))
        self.api.client.headers["Idempotency-Key"] = key
        try:
            self._call(
                "grant",
                "POST",
                f"/v1/accounts/{body['account']}/credits",
                {"amount": body["amount"]},
            )
        finally:
            del self.api.client.headers["Idempotency-Key"]

    def reservation(self) -> None:
        account = self.rng.choice(RICH + POOR)
        status, answer = self._call(
            "reserve", "POST", f"/v1/accounts/{account}/reservations", {"amount": "0.05"}
        )
        if status != 201:
            return
        path = f"/v1/reservations/{answer['id']}"
        if self.rng.random() < 0.6:
            self._call("capture", "POST", f"{path}/capture", {"amount": "0.03"})
        else:
            self._call("release", "POST", f"{path}/release")


@pytest.fixture(params=stores())
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    url = empty_store(request.param, tmp_path, request)
    live = LiveServer(url, tmp_path / "serve.log")
    try:
        live.start()
        with Api(live) as api:
            api.ok(
                "PUT",
                "/v1/price-lists/default",
                {"unit": "EUR", "effective_from": "2025-01-01T00:00:00Z", "rows": PRICE_ROWS},
            )
            for account in RICH + POOR:
                api.ok("POST", "/v1/accounts", {"id": account, "name": account, "unit": "EUR"})
                amount = "1000000" if account in RICH else "0.05"
                api.ok("POST", f"/v1/accounts/{account}/credits", {"amount": amount})
        yield live
    finally:
        live.kill()


def soak(server: LiveServer, seconds: float) -> list[Tally]:
    deadline = time.monotonic() + seconds
    clients = [Client(server, number, deadline) for number in range(CLIENTS)]
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [pool.submit(client.run) for client in clients]
        return [future.result(timeout=seconds + 120) for future in futures]


def test_mixed_load_neither_fails_nor_stalls_and_the_ledger_stays_sound(
    served: LiveServer,
) -> None:
    tallies = soak(served, SECONDS)

    statuses = sum((t.statuses for t in tallies), Counter())
    failures = [failure for t in tallies for failure in t.failures]
    context = f"{sorted(statuses.items())}\nserver log:\n{served.log_tail(60)}"
    assert not failures, f"{len(failures)} failed or stalled, e.g. {failures[:5]}\n{context}"
    assert max(t.slowest for t in tallies) <= STALL
    # The mix really happened: refusals (the error paths) as well as successes.
    for kind in ("usage", "batch", "grant", "reserve", "capture", "release"):
        assert statuses[(kind, 200)] + statuses[(kind, 201)] > 0, context
    assert statuses[("usage", 402)] > 0, context

    accepted = set().union(*(t.accepted for t in tallies))
    database = Database(served.database_url)
    try:
        with database.read() as session:
            for account in RICH + POOR:
                assert check_invariants(session, account) == [], account
            assert journal_total(session) == 0
            recorded = set(session.execute(select(UsageEvent.account_id, UsageEvent.id)).all())
            assert recorded == accepted
            assert session.scalar(select(func.count()).select_from(UsageEvent)) == len(recorded)
    finally:
        database.dispose()

"""Crash safety: ``tollgate serve`` killed with SIGKILL mid-load loses and doubles nothing.

A real server process takes usage events (single and in batches, every channel) and
reservations (create, then capture or release) from several threads at once, and is
killed with SIGKILL at random moments, three times, then restarted each time while the
clients carry on. Every request is written down with what came back: an answer, no
answer (the connection broke: the request may or may not have been done), or a refused
connection (the server was down: it never saw the request).

Then, with the server up again:

- every answer received was a success (no 500 after a restart);
- replaying every answered request changes nothing and gets the first answer again;
- replaying every request that got no answer completes it (or finds it done) once;
- every event id ever sent is recorded exactly once, with one journal entry at most;
- the credit that came in equals what is left plus what events and captures cost;
- the ledger invariants hold for every account and the journal sums to zero.

Run it with a fixed seed by setting ``TOLLGATE_CRASH_SEED``; the timing of the kills
still varies from run to run, which is the point.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from tests.reliability.live import Api, LiveServer
from tollgate.db import Database
from tollgate.ledger.invariants import check_invariants, journal_total
from tollgate.ledger.models import Bucket, JournalEntry, Lot, Posting, Reservation
from tollgate.money import MICROS_PER_UNIT, parse_amount
from tollgate.usage.models import UsageEvent

pytestmark = pytest.mark.slow

ACCOUNTS = ("crash-a", "crash-b", "crash-c", "crash-d")
MARKETING = "marketing"
CLIENTS = 6
KILLS = 3
SECONDS_OF_LOAD = (1.0, 2.5)  # between two kills, chosen at random
FIRST_DAY = datetime(2026, 1, 1, tzinfo=UTC)

PRICE_ROWS = [
    {"channel": "voice", "direction": "outbound", "price": "0.014", "increment": "60/60"},
    {"channel": "voice", "direction": "inbound", "price": "0.0085"},
    {"channel": "sms", "price": "0.0079"},
    {"channel": "email", "price": "0.675", "per": 1000},
    {"channel": "whatsapp_template", "category": "marketing", "price": "0.0859"},
    {"channel": "whatsapp_template", "category": "authentication", "price": "0.0298"},
    {"channel": "day_pass", "price": "3.5"},
]


def seed_accounts(api: Api) -> None:
    """Four accounts with plenty of credit in several lots, a list allocation and plan
    minutes, so that charges draw from several lots, buckets and units."""
    api.ok(
        "PUT",
        "/v1/price-lists/default",
        {"unit": "EUR", "effective_from": "2025-01-01T00:00:00Z", "rows": PRICE_ROWS},
    )
    for account_id in ACCOUNTS:
        api.ok(
            "POST",
            "/v1/accounts",
            {"id": account_id, "name": account_id, "unit": "EUR", "timezone": "Europe/Paris"},
        )
        api.ok("POST", f"/v1/accounts/{account_id}/credits", {"amount": "2000"})
        api.ok(
            "POST",
            f"/v1/accounts/{account_id}/credits",
            {"amount": "500", "priority": 10, "expires_at": "2099-01-01T00:00:00Z"},
        )
        api.ok(
            "POST",
            f"/v1/accounts/{account_id}/credits",
            {
                "amount": "500000",
                "unit": "SECONDS",
                "applies_to": ["voice"],
                "source": "plan_allowance",
            },
        )
        api.ok("PUT", f"/v1/accounts/{account_id}/lists/{MARKETING}/allocation", {"amount": "300"})


# --- what the clients send ------------------------------------------------------------


def usage_event(rng: random.Random, event_id: str) -> dict:
    occurred = FIRST_DAY + timedelta(days=rng.randrange(300), seconds=rng.randrange(86_400))
    event: dict[str, Any] = {
        "id": event_id,
        "account_id": rng.choice(ACCOUNTS),
        "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
    }
    if rng.random() < 0.2:
        event["list_id"] = MARKETING
    channel = rng.choices(
        ["sms", "voice", "email", "whatsapp_template", "agent_login"], [5, 3, 2, 2, 1]
    )[0]
    event["channel"] = channel
    if channel == "sms":
        event.update(to="+33612345678", text="Your code is " + str(rng.randrange(10_000)))
    elif channel == "voice":
        event.update(
            to="+33145678901",
            direction=rng.choice(["outbound", "inbound"]),
            duration_seconds=rng.randrange(0, 900),
        )
    elif channel == "email":
        event.update(count=rng.randrange(1, 3000))
    elif channel == "whatsapp_template":
        event.update(to="+33612345678", category=rng.choice(["marketing", "authentication"]))
    else:
        event.update(user_id=rng.choice(["agent-1", "agent-2"]))
    return event


@dataclass
class Exchange:
    """One request and what came of it."""

    method: str
    path: str
    body: Any
    status: int | None = None  # None: no answer
    answer: Any = None
    reached: bool = True  # False: the connection was refused, the server never saw it
    life: int = 0  # which start of the server answered

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return f"{self.method} {self.path} {self.body!r} -> {self.status} {self.answer!r}"


def exchange(
    api: Api, method: str, path: str, body: Any, journal: list[Exchange], stop: threading.Event
) -> Exchange:
    """Send one request; while the server is down (connection refused: it never saw the
    request), retry it, as a client would."""
    done = Exchange(method, path, body)
    while True:
        try:
            done.status, done.answer = api.call(method, path, body)
            done.life = api.server.lives
        except httpx2.ConnectError:
            if not stop.is_set():
                time.sleep(0.02)
                continue
            done.reached = False
        except httpx2.TransportError:
            pass  # sent, then the connection broke: done or not, nobody knows
        break
    journal.append(done)
    return done


def drive(
    server: LiveServer, seed: int, client: int, stop: threading.Event, journal: list[Exchange]
) -> None:
    """One client: events, batches and reservations until told to stop."""
    rng = random.Random(seed * 1000 + client)
    with Api(server, timeout=30) as api:
        sent = 0
        while not stop.is_set():
            sent += 1
            name = f"c{client}-{sent}"
            roll = rng.random()
            if roll < 0.7:
                exchange(api, "POST", "/v1/usage", usage_event(rng, name), journal, stop)
            elif roll < 0.8:
                events = [usage_event(rng, f"{name}-{k}") for k in range(rng.randrange(2, 7))]
                exchange(api, "POST", "/v1/usage/batch", {"events": events}, journal, stop)
            else:
                account_id = rng.choice(ACCOUNTS)
                body: dict[str, Any] = {"amount": "0.5"}
                if rng.random() < 0.3:
                    body["list_id"] = MARKETING
                created = exchange(
                    api, "POST", f"/v1/accounts/{account_id}/reservations", body, journal, stop
                )
                if created.status != 201:
                    continue
                reservation = created.answer["id"]
                if rng.random() < 0.7:
                    amount = rng.choice(["0", "0.2", "0.5", "0.75"])
                    exchange(
                        api,
                        "POST",
                        f"/v1/reservations/{reservation}/capture",
                        {"amount": amount},
                        journal,
                        stop,
                    )
                else:
                    exchange(
                        api, "POST", f"/v1/reservations/{reservation}/release", None, journal, stop
                    )


# --- reading the store --------------------------------------------------------------------


def ledger_state(database: Database) -> dict[str, Any]:
    """Everything a charge changes, for before/after comparisons."""
    with database.read() as session:
        return {
            "buckets": sorted(
                tuple(row)
                for row in session.execute(
                    select(
                        Bucket.account_id,
                        Bucket.unit,
                        Bucket.list_id,
                        Bucket.balance,
                        Bucket.reserved,
                    )
                )
            ),
            "lots": sorted(
                tuple(row) for row in session.execute(select(Lot.id, Lot.remaining, Lot.reserved))
            ),
            "reservations": sorted(
                tuple(row)
                for row in session.execute(
                    select(
                        Reservation.id, Reservation.status, Reservation.held, Reservation.captured
                    )
                )
            ),
            "journal_entries": session.scalar(select(func.count()).select_from(JournalEntry)),
            "postings": session.scalar(select(func.count()).select_from(Posting)),
            "usage_events": session.scalar(select(func.count()).select_from(UsageEvent)),
        }


def is_usage(done: Exchange) -> bool:
    return done.path in ("/v1/usage", "/v1/usage/batch")


def is_reservation_end(done: Exchange) -> bool:
    return done.path.startswith("/v1/reservations/")


def sent_event_ids(journal: list[Exchange]) -> set[tuple[str, str]]:
    ids: set[tuple[str, str]] = set()
    for done in journal:
        if done.path == "/v1/usage":
            ids.add((done.body["account_id"], done.body["id"]))
        elif done.path == "/v1/usage/batch":
            ids.update((event["account_id"], event["id"]) for event in done.body["events"])
    return ids


def replay(api: Api, done: Exchange) -> tuple[int, Any]:
    return api.call(done.method, done.path, done.body)


def in_parallel(work: Callable[[Exchange], None], items: list[Exchange]) -> None:
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for future in [pool.submit(work, item) for item in items]:
            future.result(timeout=120)


# --- the test -----------------------------------------------------------------------------


def test_sigkill_mid_load_loses_and_doubles_nothing(store_url: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("TOLLGATE_CRASH_SEED") or random.randrange(1_000_000))
    rng = random.Random(seed)
    server = LiveServer(store_url, tmp_path / "serve.log")
    database = Database(store_url)
    journal: list[Exchange] = []
    stop = threading.Event()
    clients: list[threading.Thread] = []
    try:
        server.start()
        with Api(server) as api:
            seed_accounts(api)
        with database.read() as session:
            credit_in = {
                (account_id, unit): int(total)
                for account_id, unit, total in session.execute(
                    select(Lot.account_id, Lot.unit, func.sum(Lot.amount)).group_by(
                        Lot.account_id, Lot.unit
                    )
                )
            }

        clients = [
            threading.Thread(target=drive, args=(server, seed, n, stop, journal), daemon=True)
            for n in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(*SECONDS_OF_LOAD))
            server.kill()
            time.sleep(rng.uniform(0.0, 0.3))
            server.start()
        time.sleep(SECONDS_OF_LOAD[0])
        stop.set()
        for thread in clients:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in clients), "a client is stuck"

        context = f"(seed {seed}; server log:\n{server.log_tail()})"
        check_answers(journal, server, context)
        with Api(server) as api:
            replay_everything(api, database, journal, context)
            release_orphaned_reservations(api, database)
        check_store(database, journal, credit_in)
    finally:
        stop.set()
        server.kill()
        for thread in clients:
            thread.join(timeout=30)
        database.dispose()


def check_answers(journal: list[Exchange], server: LiveServer, context: str) -> None:
    answered = [done for done in journal if done.answered]
    failed = [done.describe() for done in answered if not done.succeeded]
    assert not failed, f"{len(failed)} requests failed, e.g. {failed[:3]} {context}"
    # The kills really hit requests in flight, and every life of the server served.
    lost = [done for done in journal if not done.answered and done.reached]
    assert lost, f"no request was in flight at any kill {context}"
    lives = Counter(done.life for done in answered)
    assert set(lives) == set(range(1, server.lives + 1)), f"answers per life: {lives} {context}"


def replay_everything(api: Api, database: Database, journal: list[Exchange], context: str) -> None:
    """Replay every request that can be replayed, in three rounds (see the module doc)."""
    replayable = [done for done in journal if is_usage(done) or is_reservation_end(done)]
    answered = [done for done in replayable if done.answered]
    unanswered = [done for done in replayable if not done.answered]

    # 1. What was answered is done: a replay changes nothing and answers the same.
    before = ledger_state(database)

    def replay_answered(done: Exchange) -> None:
        status, answer = replay(api, done)
        if is_usage(done):
            assert (status, answer) == (done.status, done.answer), (
                f"replay of {done.describe()} answered {status} {answer} {context}"
            )
        else:
            assert status == 409 and answer["error"]["code"] == "reservation_not_held", (
                f"replay of {done.describe()} answered {status} {answer} {context}"
            )

    in_parallel(replay_answered, answered)
    assert ledger_state(database) == before, (
        f"replaying answered requests changed the ledger {context}"
    )

    # 2. What got no answer is done now, or found done already.
    first_answers: dict[int, tuple[int, Any]] = {}

    def complete(done: Exchange) -> None:
        status, answer = replay(api, done)
        if done.path == "/v1/usage":
            assert status == 200, f"replay of {done.describe()}: {status} {answer} {context}"
        elif done.path == "/v1/usage/batch":
            assert status == 200 and all("error" not in r for r in answer["results"]), (
                f"replay of {done.describe()}: {status} {answer} {context}"
            )
        elif status != 200:
            assert status == 409 and answer["error"]["code"] == "reservation_not_held", (
                f"replay of {done.describe()}: {status} {answer} {context}"
            )
        first_answers[id(done)] = (status, answer)

    in_parallel(complete, unanswered)

    # 3. Now everything is done once: replaying all of it again changes nothing.
    before = ledger_state(database)

    def replay_again(done: Exchange) -> None:
        status, answer = replay(api, done)
        if is_usage(done):
            first = first_answers.get(id(done), (done.status, done.answer))
            assert (status, answer) == first, f"second replay of {done.describe()} {context}"
        else:
            assert status == 409, f"second replay of {done.describe()}: {status} {context}"

    in_parallel(replay_again, replayable)
    assert ledger_state(database) == before, f"a second replay changed the ledger {context}"


def release_orphaned_reservations(api: Api, database: Database) -> None:
    """Reservations whose creation got no answer are held with ids no client knows; the
    server must still be able to end them."""
    with database.read() as session:
        held = list(session.scalars(select(Reservation.id).where(Reservation.status == "held")))
    for reservation_id in held:
        api.ok("POST", f"/v1/reservations/{reservation_id}/release")


def check_store(database: Database, journal: list[Exchange], credit_in: dict) -> None:
    sent = sent_event_ids(journal)
    with database.read() as session:
        events = {
            (row.account_id, row.id): row
            for row in session.execute(
                select(
                    UsageEvent.account_id,
                    UsageEvent.id,
                    UsageEvent.cost,
                    UsageEvent.unit,
                    UsageEvent.allowance_used,
                    UsageEvent.debt,
                    UsageEvent.answer,
                )
            )
        }
        # Every event id sent — answered, cut off or refused at the door — is recorded once.
        assert set(events) == sent
        assert all(row.debt == 0 for row in events.values())

        # One journal entry per paid event, one per capture: never two.
        charges = Counter(
            session.execute(
                select(JournalEntry.account_id, JournalEntry.reference).where(
                    JournalEntry.kind == "charge"
                )
            ).all()
        )
        assert max(charges.values(), default=1) == 1, [k for k, n in charges.items() if n > 1]
        paid = {
            (account_id, f"usage:{event_id}")
            for (account_id, event_id), row in events.items()
            if row.cost or row.allowance_used
        }
        assert set(charges) == paid
        captures = Counter(
            session.scalars(select(JournalEntry.reference).where(JournalEntry.kind == "capture"))
        )
        assert max(captures.values(), default=1) == 1

        # What each answered capture or release asked for is what the store says.
        reservations = {r.id: r for r in session.scalars(select(Reservation))}
        for done in journal:
            if not is_reservation_end(done):
                continue
            reservation = reservations[done.path.split("/")[3]]
            if done.path.endswith("/capture"):
                assert reservation.status == "captured", done.describe()
                assert reservation.captured == parse_amount(done.body["amount"], allow_zero=True), (
                    done.describe()
                )
            else:
                assert reservation.status == "released", done.describe()
        assert all(r.status != "held" for r in reservations.values())

        # Conservation: credit in = credit left + what events and captures cost.
        spent: dict[tuple[str, str], int] = defaultdict(int)
        for (account_id, _), row in events.items():
            spent[(account_id, row.unit)] += row.cost
            spent[(account_id, "SECONDS")] += row.allowance_used * MICROS_PER_UNIT
        for reservation in reservations.values():
            spent[(reservation.account_id, reservation.unit)] += reservation.captured or 0
        left = {
            (account_id, unit): int(balance)
            for account_id, unit, balance in session.execute(
                select(Bucket.account_id, Bucket.unit, func.sum(Bucket.balance)).group_by(
                    Bucket.account_id, Bucket.unit
                )
            )
        }
        for key, amount in credit_in.items():
            assert amount == left[key] + spent[key], (key, amount, left[key], spent[key])

        for account_id in ACCOUNTS:
            assert check_invariants(session, account_id) == [], account_id
        assert journal_total(session) == 0

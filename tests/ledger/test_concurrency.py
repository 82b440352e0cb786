"""Concurrency: many writers on one account never overdraw and end with exact sums.

The writers really run at once. On SQLite they are threads taking sessions from the
shared ``Database`` and from engines of their own (as separate processes would);
``BEGIN IMMEDIATE`` queues them for the write lock. On PostgreSQL they are distinct
connections, serialised by the account row lock (``SELECT … FOR UPDATE``). Every
assertion is about exact sums and counts, never about timing.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import OPERATOR_KEY
from tests.helpers import allocate, assert_ledger_sound, balance, create_account, grant
from tollgate import ledger
from tollgate.accounts import service as accounts
from tollgate.clock import FixedClock
from tollgate.db import Database
from tollgate.errors import Conflict, InsufficientCredit, NotFound
from tollgate.ledger import ChargeResult, get_reservation, spending_bucket
from tollgate.ledger.invariants import check_invariants
from tollgate.ledger.models import POOL, Bucket, JournalEntry, Lot, Posting, Reservation
from tollgate.money import MICROS_PER_UNIT, format_amount, parse_amount

pytestmark = pytest.mark.slow

ACCOUNT = "acme"
THREADS = 8
UNIT = MICROS_PER_UNIT
AUTH = {"Authorization": f"Bearer {OPERATOR_KEY}"}

T = TypeVar("T")


# --- running things at once ---------------------------------------------------------


def run_together(workers: Sequence[Callable[[], T]]) -> list[T]:
    """Run every worker on its own thread, all released at the same instant."""
    barrier = threading.Barrier(len(workers))

    def start(work: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return work()

    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        futures = [pool.submit(start, work) for work in workers]
        return [future.result(timeout=120) for future in futures]


@pytest.fixture
def databases(database: Database) -> Iterator[list[Database]]:
    """Where writers get their sessions: the shared store and three engines of their own.

    Thread ``i`` uses ``databases[i % 4]``, so connections from one pool race each other
    as well as connections from separate engines (separate API processes).
    """
    own = [Database(database.url) for _ in range(3)]
    yield [database, *own]
    for extra in own:
        extra.dispose()


def open_account(database: Database, clock: FixedClock, account_id: str = ACCOUNT) -> None:
    with database.write() as session:
        accounts.create_account(
            session, account_id=account_id, name=account_id.title(), unit="EUR", now=clock.now()
        )


def on_account(database: Database, clock: FixedClock, action: Callable, account_id: str = ACCOUNT):
    """Run ``action(session, account)`` in one write transaction holding the account lock."""
    with database.write() as session:
        account = ledger.lock_account(session, account_id, now=clock.now())
        return action(session, account)


def on_reservation(database: Database, clock: FixedClock, reservation_id: str, action: Callable):
    """Run ``action(session, account, reservation)`` with the account locked first."""
    with database.write() as session:
        account_id = get_reservation(session, reservation_id).account_id
        account = ledger.lock_account(session, account_id, now=clock.now())
        # Read again under the lock: another writer may have ended it meanwhile.
        return action(session, account, get_reservation(session, reservation_id))


def capture(database, clock, reservation_id: str, amount: int) -> ChargeResult:
    return on_reservation(
        database,
        clock,
        reservation_id,
        lambda session, account, reservation: ledger.capture(
            session, account, reservation, amount, now=clock.now()
        ),
    )


def release(database, clock, reservation_id: str) -> None:
    on_reservation(
        database,
        clock,
        reservation_id,
        lambda session, account, reservation: ledger.release(
            session, account, reservation, now=clock.now()
        ),
    )


# --- reading the outcome ------------------------------------------------------------


def bucket_balances(database: Database, account_id: str = ACCOUNT) -> dict[str, tuple[int, int]]:
    """list_id → (balance, reserved) of every money bucket ('' is the pool)."""
    with database.read() as session:
        return {
            bucket.list_id: (bucket.balance, bucket.reserved)
            for bucket in session.scalars(
                select(Bucket).where(Bucket.account_id == account_id, Bucket.unit == "EUR")
            )
        }


def lots_of(database: Database, account_id: str = ACCOUNT) -> list[tuple[int, int, int]]:
    """(amount, remaining, reserved) of every lot."""
    with database.read() as session:
        return [
            (lot.amount, lot.remaining, lot.reserved)
            for lot in session.scalars(select(Lot).where(Lot.account_id == account_id))
        ]


def reservation_statuses(database: Database, account_id: str = ACCOUNT) -> Counter[str]:
    with database.read() as session:
        return Counter(
            session.scalars(select(Reservation.status).where(Reservation.account_id == account_id))
        )


def journal_captures(database: Database, account_id: str = ACCOUNT) -> tuple[int, int]:
    """How many capture entries the journal holds, and the revenue they booked."""
    with database.read() as session:
        count = session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.account_id == account_id, JournalEntry.kind == "capture")
        )
        revenue = session.scalar(
            select(func.coalesce(func.sum(Posting.amount), 0))
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(
                JournalEntry.account_id == account_id,
                JournalEntry.kind == "capture",
                Posting.ledger_account.startswith("system:revenue"),
            )
        )
    return int(count or 0), int(revenue or 0)


def assert_nothing_negative_or_held(database: Database, account_id: str = ACCOUNT) -> None:
    for list_id, (bucket_balance, reserved) in bucket_balances(database, account_id).items():
        assert bucket_balance >= 0, f"bucket {list_id!r} overdrawn: {bucket_balance}"
        assert reserved == 0, f"bucket {list_id!r} still holds {reserved}"
    for amount, remaining, reserved in lots_of(database, account_id):
        assert 0 <= remaining <= amount, (amount, remaining)
        assert reserved == 0


# --- many spenders on one account ---------------------------------------------------


@dataclass
class Spender:
    """One thread's habit: how much it reserves each time and what it does next."""

    list_id: str | None
    step: int
    # "exact", "less", "more" (capture beyond the hold), "alternate" (release every other)
    habit: str
    captured: list[int] = field(default_factory=list)
    released: int = 0
    excess_refused: int = 0
    refusals: int = 0

    @property
    def bucket(self) -> str:
        return self.list_id if self.list_id in ALLOCATIONS else POOL

    def capture_amount(self, round_: int) -> int | None:
        """What to capture after the ``round_``-th reservation (None: release it)."""
        if self.habit == "exact":
            return self.step
        if self.habit == "less":
            return self.step - 1 - (round_ % 3) * self.step // 4
        if self.habit == "more":
            return self.step + 250_000
        assert self.habit == "alternate"
        return None if round_ % 2 else self.step


# Three lots of different kinds, and two lists with allocations; list "west" has none
# and spends from the pool.
LOTS = [
    dict(amount=40 * UNIT, priority=10),
    dict(amount=35 * UNIT),
    dict(amount=25_500_000, priority=200),
]
GRANTED = sum(lot["amount"] for lot in LOTS)
ALLOCATIONS = {"north": 30 * UNIT, "south": 20_250_000}


def spenders() -> list[Spender]:
    return [
        Spender("north", 1_700_000, "exact"),
        Spender("north", 900_000, "less"),
        Spender("south", 1_100_000, "more"),
        Spender("south", 750_000, "exact"),
        Spender(None, 2_300_000, "exact"),
        Spender("west", 1_350_000, "less"),
        Spender(None, 600_000, "more"),
        Spender("west", 1_050_000, "alternate"),
    ]


def spend_until_refused(database: Database, clock: FixedClock, spender: Spender) -> Spender:
    """Reserve then capture (or release) again and again until finally refused.

    A refusal is final only when nobody holds credit in the bucket: otherwise a
    capture of less than was held may still give some back, so try again.
    """
    rounds = 0
    while True:

        def try_reserve(session, account):
            bucket = spending_bucket(session, account, account.unit, spender.list_id)
            final = bucket.reserved == 0
            try:
                reservation = ledger.reserve(
                    session,
                    account,
                    amount=spender.step,
                    list_id=spender.list_id,
                    now=clock.now(),
                )
            except InsufficientCredit:
                return None, final
            assert reservation.bucket_list_id == spender.bucket
            return reservation.id, final

        reservation_id, final = on_account(database, clock, try_reserve)
        if reservation_id is None:
            spender.refusals += 1
            if final:
                return spender
            time.sleep(0.002)
            continue
        rounds += 1
        amount = spender.capture_amount(rounds)
        if amount is None:
            release(database, clock, reservation_id)
            spender.released += 1
            continue
        try:
            result = capture(database, clock, reservation_id, amount)
        except InsufficientCredit:
            # Capturing beyond the hold needs credit nobody else took meanwhile;
            # refused, it charged nothing and the reservation is still held whole.
            spender.excess_refused += 1
            amount = spender.step
            result = capture(database, clock, reservation_id, amount)
        assert result.amount == amount
        assert sum(draw.amount for draw in result.draws) == amount
        spender.captured.append(amount)


def test_parallel_reserve_and_capture_never_overdraw_and_sum_exactly(
    database: Database, databases: list[Database], clock: FixedClock
):
    open_account(database, clock)

    def set_up(session, account):
        for lot in LOTS:
            ledger.grant(session, account, now=clock.now(), **lot)
        for list_id, amount in ALLOCATIONS.items():
            ledger.set_allocation(session, account, list_id, amount, now=clock.now())

    on_account(database, clock, set_up)
    before = bucket_balances(database)
    team = spenders()

    done = run_together(
        [
            partial(spend_until_refused, databases[i % len(databases)], clock, spender)
            for i, spender in enumerate(team)
        ]
    )

    after = bucket_balances(database)
    captured = sum(sum(spender.captured) for spender in done)
    captures = sum(len(spender.captured) for spender in done)
    assert captures > 0, done
    assert_nothing_negative_or_held(database)
    for list_id in before:
        paid_here = sum(sum(s.captured) for s in done if s.bucket == list_id)
        # Exactly what its spenders captured left the bucket …
        assert after[list_id][0] == before[list_id][0] - paid_here, list_id
        # … and what is left is less than any of them asks for: nothing was overdrawn,
        # nothing was wrongly refused.
        assert after[list_id][0] < min(s.step for s in done if s.bucket == list_id), list_id
    assert sum(figure for figure, _ in after.values()) == GRANTED - captured
    assert sum(remaining for _, remaining, _ in lots_of(database)) == GRANTED - captured
    assert journal_captures(database) == (captures, captured)
    statuses = reservation_statuses(database)
    assert statuses == Counter(
        captured=captures, released=sum(spender.released for spender in done)
    )
    assert_ledger_sound(database, ACCOUNT)


# --- one reservation, many hands ---------------------------------------------------


@pytest.mark.parametrize("moves", ["capture", "release", "both"])
def test_a_reservation_is_ended_once_whoever_races_for_it(
    database: Database, databases: list[Database], clock: FixedClock, moves: str
):
    open_account(database, clock)
    on_account(database, clock, lambda s, a: ledger.grant(s, a, amount=100 * UNIT, now=clock.now()))
    rounds = 6
    charged = 0
    for _ in range(rounds):
        reservation_id = on_account(
            database,
            clock,
            lambda s, a: ledger.reserve(s, a, amount=4 * UNIT, list_id="north", now=clock.now()).id,
        )

        def attempt(i: int, db: Database, reservation_id: int = reservation_id):
            try:
                if moves == "release" or (moves == "both" and i % 2):
                    release(db, clock, reservation_id)
                    return "released"
                capture(db, clock, reservation_id, 3 * UNIT)
                return "captured"
            except Conflict as exc:
                assert exc.status == 409
                assert exc.code == "reservation_not_held"
                return "conflict"

        outcomes = Counter(
            run_together(
                [(lambda i=i: attempt(i, databases[i % len(databases)])) for i in range(THREADS)]
            )
        )
        assert outcomes["conflict"] == THREADS - 1, outcomes
        winner = "captured" if outcomes["captured"] else "released"
        with database.read() as session:
            assert get_reservation(session, reservation_id).status == winner
        charged += 3 * UNIT if winner == "captured" else 0

    (pool_balance, reserved) = bucket_balances(database)[POOL]
    assert (pool_balance, reserved) == (100 * UNIT - charged, 0)
    assert journal_captures(database) == (charged // (3 * UNIT), charged)
    if moves == "release":
        assert charged == 0
    if moves == "capture":
        assert charged == rounds * 3 * UNIT
    assert_ledger_sound(database, ACCOUNT)


def test_racing_captures_through_the_api_charge_once(app, clock: FixedClock):
    with TestClient(app, headers=AUTH) as client:
        create_account(client, ACCOUNT)
        grant(client, ACCOUNT, "10")
        reservations = [
            client.post(f"/v1/accounts/{ACCOUNT}/reservations", json={"amount": "2.5"}).json()["id"]
            for _ in range(3)
        ]

    def attempt(i: int) -> list[tuple[int, str | None]]:
        with TestClient(app, headers=AUTH) as own_client:
            answers = []
            for reservation_id in reservations:
                if i % 3 == 2:
                    response = own_client.post(f"/v1/reservations/{reservation_id}/release")
                else:
                    response = own_client.post(
                        f"/v1/reservations/{reservation_id}/capture", json={"amount": "2"}
                    )
                code = response.json().get("error", {}).get("code")
                answers.append((response.status_code, code))
            return answers

    answers = run_together([(lambda i=i: attempt(i)) for i in range(THREADS)])
    winners = 0
    for column in zip(*answers, strict=True):
        assert sorted(status for status, _ in column) == [200] + [409] * (THREADS - 1), column
        assert {code for status, code in column if status == 409} == {"reservation_not_held"}
        winners += 1
    assert winners == len(reservations)

    with TestClient(app, headers=AUTH) as client:
        figures = balance(client, ACCOUNT)
        statuses = [client.get(f"/v1/reservations/{r}").json()["status"] for r in reservations]
    charged = 2 * statuses.count("captured")
    assert Decimal(figures["total"]) == 10 - charged
    assert figures["reserved"] == "0"
    assert figures["available"] == figures["total"]
    assert_ledger_sound(app.state.runtime.database, ACCOUNT)


# --- everything at once ------------------------------------------------------------


def test_grants_allocations_and_spending_at_once_keep_lots_and_buckets_equal(
    database: Database, databases: list[Database], clock: FixedClock
):
    open_account(database, clock)
    on_account(database, clock, lambda s, a: ledger.grant(s, a, amount=10 * UNIT, now=clock.now()))
    granted = Counter({"setup": 10 * UNIT})
    spent = Counter()
    lock = threading.Lock()

    def granter(db: Database, name: str, amount: int, times: int):
        def work():
            for n in range(times):
                on_account(
                    db,
                    clock,
                    lambda s, a, n=n: ledger.grant(
                        s,
                        a,
                        amount=amount,
                        priority=50 + n % 3,
                        now=clock.now(),
                        expires_at=clock.now().replace(year=2030 + n % 2) if n % 2 else None,
                    ),
                )
                with lock:
                    granted[name] += amount
            return name

        return work

    def allocator(db: Database, list_id: str, targets: list[int], times: int):
        def work():
            outcomes = Counter()
            for n in range(times):
                target = targets[n % len(targets)]
                try:
                    if target < 0:
                        on_account(
                            db,
                            clock,
                            lambda s, a: ledger.delete_allocation(s, a, list_id, now=clock.now()),
                        )
                    else:
                        on_account(
                            db,
                            clock,
                            lambda s, a, target=target: ledger.set_allocation(
                                s, a, list_id, target, now=clock.now()
                            ),
                        )
                    outcomes["moved"] += 1
                except InsufficientCredit:
                    outcomes["short"] += 1
                except Conflict as exc:
                    assert exc.code == "allocation_below_reserved"
                    outcomes["below_reserved"] += 1
                except NotFound as exc:
                    assert exc.code == "allocation_not_found"
                    outcomes["absent"] += 1
            return outcomes

        return work

    def spender(db: Database, list_id: str | None, step: int, times: int):
        def work():
            outcomes = Counter()
            for n in range(times):
                try:
                    reservation_id = on_account(
                        db,
                        clock,
                        lambda s, a: (
                            ledger.reserve(s, a, amount=step, list_id=list_id, now=clock.now()).id
                        ),
                    )
                except InsufficientCredit:
                    outcomes["refused"] += 1
                    continue
                amount = step - (n % 4) * step // 5
                capture(db, clock, reservation_id, amount)
                with lock:
                    spent[list_id] += amount
                outcomes["captured"] += 1
            return outcomes

        return work

    workers = [
        granter(databases[0], "a", 700_000, 15),
        granter(databases[1], "b", 1_300_000, 10),
        allocator(databases[2], "north", [4 * UNIT, 0, 7_500_000, 2 * UNIT, -1], 15),
        allocator(databases[3], "south", [3 * UNIT, 6 * UNIT, -1, 1_000_000], 15),
        spender(databases[0], "north", 400_000, 20),
        spender(databases[1], "south", 650_000, 20),
        spender(databases[2], None, 300_000, 20),
        spender(databases[3], "north", 900_000, 20),
    ]
    outcomes = run_together(workers)

    captured = sum(spent.values())
    captures = sum(o.get("captured", 0) for o in outcomes if isinstance(o, Counter))
    assert captures > 0
    total = sum(granted.values()) - captured
    assert sum(figure for figure, _ in bucket_balances(database).values()) == total
    assert sum(remaining for _, remaining, _ in lots_of(database)) == total
    assert journal_captures(database) == (captures, captured)
    assert reservation_statuses(database) == Counter(captured=captures)
    assert_nothing_negative_or_held(database)
    assert_ledger_sound(database, ACCOUNT)


# --- readers while writers work ------------------------------------------------------


def test_readers_see_consistent_figures_while_writers_work(
    database: Database, databases: list[Database], clock: FixedClock, app
):
    open_account(database, clock)

    def set_up(session, account):
        ledger.grant(session, account, amount=50 * UNIT, now=clock.now())
        ledger.set_allocation(session, account, "north", 20 * UNIT, now=clock.now())

    on_account(database, clock, set_up)
    writing = threading.Event()
    writing.set()

    def writer(db: Database, list_id: str | None):
        def work():
            for n in range(15):
                if n % 5 == 0:
                    on_account(
                        db, clock, lambda s, a: ledger.grant(s, a, amount=UNIT, now=clock.now())
                    )
                reservation_id = on_account(
                    db,
                    clock,
                    lambda s, a: (
                        ledger.reserve(s, a, amount=500_000, list_id=list_id, now=clock.now()).id
                    ),
                )
                capture(db, clock, reservation_id, 300_000)
            return "wrote"

        return work

    writers_left = [3]
    lock = threading.Lock()

    def last_one_out(work):
        def wrapped():
            try:
                return work()
            finally:
                with lock:
                    writers_left[0] -= 1
                    if writers_left[0] == 0:
                        writing.clear()

        return wrapped

    def store_reader(db: Database):
        def work():
            problems, reads = [], 0
            while writing.is_set() or reads == 0:
                with db.read() as session:
                    problems += check_invariants(session, ACCOUNT)
                reads += 1
            return problems

        return work

    def api_reader():
        with TestClient(app, headers=AUTH) as client:
            problems, reads = [], 0
            while writing.is_set() or reads == 0:
                figures = client.get(f"/v1/accounts/{ACCOUNT}/balance").json()
                lots = [lot for lot in figures["lots"] if lot["unit"] == "EUR"]
                remaining = sum(parse_amount(lot["remaining"], allow_zero=True) for lot in lots)
                held = sum(parse_amount(lot["reserved"], allow_zero=True) for lot in lots)
                if (format_amount(remaining), format_amount(held)) != (
                    figures["total"],
                    figures["reserved"],
                ):
                    problems.append(figures)
                reads += 1
            return problems

    results = run_together(
        [
            last_one_out(writer(databases[0], "north")),
            last_one_out(writer(databases[1], None)),
            last_one_out(writer(databases[2], "north")),
            store_reader(databases[0]),
            store_reader(databases[1]),
            api_reader,
        ]
    )
    store_problems, other_store_problems, torn_balances = results[3:]
    assert store_problems == [] and other_store_problems == []
    assert torn_balances == []
    assert_ledger_sound(database, ACCOUNT)


# --- accounts created at once ------------------------------------------------------


def test_one_account_id_created_at_once_exists_once(
    database: Database, databases: list[Database], clock: FixedClock
):
    for round_ in range(4):
        account_id = f"race-{round_}"

        def attempt(db: Database, account_id: str = account_id):
            try:
                with db.write() as session:
                    accounts.create_account(
                        session, account_id=account_id, name="Race", unit="EUR", now=clock.now()
                    )
                return 201
            except Conflict as exc:
                assert exc.code == "account_exists"
                return exc.status

        outcomes = run_together(
            [partial(attempt, databases[i % len(databases)]) for i in range(THREADS)]
        )
        assert sorted(outcomes) == [201] + [409] * (THREADS - 1)
        with database.read() as session:
            assert (
                session.scalar(
                    select(func.count()).select_from(Bucket).where(Bucket.account_id == account_id)
                )
                == 1
            )
        assert_ledger_sound(database, account_id)


def test_one_account_id_posted_at_once_through_the_api_exists_once(app):
    def attempt(round_: int):
        with TestClient(app, headers=AUTH) as client:
            response = client.post(
                "/v1/accounts", json={"id": f"race-{round_}", "name": "Race", "unit": "EUR"}
            )
            return response.status_code, response.json().get("error", {}).get("code")

    for round_ in range(3):
        outcomes = run_together([(lambda round_=round_: attempt(round_)) for _ in range(THREADS)])
        assert sorted(status for status, _ in outcomes) == [201] + [409] * (THREADS - 1)
        assert {code for status, code in outcomes if status == 409} == {"account_exists"}


# --- the HTTP API under load --------------------------------------------------------


def test_spenders_through_the_api_stop_at_the_last_micro(app, clock: FixedClock):
    """Threads with their own client reserve and capture exactly until refused.

    Exact captures only ever lower what is available, so the first refusal is final.
    """
    with TestClient(app, headers=AUTH) as client:
        create_account(client, ACCOUNT)
        grant(client, ACCOUNT, "12")
        grant(client, ACCOUNT, "8.5", expires_at="2027-01-01T00:00:00Z")
        allocate(client, ACCOUNT, "north", "6.25")

    plan = [
        ("north", "0.7"),
        ("north", "1.15"),
        (None, "0.45"),
        (None, "1.2"),
        ("east", "0.85"),
        (None, "2"),
        ("north", "0.3"),
        ("east", "0.55"),
    ]

    def spend(list_id: str | None, step: str) -> tuple[str | None, str, int, Decimal]:
        body = {"amount": step, **({"list_id": list_id} if list_id else {})}
        captures, paid = 0, Decimal(0)
        with TestClient(app, headers=AUTH) as own_client:
            while True:
                response = own_client.post(f"/v1/accounts/{ACCOUNT}/reservations", json=body)
                if response.status_code == 402:
                    assert response.json()["error"]["code"] == "insufficient_credit"
                    return list_id, step, captures, paid
                assert response.status_code == 201, response.text
                captured = own_client.post(
                    f"/v1/reservations/{response.json()['id']}/capture", json={"amount": step}
                )
                assert captured.status_code == 200, captured.text
                paid_by = captured.json()["paid_by"]
                assert sum(Decimal(draw["amount"]) for draw in paid_by) == Decimal(step)
                captures += 1
                paid += Decimal(step)

    done = run_together([(lambda p=p: spend(*p)) for p in plan])

    with TestClient(app, headers=AUTH) as client:
        figures = balance(client, ACCOUNT)
        journal = client.get(f"/v1/accounts/{ACCOUNT}/journal", params={"limit": 500}).json()
    paid = sum(p for *_, p in done)
    assert Decimal(figures["total"]) == Decimal("20.5") - paid
    assert figures["reserved"] == "0"
    north = next(entry for entry in figures["lists"] if entry["list_id"] == "north")
    north_paid = sum(p for list_id, *_, p in done if list_id == "north")
    assert Decimal(north["balance"]) == Decimal("6.25") - north_paid
    north_steps = [Decimal(s) for list_id, s, *_ in done if list_id == "north"]
    assert Decimal(north["balance"]) < min(north_steps)
    pool_steps = [Decimal(s) for list_id, s, *_ in done if list_id != "north"]
    assert Decimal(figures["unassigned"]["balance"]) < min(pool_steps)
    assert not journal["has_more"]
    capture_entries = [entry for entry in journal["data"] if entry["kind"] == "capture"]
    assert len(capture_entries) == sum(c for _, _, c, _ in done)
    assert_ledger_sound(app.state.runtime.database, ACCOUNT)


def test_one_idempotency_key_sent_at_once_grants_once(app):
    with TestClient(app, headers=AUTH) as client:
        create_account(client, ACCOUNT)

    def send():
        with TestClient(app, headers={**AUTH, "Idempotency-Key": "top-up-1"}) as client:
            response = client.post(f"/v1/accounts/{ACCOUNT}/credits", json={"amount": "5"})
            replayed = response.headers.get("Idempotent-Replayed")
            return response.status_code, response.json(), replayed

    answers = run_together([send for _ in range(THREADS)])
    assert {status for status, _, _ in answers} == {201}
    assert len({answer["id"] for _, answer, _ in answers}) == 1
    assert sorted(str(replayed) for *_, replayed in answers) == ["None"] + ["true"] * (THREADS - 1)
    with TestClient(app, headers=AUTH) as client:
        assert balance(client, ACCOUNT)["total"] == "5"
    assert_ledger_sound(app.state.runtime.database, ACCOUNT)

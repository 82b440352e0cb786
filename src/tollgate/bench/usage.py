"""``tollgate bench usage``: how fast the usage hot path rates and charges events.

The run builds a fresh store (a temporary SQLite file, or a database
``tollgate_bench`` dropped and re-created on a PostgreSQL server), migrates it, and
seeds a realistic installation: a price list over 25 countries (voice by direction
and number type, some prefix rows with a connect fee, SMS per country, e-mail per
1,000, WhatsApp templates, an agent day pass) and 1,000 accounts with credit in
several lots, some with list allocations, some with an allowance of plan seconds.

It then generates events from a fixed seed — about 50% SMS of 20–400 characters
(some with ``€`` and brackets, accents or emoji: GSM-7 and UCS-2, one or many
segments), 30% voice calls of random durations both ways, 15% e-mail, 5% agent
logins — to at least 100,000 distinct valid numbers, each used once before any is
used again, so that the number cache helps as little as it can. Events go through
:class:`~tollgate.usage.recorder.UsageRecorder` in batches, one
:meth:`Database.write` transaction per batch, and only that is timed.

The baseline, in the same run and store: inserting the very rows the recorder
wrote to ``usage_events`` into a fresh copy of that table (same columns, keys,
index and foreign key), with the driver's own ``executemany`` and one commit per
batch. The ratio says what rating, the ledger and the journal cost on top of
merely storing each event.
"""

from __future__ import annotations

import gc
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from tollgate import migrate
from tollgate.accounts.models import Account
from tollgate.bench import BenchError, Progress
from tollgate.bench.baseline import insert_baseline, recorded_rows
from tollgate.bench.events import generate_events
from tollgate.bench.floor import Writes, replay
from tollgate.bench.numbers import NumberPool
from tollgate.bench.recording import Recording, record_events
from tollgate.bench.seeding import seed_store
from tollgate.bench.stores import STORES, fresh_store
from tollgate.bench.workload import NOW
from tollgate.db import Database
from tollgate.usage.service import UsageInput

__all__ = ["BenchError", "BenchResult", "main"]


@dataclass
class BenchResult:
    store: str
    batch: int
    events: int
    errors: int
    error_codes: Counter[str]
    seconds: float
    baseline_rows: int
    baseline_seconds: float
    distinct_numbers: int
    problems: list[str] = field(default_factory=list)
    # With --floor: the recorder's own writes replayed with nothing else.
    floor_seconds: float | None = None

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    @property
    def baseline_per_s(self) -> float:
        return self.baseline_rows / self.baseline_seconds

    @property
    def floor_per_s(self) -> float | None:
        return None if self.floor_seconds is None else self.events / self.floor_seconds

    @property
    def ratio(self) -> float:
        return self.events_per_s / self.baseline_per_s

    def line(self) -> str:
        return (
            f"usage store={self.store} batch={self.batch} "
            f"events_per_s={self.events_per_s:.0f} baseline_per_s={self.baseline_per_s:.0f} "
            f"ratio={self.ratio:.2f}"
        )


@dataclass
class _Workload:
    """The seeded store's events, and how to seed the same store again."""

    pool: NumberPool
    inputs: list[UsageInput]
    distinct_numbers: int
    seeding: tuple[object, ...]  # the generator's state just before seeding


@dataclass
class _Timing:
    """The timed recording, and the baseline measured after it."""

    recording: Recording
    writes: Writes
    baseline_rows: int
    baseline_seconds: float


def main(
    store: str,
    events: int,
    batch: int,
    *,
    database_url: str | None = None,
    seed: int = 1,
    accounts: int = 1000,
    numbers: int = 100_000,
    check: bool = False,
    floor: bool = False,
    profile: Path | None = None,
    out: TextIO | None = None,
    progress: Progress | None = None,
) -> BenchResult:
    """Run the benchmark; print progress, then the result as the last line of ``out``."""
    out = out or sys.stdout
    say = progress or _say
    _validate(store, events, batch, accounts=accounts, numbers=numbers)
    rng = random.Random(seed)
    with fresh_store(store, database_url, say) as database:
        workload = _prepare(
            database, store, rng, accounts=accounts, events=events, say=say, numbers=numbers
        )
        timing = _measure(database, workload.inputs, batch, say, profile)
        problems = _check(database, say) if check else []
    floor_seconds = None
    if floor:
        # The same store again (same seed: same accounts, lots and ids), and only the
        # recorder's writes, batch by batch: no reads, no rating, no ledger logic.
        with fresh_store(store, database_url, say) as database:
            migrate.upgrade(database)
            rng.setstate(workload.seeding)
            seed_store(database, rng, workload.pool, accounts=accounts, events=events)
            floor_seconds = replay(database, timing.writes, say)
            if check:
                # The replayed store must be as sound as the recorded one: nothing written
                # was missed.
                problems += [f"floor store: {p}" for p in _check(database, say)]
    result = BenchResult(
        store=store,
        batch=batch,
        events=len(workload.inputs),
        errors=timing.recording.errors,
        error_codes=timing.recording.error_codes,
        seconds=timing.recording.seconds,
        baseline_rows=timing.baseline_rows,
        baseline_seconds=timing.baseline_seconds,
        distinct_numbers=workload.distinct_numbers,
        problems=problems,
        floor_seconds=floor_seconds,
    )
    print(result.line(), file=out, flush=True)
    return result


def _validate(store: str, events: int, batch: int, *, accounts: int, numbers: int) -> None:
    if store not in STORES:
        raise BenchError(f"--store must be sqlite or postgres, got {store!r}")
    if events < 1 or accounts < 1 or numbers < 1:
        raise BenchError("--events, --accounts and --numbers must be at least 1")
    if not 1 <= batch <= 1000:
        raise BenchError(
            f"--batch must be between 1 and 1000 (the API's largest batch), got {batch}"
        )


def _prepare(
    database: Database,
    store: str,
    rng: random.Random,
    *,
    numbers: int,
    accounts: int,
    events: int,
    say: Progress,
) -> _Workload:
    """Migrate the fresh store, seed it and generate the events (all untimed)."""
    started = time.perf_counter()
    migrate.upgrade(database)
    say(f"migrated a fresh {store} store in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    pool = NumberPool.generate(rng, numbers)
    say(
        f"generated {len(pool.outbound):,} distinct valid numbers in "
        f"{len(pool.regions)} countries in {time.perf_counter() - started:.1f} s"
    )

    seeding = rng.getstate()
    started = time.perf_counter()
    customers = seed_store(database, rng, pool, accounts=accounts, events=events)
    say(
        f"seeded the price list and {len(customers):,} accounts in "
        f"{time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    inputs = generate_events(rng, customers, pool, events)
    mix = Counter(event.channel for event in inputs)
    used = len({event.to for event in inputs if event.to and event.direction != "inbound"})
    say(
        f"generated {len(inputs):,} events in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{channel} {count / len(inputs):.0%}" for channel, count in mix.most_common())
        + f"; {used:,} distinct numbers called"
    )
    return _Workload(pool, inputs, used, seeding)


def _measure(
    database: Database, inputs: list[UsageInput], batch: int, say: Progress, profile: Path | None
) -> _Timing:
    """Record the events (timed), then insert the same rows plainly (the baseline)."""
    # The benchmark's own inputs stay alive for the whole run, which a server's
    # requests do not: keep the garbage collector from scanning them again and again.
    gc.collect()
    gc.freeze()
    try:
        writes: Writes = []
        recording = record_events(database, inputs, batch, say, profile, writes)
        seconds, cpu = recording.seconds, max(recording.cpu_seconds, 1e-6)
        codes = recording.error_codes
        say(
            f"recorded {len(inputs):,} events in {seconds:.2f} s "
            f"({len(inputs) / seconds:,.0f}/s; {len(inputs) / cpu:,.0f}/s of this process's "
            f"CPU time), {recording.errors} refused" + (f": {dict(codes)}" if codes else "")
        )

        rows = recorded_rows(database, inputs)
        baseline_seconds, baseline_cpu = insert_baseline(database, rows, batch, say)
        baseline_cpu = max(baseline_cpu, 1e-6)
        say(
            f"baseline: inserted {len(rows):,} rows in {baseline_seconds:.2f} s "
            f"({len(rows) / baseline_seconds:,.0f}/s; {len(rows) / baseline_cpu:,.0f}/s of "
            f"this process's CPU time); load average {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} CPUs"
        )
    finally:
        gc.unfreeze()
    return _Timing(recording, writes, len(rows), baseline_seconds)


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _check(database: Database, say: Progress) -> list[str]:
    """The ledger invariants of every account, and a journal that sums to zero."""
    from tollgate.ledger import check_invariants
    from tollgate.ledger.invariants import journal_total

    problems: list[str] = []
    with database.read() as session:
        for account_id in session.scalars(select(Account.id).order_by(Account.id)):
            problems += [
                f"{account_id}: {p}" for p in check_invariants(session, account_id, now=NOW)
            ]
        if total := journal_total(session):
            problems.append(f"the journal's postings sum to {total}, not zero")
    say(f"ledger check: {len(problems)} problems")
    return problems

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

import cProfile
import gc
import os
import pstats
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from sqlalchemy import MetaData, Table, create_engine, select, text
from sqlalchemy.engine import make_url

from tollgate import ledger, migrate
from tollgate.accounts.models import Account
from tollgate.accounts.service import create_account
from tollgate.db import Database
from tollgate.errors import TollgateError
from tollgate.money import parse_amount
from tollgate.rating.rater import number_facts
from tollgate.rating.service import put_price_list
from tollgate.rawsql import RawSQL
from tollgate.usage.calls import MICROS, SECONDS
from tollgate.usage.models import UsageEvent
from tollgate.usage.recorder import UsageRecorder
from tollgate.usage.service import UsageInput

STORES = ("sqlite", "postgres")
BENCH_DATABASE = "tollgate_bench"
BASELINE_TABLE = "bench_baseline_usage_events"

# The benchmark's clock: fixed, so that every run seeds and rates the same things.
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EVENT_WINDOW = timedelta(days=7)

# country, timezone, voice outbound to mobile / to fixed (per minute), SMS per
# segment, voice increment
COUNTRIES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("FR", "Europe/Paris", "0.014", "0.014", "0.0079", "60/60"),
    ("DE", "Europe/Berlin", "0.018", "0.012", "0.0750", "60/60"),
    ("GB", "Europe/London", "0.013", "0.010", "0.0420", "60/60"),
    ("ES", "Europe/Madrid", "0.016", "0.011", "0.0650", "60/60"),
    ("IT", "Europe/Rome", "0.019", "0.012", "0.0690", "60/60"),
    ("NL", "Europe/Amsterdam", "0.020", "0.013", "0.0980", "60/60"),
    ("BE", "Europe/Brussels", "0.022", "0.014", "0.0890", "60/60"),
    ("CH", "Europe/Zurich", "0.035", "0.016", "0.0650", "60/60"),
    ("AT", "Europe/Vienna", "0.024", "0.014", "0.0700", "60/60"),
    ("PT", "Europe/Lisbon", "0.018", "0.012", "0.0350", "60/60"),
    ("IE", "Europe/Dublin", "0.021", "0.013", "0.0600", "60/60"),
    ("SE", "Europe/Stockholm", "0.017", "0.011", "0.0550", "60/60"),
    ("NO", "Europe/Oslo", "0.019", "0.012", "0.0600", "60/60"),
    ("DK", "Europe/Copenhagen", "0.018", "0.012", "0.0450", "60/60"),
    ("FI", "Europe/Helsinki", "0.024", "0.016", "0.0800", "60/60"),
    ("PL", "Europe/Warsaw", "0.015", "0.010", "0.0300", "60/60"),
    ("US", "America/New_York", "0.010", "0.010", "0.0083", "6/6"),
    ("CA", "America/Toronto", "0.010", "0.010", "0.0083", "6/6"),
    ("BR", "America/Sao_Paulo", "0.045", "0.030", "0.0300", "30/6"),
    ("MX", "America/Mexico_City", "0.040", "0.020", "0.0250", "60/60"),
    ("AU", "Australia/Sydney", "0.038", "0.020", "0.0450", "30/30"),
    ("JP", "Asia/Tokyo", "0.090", "0.050", "0.0800", "60/60"),
    ("IN", "Asia/Kolkata", "0.020", "0.025", "0.0050", "60/60"),
    ("ZA", "Africa/Johannesburg", "0.050", "0.030", "0.0300", "1/1"),
    ("SG", "Asia/Singapore", "0.020", "0.015", "0.0400", "1/1"),
)

# Number types called, and how often.
NUMBER_KINDS = (
    ("mobile", PhoneNumberType.MOBILE, 6),
    ("fixed", PhoneNumberType.FIXED_LINE, 3),
    ("toll_free", PhoneNumberType.TOLL_FREE, 1),
)
LISTS = ("support", "marketing")

_WORDS = (
    "your",
    "order",
    "has",
    "shipped",
    "and",
    "will",
    "arrive",
    "tomorrow",
    "between",
    "9",
    "and",
    "12",
    "reply",
    "STOP",
    "to",
    "opt",
    "out",
    "code",
    "verification",
    "appointment",
    "confirmed",
    "with",
    "Dr",
    "Smith",
    "at",
    "the",
    "clinic",
    "on",
    "Monday",
    "please",
    "call",
    "us",
    "back",
    "if",
    "you",
    "need",
    "to",
    "reschedule",
    "thanks",
    "for",
    "your",
    "payment",
    "of",
    "the",
    "invoice",
    "balance",
    "is",
    "due",
    "delivery",
    "driver",
    "is",
    "on",
    "the",
    "way",
    "track",
    "parcel",
    "here",
)
_GSM_EXTENSION = ("€", "[ref]", "{id}", "~", "^", "|", "\\", "€5", "[1/2]")
_ACCENTED = (
    "ça",
    "être",
    "garçon",
    "łódź",
    "Győr",
    "şehir",
    "žena",
    "čaj",
    "ñandú",
    "œuvre",
    "привет",
    "Ελλάδα",
)
_EMOJI = ("😀", "👍", "👍🏽", "🎉", "❤️", "👨‍👩‍👧", "🇫🇷", "🙏🏻", "✅", "🚚")


Progress = Callable[[str], None]


class BenchError(Exception):
    """The benchmark cannot run as asked; the message says what to change."""


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
    if store not in STORES:
        raise BenchError(f"--store must be sqlite or postgres, got {store!r}")
    if events < 1 or accounts < 1 or numbers < 1:
        raise BenchError("--events, --accounts and --numbers must be at least 1")
    if not 1 <= batch <= 1000:
        raise BenchError(
            f"--batch must be between 1 and 1000 (the API's largest batch), got {batch}"
        )
    rng = random.Random(seed)
    with _fresh_store(store, database_url, say) as database:
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
            + ", ".join(
                f"{channel} {count / len(inputs):.0%}" for channel, count in mix.most_common()
            )
            + f"; {used:,} distinct numbers called"
        )

        # The benchmark's own inputs stay alive for the whole run, which a server's
        # requests do not: keep the garbage collector from scanning them again and again.
        gc.collect()
        gc.freeze()
        try:
            writes: list[list[tuple]] = []
            errors, codes, seconds, cpu = _record(database, inputs, batch, say, profile, writes)
            cpu = max(cpu, 1e-6)
            say(
                f"recorded {len(inputs):,} events in {seconds:.2f} s "
                f"({len(inputs) / seconds:,.0f}/s; {len(inputs) / cpu:,.0f}/s of this process's "
                f"CPU time), {errors} refused" + (f": {dict(codes)}" if codes else "")
            )

            rows = _recorded_rows(database, inputs)
            baseline_seconds, baseline_cpu = _baseline(database, rows, batch, say)
            baseline_cpu = max(baseline_cpu, 1e-6)
            say(
                f"baseline: inserted {len(rows):,} rows in {baseline_seconds:.2f} s "
                f"({len(rows) / baseline_seconds:,.0f}/s; {len(rows) / baseline_cpu:,.0f}/s of "
                f"this process's CPU time); load average {os.getloadavg()[0]:.1f} on "
                f"{os.cpu_count()} CPUs"
            )
        finally:
            gc.unfreeze()

        problems = _check(database, say) if check else []
    floor_seconds = None
    if floor:
        # The same store again (same seed: same accounts, lots and ids), and only the
        # recorder's writes, batch by batch: no reads, no rating, no ledger logic.
        with _fresh_store(store, database_url, say) as database:
            migrate.upgrade(database)
            rng.setstate(seeding)
            seed_store(database, rng, pool, accounts=accounts, events=events)
            floor_seconds = _floor(database, writes, say)
            if check:
                # The replayed store must be as sound as the recorded one: nothing written
                # was missed.
                problems += [f"floor store: {p}" for p in _check(database, say)]
    result = BenchResult(
        store=store,
        batch=batch,
        events=len(inputs),
        errors=errors,
        error_codes=codes,
        seconds=seconds,
        baseline_rows=len(rows),
        baseline_seconds=baseline_seconds,
        distinct_numbers=used,
        problems=problems,
        floor_seconds=floor_seconds,
    )
    print(result.line(), file=out, flush=True)
    return result


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the store ---------------------------------------------------------------------------


def postgres_server_url(database_url: str | None) -> str:
    """The PostgreSQL server to use: --database-url, else the first PostgreSQL URL in
    $TOLLGATE_DATABASE_URL or $TOLLGATE_TEST_POSTGRES_URL. Its database name is ignored."""
    if database_url:
        candidates = [("--database-url", database_url)]
    else:
        candidates = [
            (name, os.environ.get(name, ""))
            for name in ("TOLLGATE_DATABASE_URL", "TOLLGATE_TEST_POSTGRES_URL")
        ]
    for name, url in candidates:
        if url and make_url(url).get_backend_name() == "postgresql":
            return url
        if name == "--database-url":
            raise BenchError(
                f"--database-url must be a PostgreSQL URL for --store postgres, got {url!r}"
            )
    raise BenchError(
        "--store postgres needs a server: pass --database-url "
        "postgresql+psycopg://USER:PASSWORD@HOST:5432/ (or set $TOLLGATE_DATABASE_URL); "
        f"the benchmark works in its own database {BENCH_DATABASE}, dropped and re-created"
    )


@contextmanager
def _fresh_store(store: str, database_url: str | None, say: Progress) -> Iterator[Database]:
    if store == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tollgate-bench-") as directory:
            database = Database(f"sqlite:///{directory}/bench.db")
            try:
                with database.read() as session:
                    synchronous = session.execute(text("PRAGMA synchronous")).scalar()
                say(f"SQLite store in {directory} (synchronous={synchronous})")
                yield database
            finally:
                database.dispose()
        return
    server = make_url(postgres_server_url(database_url))
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {BENCH_DATABASE}"))
        target = server.set(database=BENCH_DATABASE)
        say(f"PostgreSQL store {target.render_as_string()} (dropped and re-created)")
        database = Database(target.render_as_string(hide_password=False))
        try:
            yield database
        finally:
            database.dispose()
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
    finally:
        admin.dispose()


# --- numbers -----------------------------------------------------------------------------


@dataclass
class NumberPool:
    """Distinct valid E.164 numbers: all of them, shuffled, and by country and type."""

    outbound: list[str]
    by_kind: dict[tuple[str, str], list[str]]

    @property
    def regions(self) -> set[str]:
        return {region for region, _ in self.by_kind}

    @classmethod
    def generate(cls, rng: random.Random, size: int) -> NumberPool:
        """``size`` numbers: each country's example number of each type with its last
        digits varied, kept when libphonenumber says it is valid."""
        templates = []
        for region, *_ in COUNTRIES:
            for kind, number_type, weight in NUMBER_KINDS:
                example = phonenumbers.example_number_for_type(region, number_type)
                if example is not None:
                    templates.append((region, kind, example, weight))
        weights = [weight for *_, weight in templates]
        seen: set[str] = set()
        by_kind: dict[tuple[str, str], list[str]] = {}
        attempts = 0
        while len(seen) < size:
            attempts += 1
            if attempts > 50 * size + 10_000:
                raise BenchError(f"could not generate {size} distinct valid numbers")
            region, kind, example, _ = rng.choices(templates, weights)[0]
            national = example.national_number
            varied = 10 ** (5 if national >= 10**8 else 4)
            number = phonenumbers.PhoneNumber()
            number.merge_from(example)
            number.national_number = national - national % varied + rng.randrange(varied)
            e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
            if e164 in seen or not phonenumbers.is_valid_number(number):
                continue
            seen.add(e164)
            by_kind.setdefault((region, kind), []).append(e164)
        outbound = [e164 for numbers in by_kind.values() for e164 in numbers]
        rng.shuffle(outbound)
        return cls(outbound, by_kind)

    def cycle(self) -> Iterator[str]:
        """Every number once, then again: as few repeats as the pool allows."""
        while True:
            yield from self.outbound


# --- seeding -----------------------------------------------------------------------------


def price_rows() -> list[dict[str, object]]:
    """The benchmark's price list: per-country rows plus the fallbacks a real one has."""
    rows: list[dict[str, object]] = []
    for country, _, mobile, fixed, sms, increment in COUNTRIES:
        for number_type, price in (("mobile", mobile), ("fixed", fixed), ("toll_free", "0")):
            rows.append(
                {
                    "channel": "voice",
                    "direction": "outbound",
                    "destination": country,
                    "number_type": number_type,
                    "price": price,
                    "increment": increment,
                }
            )
        rows.append({"channel": "sms", "destination": country, "price": sms})
    rows += [
        {"channel": "voice", "direction": "outbound", "price": "0.014", "increment": "60/60"},
        {
            "channel": "voice",
            "direction": "outbound",
            "destination": "+4420",
            "number_type": "fixed",
            "price": "0.010",
            "connect_fee": "0.05",
        },
        {
            "channel": "voice",
            "direction": "outbound",
            "destination": "+3361",
            "price": "0.016",
            "increment": "1/1",
            "connect_fee": "0.01",
        },
        {"channel": "voice", "direction": "inbound", "price": "0.0085"},
        {"channel": "voice", "direction": "inbound", "number_type": "mobile", "price": "0.0100"},
        {"channel": "voice", "direction": "inbound", "number_type": "toll_free", "price": "0.022"},
        {
            "channel": "voice",
            "direction": "inbound",
            "destination": "US",
            "number_type": "toll_free",
            "price": "0.013",
            "increment": "6/6",
        },
        {"channel": "sms", "price": "0.0079"},
        {"channel": "sms", "destination": "+4475", "price": "0.0390"},
        {"channel": "email", "price": "0.675", "per": 1000},
        {"channel": "whatsapp_template", "category": "marketing", "price": "0.0859"},
        {"channel": "whatsapp_template", "category": "utility", "price": "0.0336"},
        {"channel": "whatsapp_template", "category": "authentication", "price": "0.0298"},
        {"channel": "day_pass", "price": "3.5"},
    ]
    return rows


@dataclass
class Customer:
    """A seeded account, as the event generator needs to know it."""

    id: str
    own_numbers: list[str]
    agents: int
    has_lists: bool


def seed_store(
    database: Database, rng: random.Random, pool: NumberPool, *, accounts: int, events: int
) -> list[Customer]:
    """The price list and ``accounts`` accounts with enough credit for their events."""
    with database.write() as session:
        put_price_list(
            session,
            "default",
            unit="EUR",
            rows=price_rows(),
            now=NOW,
            effective_from=NOW - timedelta(days=30),
        )
    per_account = max(1, events // accounts)
    customers: list[Customer] = []
    for start in range(0, accounts, 100):
        with database.write() as session:
            for index in range(start, min(start + 100, accounts)):
                customers.append(_seed_account(session, rng, pool, index, per_account))
    return customers


def _seed_account(session, rng: random.Random, pool: NumberPool, index: int, per_account: int):
    country, timezone, *_ = rng.choice(COUNTRIES)
    account = create_account(
        session,
        account_id=f"acct-{index:04d}",
        name=f"Customer {index}",
        unit="EUR",
        timezone=timezone,
        country=country,
        now=NOW - timedelta(days=60),
    )
    ledger.grant(
        session,
        account,
        amount=parse_amount(str(per_account * 4 + 100)),
        source="purchase",
        expires_at=NOW + timedelta(days=730),
        now=NOW,
        memo="credit pack",
    )
    ledger.grant(
        session,
        account,
        amount=parse_amount("20"),
        source="grant",
        priority=50,
        expires_at=NOW + timedelta(days=21),
        now=NOW,
        memo="welcome credit",
    )
    if rng.random() < 0.2:
        ledger.grant(
            session,
            account,
            amount=parse_amount("10"),
            source="bundle",
            applies_to=["sms"],
            expires_at=NOW + timedelta(days=30),
            now=NOW,
            memo="SMS bundle",
        )
    if rng.random() < 0.3:
        ledger.grant(
            session,
            account,
            amount=18_000 * MICROS,
            unit=SECONDS,
            source="plan_allowance",
            applies_to=["voice"],
            expires_at=NOW + timedelta(days=30),
            now=NOW,
            memo="300 plan minutes",
        )
    has_lists = rng.random() < 0.3
    if has_lists:
        ledger.set_allocation(
            session, account, "support", parse_amount(str(per_account + 30)), now=NOW
        )
        ledger.set_allocation(
            session, account, "marketing", parse_amount(str(per_account // 2 + 30)), now=NOW
        )
    own = [rng.choice(pool.by_kind.get((country, "fixed")) or pool.outbound)]
    if rng.random() < 0.35 and pool.by_kind.get((country, "toll_free")):
        own.append(rng.choice(pool.by_kind[(country, "toll_free")]))
    return Customer(account.id, own, agents=rng.randint(2, 15), has_lists=has_lists)


# --- events ------------------------------------------------------------------------------


def generate_events(
    rng: random.Random, customers: list[Customer], pool: NumberPool, count: int
) -> list[UsageInput]:
    """``count`` events in time order over the last week, from a fixed seed."""
    called = pool.cycle()
    window = EVENT_WINDOW.total_seconds()
    moments = sorted(NOW - timedelta(seconds=rng.uniform(1, window)) for _ in range(count))
    events: list[UsageInput] = []
    for position, occurred_at in enumerate(moments):
        customer = rng.choice(customers)
        if customer.has_lists and rng.random() < 0.5:
            list_id: str | None = rng.choice(LISTS)
        elif rng.random() < 0.1:
            list_id = "campaign"  # a list without an allocation: paid from the pool
        else:
            list_id = None
        common = {
            "id": f"evt-{position:08d}",
            "account_id": customer.id,
            "occurred_at": occurred_at,
            "list_id": list_id,
            "customer_id": f"cust-{rng.randrange(50_000)}" if rng.random() < 0.5 else None,
        }
        draw = rng.random()
        if draw < 0.50:
            event = UsageInput(channel="sms", to=next(called), text=sms_text(rng), **common)
        elif draw < 0.80:
            duration = (
                0 if rng.random() < 0.12 else min(3600, max(1, int(rng.lognormvariate(4.3, 1.0))))
            )
            if rng.random() < 0.6:
                event = UsageInput(
                    channel="voice",
                    direction="outbound",
                    to=next(called),
                    duration_seconds=duration,
                    **common,
                )
            else:
                event = UsageInput(
                    channel="voice",
                    direction="inbound",
                    to=rng.choice(customer.own_numbers),
                    from_=next(called),
                    duration_seconds=duration,
                    **common,
                )
        elif draw < 0.95:
            bulk = rng.random() < 0.3
            event = UsageInput(
                channel="email", count=rng.randint(2, 5000) if bulk else None, **common
            )
        else:
            event = UsageInput(
                channel="agent_login", user_id=f"agent-{rng.randrange(customer.agents)}", **common
            )
        events.append(event)
    return events


def sms_text(rng: random.Random) -> str:
    """20–400 characters: mostly plain GSM-7, some with extension characters, accents
    outside GSM-7 or emoji (UCS-2)."""
    length = rng.randint(20, 400)
    kind = rng.random()
    extras: tuple[str, ...] = ()
    if kind < 0.10:
        extras = _GSM_EXTENSION
    elif kind < 0.22:
        extras = _ACCENTED
    elif kind < 0.30:
        extras = _EMOJI
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(extras) if extras and rng.random() < 0.08 else rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    text_ = " ".join(words)[:length]
    if extras and not any(extra in text_ for extra in extras):
        extra = rng.choice(extras)
        text_ = extra + text_[len(extra) :]
    return text_


# --- timing ------------------------------------------------------------------------------


def _record(
    database: Database,
    inputs: list[UsageInput],
    batch: int,
    say: Progress,
    profile: Path | None,
    writes: list[list[tuple]],
) -> tuple[int, Counter[str], float, float]:
    """Record the events, batch by batch; ``writes`` gets each batch's writes."""
    number_facts.cache_clear()  # every number is new to the process, as in production
    errors = 0
    codes: Counter[str] = Counter()
    report_every = max(1, len(inputs) // batch // 10)
    profiler = cProfile.Profile() if profile else None
    say(
        f"recording {len(inputs):,} events in batches of {batch}"
        + (" under cProfile (slower)" if profiler else "")
    )
    if profiler:
        profiler.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    for number, start in enumerate(range(0, len(inputs), batch), 1):
        with database.write() as session, _logging_writes(writes):
            writes.append([])
            results = UsageRecorder(session, now=NOW).record(inputs[start : start + batch])
        for result in results:
            if isinstance(result, TollgateError):
                errors += 1
                codes[result.code] += 1
        if number % report_every == 0:
            done = min(start + batch, len(inputs))
            elapsed = time.perf_counter() - started
            say(f"... {done:,} events recorded, {done / elapsed:,.0f}/s")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler:
        profiler.disable()
        assert profile is not None
        profiler.dump_stats(profile)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
        say(f"profile written to {profile} (python -m pstats {profile})")
    return errors, codes, seconds, cpu


@contextmanager
def _logging_writes(writes: list[list[tuple]]) -> Iterator[None]:
    """While it lasts, every driver-level write (the rows, not copies) is also kept in
    ``writes[-1]``: the benchmark patches :class:`RawSQL` itself, so that production
    code carries nothing for it."""
    insert, update = RawSQL.insert, RawSQL.update

    def logged_insert(self: RawSQL, table: str, columns: Any, rows: Any) -> None:
        writes[-1].append(("insert", table, columns, rows))
        insert(self, table, columns, rows)

    def logged_update(self: RawSQL, table: str, columns: Any, keys: int, rows: Any) -> None:
        writes[-1].append(("update", table, columns, keys, rows))
        update(self, table, columns, keys, rows)

    RawSQL.insert, RawSQL.update = logged_insert, logged_update  # type: ignore[method-assign]
    try:
        yield
    finally:
        RawSQL.insert, RawSQL.update = insert, update  # type: ignore[method-assign]


def _floor(database: Database, writes: list[list[tuple]], say: Progress) -> float:
    """Replay each batch's writes in one transaction; the seconds it took."""
    count = sum(
        len(rows) for batch in writes for (_, table, *_, rows) in batch if table == "usage_events"
    )
    say(
        f"floor: replaying the recorder's own writes for {count:,} events, one transaction "
        f"per batch, with no reads, rating or ledger logic"
    )
    started = time.perf_counter()
    for batch in writes:
        with database.write() as session:
            sql = RawSQL(session)
            for operation, *arguments in batch:
                getattr(sql, operation)(*arguments)
    seconds = time.perf_counter() - started
    say(
        f"floor: {count / seconds:,.0f} events/s ({seconds:.2f} s): the most the recorder "
        f"could reach on this store and machine if everything but its writes cost nothing"
    )
    return seconds


def _recorded_rows(database: Database, inputs: list[UsageInput]) -> list[tuple]:
    """The rows the recorder wrote, as the driver returns them, in the order of the events."""
    with database.read() as session:
        found = {
            (row[0], row[1]): row
            for row in RawSQL(session).select(f"SELECT {_COLUMNS} FROM usage_events")
        }
    return [found[key] for key in ((e.account_id, e.id) for e in inputs) if key in found]


def _baseline_table(database: Database) -> Table:
    """A fresh, empty copy of ``usage_events``: same columns, keys, index and foreign key."""
    metadata = MetaData()
    Account.__table__.to_metadata(metadata)  # so that the foreign key resolves
    table = UsageEvent.__table__.to_metadata(metadata, name=BASELINE_TABLE)
    for index in table.indexes:
        index.name = f"{BASELINE_TABLE}_{index.name}"
    with database.engine.begin() as connection:
        table.drop(connection, checkfirst=True)
        table.create(connection)
    return table


def _baseline(
    database: Database, rows: list[tuple], batch: int, say: Progress
) -> tuple[float, float]:
    """The same rows inserted with the driver's own ``executemany``, one commit per batch.

    No SQLAlchemy in the loop: the fastest plain way to store one row per event,
    which is what the recorder's driver-level writes are measured against.
    """
    if not rows:
        raise BenchError("no event was recorded, so there is nothing to compare with")
    _baseline_table(database)
    placeholders = ", ".join("?" * len(UsageEvent.__table__.columns))
    statement = f"INSERT INTO {BASELINE_TABLE} ({_COLUMNS}) VALUES ({placeholders})"
    say(
        f"baseline: inserting the same {len(rows):,} rows, one driver executemany and "
        f"commit per batch of {batch}"
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(rows), batch):
        with database.write() as session:
            RawSQL(session).execute_many(statement, rows[start : start + batch])
    return time.perf_counter() - started, time.process_time() - cpu_started


_COLUMNS = ", ".join(f'"{column.name}"' for column in UsageEvent.__table__.columns)


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

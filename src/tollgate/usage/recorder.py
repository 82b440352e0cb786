"""The usage hot path: rate and pay a batch of events in one transaction.

A batch (one event for ``POST /v1/usage``, up to 1,000 for ``/usage/batch``) locks
its accounts in id order, reads their buckets, open lots, already-recorded event
ids and day passes in a handful of queries, works in memory with the ledger's own
rules (:func:`tollgate.ledger.service.plan_draw`, ``spendable``, draw-down order),
and writes every change back with one statement per table. Each event is
checked completely before anything is changed for it, so a refused event leaves
no trace and never disturbs the others.

Reads and writes go straight to the driver (:mod:`tollgate.rawsql`), in the
session's transaction; the session is flushed first and its objects expired
after, so ORM code before or after in the same transaction sees the same data.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tollgate.errors import Conflict, InvalidRequest, NotFound, TollgateError
from tollgate.ledger.models import POOL, bucket_ledger_account
from tollgate.ledger.service import (
    DEBT,
    BucketFigures,
    Draw,
    draw_down_key,
    insufficient_credit,
    lock_accounts,
    plan_draw,
    refuse_if_blocked,
    revenue_account,
    spendable,
)
from tollgate.rating.rater import cost_of
from tollgate.rating.service import PriceListResolver
from tollgate.rawsql import RawSQL
from tollgate.usage.service import (
    MICROS,
    SECONDS,
    UsageInput,
    answer_of_with_json,
    rate_for_account,
    spending_tag,
)

_UTC = ZoneInfo("UTC")
# ZoneInfo keeps only a few zones alive by itself: with accounts in many zones it
# would read them from disk again and again.
_zone = lru_cache(maxsize=1024)(ZoneInfo)

# The hot path's statements, written once (see tollgate.rawsql).
_SELECT_ACCOUNTS = (
    "SELECT id, unit, timezone, price_list_id, status, debt, next_due_at FROM accounts "
    "WHERE id IN ({keys}) ORDER BY id"
)
_SELECT_BUCKETS = (
    "SELECT account_id, unit, list_id, balance, reserved FROM buckets WHERE account_id IN ({keys})"
)
_SELECT_OPEN_LOTS = (
    "SELECT id, account_id, unit, priority, expires_at, created_at, remaining, reserved, "
    "applies_to FROM lots WHERE account_id IN ({keys}) AND remaining > 0"
)
_SELECT_KNOWN = (
    "SELECT u.account_id, u.id, u.request_hash, u.answer FROM ({keys}) AS k "
    "JOIN usage_events u ON u.account_id = k.column1 AND u.id = k.column2"
)
_SELECT_DAY_PASSES = (
    "SELECT d.account_id, d.user_id, d.local_date FROM ({keys}) AS k JOIN day_passes d "
    "ON d.account_id = k.column1 AND d.user_id = k.column2 AND d.local_date = k.column3"
)
# Updates: the new values, then the key, each with its PostgreSQL type.
_ACCOUNT_CHANGES = (("debt", "bigint"), ("status", "text"), ("id", "text"))
_LOT_CHANGES = (("remaining", "bigint"), ("id", "bigint"))
_BUCKET_CHANGES = (
    ("balance", "bigint"),
    ("account_id", "text"),
    ("unit", "text"),
    ("list_id", "text"),
)
_TOP_ENTRY_ID = "SELECT coalesce(max(id), 0) FROM journal_entries"
_NEXT_ENTRY_IDS = (
    "SELECT nextval(pg_get_serial_sequence('journal_entries', 'id')) FROM generate_series(1, ?)"
)
_ENTRY_COLUMNS = ("id", "account_id", "kind", "reference", "memo", "created_at")
_POSTING_COLUMNS = ("entry_id", "account_id", "ledger_account", "unit", "amount", "lot_id")
_USAGE_COLUMNS = (
    "account_id",
    "id",
    "channel",
    "occurred_at",
    "list_id",
    "user_id",
    "customer_id",
    "direction",
    "to",
    "quantity",
    "quantity_unit",
    "cost",
    "unit",
    "allowance_used",
    "debt",
    "request_hash",
    "answer",
    "recorded_at",
)
_DAY_PASS_COLUMNS = ("account_id", "user_id", "local_date", "event_id", "valid_until")


class _Account:
    """The figures of a locked account the hot path reads and may change."""

    __slots__ = (
        "changed",
        "debt",
        "id",
        "next_due_at",
        "price_list_id",
        "status",
        "timezone",
        "unit",
    )

    def __init__(self, id, unit, timezone, price_list_id, status, debt, next_due_at) -> None:
        self.id = id
        self.unit = unit
        self.timezone = timezone
        self.price_list_id = price_list_id
        self.status = status
        self.debt = debt
        self.next_due_at = next_due_at
        self.changed = False


@dataclass(slots=True)
class _Lot:
    id: int
    unit: str
    priority: int
    expires_at: datetime | None
    created_at: datetime
    remaining: int
    reserved: int
    applies_to: str | None

    @property
    def available(self) -> int:
        return self.remaining - self.reserved


class _AccountState:
    """One account's credit, as loaded for the batch and changed in memory."""

    __slots__ = ("account", "buckets", "lots")

    def __init__(self, account: _Account) -> None:
        self.account = account
        self.buckets: dict[tuple[str, str], BucketFigures] = {}
        self.lots: dict[str, list[_Lot]] = defaultdict(list)

    def paying_bucket(self, unit: str, list_id: str | None) -> BucketFigures | None:
        if list_id and unit == self.account.unit:
            allocation = self.buckets.get((unit, list_id))
            if allocation is not None:
                return allocation
        return self.buckets.get((unit, POOL))

    def available(self, unit: str, list_id: str | None, tag: str, now: datetime) -> int:
        bucket = self.paying_bucket(unit, list_id)
        if bucket is None or bucket.available <= 0:
            return 0
        return min(bucket.available, spendable(self.lots.get(unit, ()), tag, now))

    def money_totals(self) -> tuple[int, int]:
        unit = self.account.unit
        total = reserved = 0
        for (bucket_unit, _), bucket in self.buckets.items():
            if bucket_unit == unit:
                total += bucket.balance
                reserved += bucket.reserved
        return total, reserved


class UsageRecorder:
    """Records usage events for one transaction. Use once: ``record`` then done."""

    # How it reaches the database (the benchmark substitutes one that also logs writes).
    raw_sql: type[RawSQL] = RawSQL

    def __init__(
        self, session: Session, *, now: datetime, resolver: PriceListResolver | None = None
    ):
        self.session = session
        self.now = now
        self.resolver = resolver or PriceListResolver(session)
        self._sql: RawSQL | None = None
        self._now_stored: object = None
        self._states: dict[str, _AccountState] = {}
        self._known: dict[tuple[str, str], tuple[str, dict]] = {}
        self._passes: set[tuple[str, str, str]] = set()
        self._touched_lots: dict[int, _Lot] = {}
        self._touched_buckets: dict[tuple[str, str, str], BucketFigures] = {}
        self._entries: list[tuple] = []
        self._postings: list[tuple] = []
        self._entry_ids: Iterator[int] = iter(())
        self._usage_rows: list[tuple] = []
        self._pass_rows: list[tuple] = []

    # --- the batch -------------------------------------------------------------------

    def record(self, events: Sequence[UsageInput]) -> list[dict | TollgateError]:
        # The driver-level reads below must see what the session changed before.
        self.session.flush()
        self._sql = self.raw_sql(self.session)
        self._now_stored = self._sql.instant(self.now)
        self._load({e.account_id for e in events})
        # After _load: catching up on expiry there may have written journal entries.
        self._entry_ids = self._new_entry_ids(len(events))
        self._load_known(events)
        self._load_day_passes(events)
        results: list[dict | TollgateError] = []
        for event in events:
            try:
                results.append(self._record_one(event))
            except TollgateError as exc:
                results.append(exc)
        self._write()
        return results

    def _record_one(self, event: UsageInput) -> dict:
        state = self._states.get(event.account_id)
        if state is None:
            raise NotFound(f"account {event.account_id!r} does not exist", code="account_not_found")
        account = state.account
        request_hash = event.fingerprint()
        known = self._known.get((account.id, event.id))
        if known is not None:
            if known[0] != request_hash:
                raise Conflict(
                    f"usage event {event.id!r} was already recorded with different content",
                    code="idempotency_conflict",
                )
            return known[1]
        if not event.allow_debt:
            refuse_if_blocked(account)
        # A UsageInput has every field rating reads (direction None means outbound).
        rating = rate_for_account(self.resolver, account, event, event.occurred_at)  # type: ignore[arg-type]

        quantity, money = rating.quantity, rating.cost
        day_pass: tuple | None = None
        if event.channel == "agent_login":
            day_pass = self._day_pass(account, event)
            if day_pass is None:
                quantity, money = 0, 0

        tag = spending_tag(event.channel)
        now = self.now
        seconds = 0
        if event.channel == "voice" and rating.billed_units:
            seconds = min(rating.billed_units, state.available(SECONDS, None, tag, now) // MICROS)
            if seconds:
                money = cost_of(rating.billed_units - seconds, rating.row) + rating.connect_fee

        unit = account.unit
        bucket = state.paying_bucket(unit, event.list_id)
        lots = state.lots.get(unit, [])
        payable = 0
        if money:
            lots_available = spendable(lots, tag, now)
            bucket_available = bucket.available if bucket is not None else 0
            payable = min(bucket_available, lots_available, money)
            if payable < money and not event.allow_debt:
                raise insufficient_credit(
                    bucket or BucketFigures(POOL, 0, 0, unit),
                    lots_available,
                    money,
                    unit,  # type: ignore[arg-type]
                )

        # Everything is checked: from here on the event is paid.
        legs: list[tuple[str, str, int, int | None]] = []
        draws: list[Draw] = []
        if seconds:
            allowance_bucket = state.buckets[(SECONDS, POOL)]
            self._spend(
                account.id,
                allowance_bucket,
                state.lots[SECONDS],
                seconds * MICROS,
                tag,
                legs,
                draws,
            )
            legs.append((revenue_account(tag), SECONDS, seconds * MICROS, None))
        debt = money - payable
        if payable:
            assert bucket is not None
            self._spend(account.id, bucket, lots, payable, tag, legs, draws)
        if debt:
            legs.append((DEBT, unit, -debt, None))
            account.debt += debt
            account.status = "blocked"
            account.changed = True
        if money:
            legs.append((revenue_account(tag), unit, money, None))
        if legs:
            self._journal(account.id, "charge", f"usage:{event.id}", legs)

        total, reserved = state.money_totals()
        answer, answer_json = answer_of_with_json(
            event_id=event.id,
            unit=unit,
            money=money,
            quantity=quantity,
            quantity_unit=rating.quantity_unit,
            draws=draws,
            debt=debt,
            total=total,
            reserved=reserved,
        )
        if day_pass is not None:
            self._passes.add(day_pass[:3])
            self._pass_rows.append(day_pass)
        self._known[(account.id, event.id)] = (request_hash, answer)
        instant = self._sql.instant  # type: ignore[union-attr]
        self._usage_rows.append(
            (
                account.id,
                event.id,
                event.channel,
                instant(event.occurred_at),
                event.list_id,
                event.user_id,
                event.customer_id,
                event.direction,
                event.to,
                quantity,
                rating.quantity_unit,
                money,
                unit,
                seconds,
                debt,
                request_hash,
                answer_json,
                self._now_stored,
            )
        )
        return answer

    def _spend(
        self,
        account_id: str,
        bucket: BucketFigures,
        lots: list[_Lot],
        amount: int,
        tag: str,
        legs: list,
        draws: list,
    ) -> None:
        ledger_account = bucket_ledger_account(bucket.list_id)
        for lot, take in plan_draw(lots, amount, tag, self.now):  # type: ignore[arg-type]
            lot.remaining -= take
            self._touched_lots[lot.id] = lot
            legs.append((ledger_account, lot.unit, -take, lot.id))
            draws.append(Draw(lot.id, lot.unit, take))
        bucket.balance -= amount
        self._touched_buckets[(account_id, bucket.unit, bucket.list_id)] = bucket

    def _journal(self, account_id: str, kind: str, reference: str, legs: list) -> None:
        entry_id = next(self._entry_ids)
        self._entries.append((entry_id, account_id, kind, reference, None, self._now_stored))
        for ledger_account, unit, amount, lot_id in legs:
            if amount:
                self._postings.append((entry_id, account_id, ledger_account, unit, amount, lot_id))

    def _day_pass(self, account: _Account, event: UsageInput) -> tuple | None:
        """The day pass this login buys (a ``day_passes`` row), or None when the agent
        has today's already."""
        if not event.user_id:
            raise InvalidRequest("an agent_login event needs a user_id", code="invalid_request")
        zone = _zone(account.timezone)
        local = event.occurred_at.astimezone(zone)
        local_date = local.date().isoformat()
        if (account.id, event.user_id, local_date) in self._passes:
            return None
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
        return (
            account.id,
            event.user_id,
            local_date,
            event.id,
            self._sql.instant(midnight.astimezone(_UTC)),
        )  # type: ignore[union-attr]

    # --- reading ---------------------------------------------------------------------

    def _load(self, account_ids: set[str]) -> None:
        """Lock the accounts (in id order), catch up on due expiry, read their credit."""
        sql = self._sql
        assert sql is not None
        ids = sorted(account_ids)
        lock = _SELECT_ACCOUNTS if sql.sqlite else _SELECT_ACCOUNTS + " FOR UPDATE"
        accounts = {row[0]: _Account(*row) for row in sql.select_in(lock, ids)}
        now = self.now
        due = [
            a.id
            for a in accounts.values()
            if a.next_due_at is not None and sql.read_instant(a.next_due_at) <= now
        ]
        if due:
            # Rare: lots expire or reservations lapse first, by the ledger's own rules.
            lock_accounts(self.session, due, now=now)
            self.session.flush()
            for row in sql.select_in(_SELECT_ACCOUNTS, due):
                accounts[row[0]] = _Account(*row)
        states = self._states = {account_id: _AccountState(a) for account_id, a in accounts.items()}
        for account_id, unit, list_id, balance, reserved in sql.select_in(_SELECT_BUCKETS, ids):
            states[account_id].buckets[(unit, list_id)] = BucketFigures(
                list_id, balance, reserved, unit
            )
        instant = sql.read_instant
        for lot_id, account_id, unit, priority, expires_at, created_at, *rest in sql.select_in(
            _SELECT_OPEN_LOTS, ids
        ):
            states[account_id].lots[unit].append(
                _Lot(lot_id, unit, priority, instant(expires_at), instant(created_at), *rest)
            )
        for state in states.values():
            for unit_lots in state.lots.values():
                unit_lots.sort(key=draw_down_key)  # type: ignore[arg-type]

    def _load_known(self, events: Sequence[UsageInput]) -> None:
        keys = sorted({(e.account_id, e.id) for e in events if e.account_id in self._states})
        assert self._sql is not None
        for account_id, event_id, request_hash, answer in self._sql.select_in(
            _SELECT_KNOWN, keys, width=2
        ):
            self._known[(account_id, event_id)] = (request_hash, json.loads(answer))

    def _load_day_passes(self, events: Sequence[UsageInput]) -> None:
        keys = set()
        for event in events:
            if (
                event.channel == "agent_login"
                and event.user_id
                and event.account_id in self._states
            ):
                zone = _zone(self._states[event.account_id].account.timezone)
                keys.add(
                    (
                        event.account_id,
                        event.user_id,
                        event.occurred_at.astimezone(zone).date().isoformat(),
                    )
                )
        if keys:
            assert self._sql is not None
            self._passes.update(self._sql.select_in(_SELECT_DAY_PASSES, sorted(keys), width=3))

    # --- writing ---------------------------------------------------------------------

    def _write(self) -> None:
        sql = self._sql
        assert sql is not None
        sql.update(
            "accounts",
            _ACCOUNT_CHANGES,
            1,
            [
                (s.account.debt, s.account.status, s.account.id)
                for s in self._states.values()
                if s.account.changed
            ],
        )
        sql.update(
            "lots",
            _LOT_CHANGES,
            1,
            [(lot.remaining, lot.id) for lot in self._touched_lots.values()],
        )
        sql.update(
            "buckets",
            _BUCKET_CHANGES,
            3,
            [(bucket.balance, *key) for key, bucket in self._touched_buckets.items()],
        )
        sql.insert("journal_entries", _ENTRY_COLUMNS, self._entries)
        sql.insert("postings", _POSTING_COLUMNS, self._postings)
        sql.insert("usage_events", _USAGE_COLUMNS, self._usage_rows)
        sql.insert("day_passes", _DAY_PASS_COLUMNS, self._pass_rows)
        # ORM copies of rows written above (if any were loaded) are stale now.
        self.session.expire_all()

    def _new_entry_ids(self, count: int) -> Iterator[int]:
        """Ids for the journal entries of up to ``count`` events, taken as they are used."""
        sql = self._sql
        assert sql is not None
        if sql.sqlite:
            # The transaction holds SQLite's write lock: nobody else can take ids.
            ((top,),) = sql.select(_TOP_ENTRY_ID)
            return iter(range(top + 1, top + 1 + count))
        # Ids of events refused or replayed stay unused: a gap, as a rollback leaves.
        return iter([row[0] for row in sql.select(_NEXT_ENTRY_IDS, (count,))])

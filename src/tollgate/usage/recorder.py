"""The usage hot path: rate and pay a batch of events in one transaction.

A batch (one event for ``POST /v1/usage``, up to 1,000 for ``/usage/batch``) locks
its accounts in id order, reads their buckets, open lots, already-recorded event
ids and day passes in a handful of queries, works in memory with the ledger's own
rules (:func:`tollgate.ledger.service.plan_draw`, ``spendable``, draw-down order),
and writes every change back with one ``executemany`` per table. Each event is
checked completely before anything is changed for it, so a refused event leaves
no trace and never disturbs the others.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, column, func, insert, select, text, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

from tollgate.accounts.models import Account
from tollgate.errors import Conflict, InvalidRequest, NotFound, TollgateError
from tollgate.ledger.models import POOL, Bucket, JournalEntry, Lot, Posting, bucket_ledger_account
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
from tollgate.usage.models import DayPass, UsageEvent
from tollgate.usage.service import (
    MICROS,
    SECONDS,
    UsageInput,
    answer_of,
    rate_for_account,
    spending_tag,
)

_UTC = ZoneInfo("UTC")
_CHUNK = 500
# ZoneInfo keeps only a few zones alive by itself: with accounts in many zones it
# would read them from disk again and again.
_zone = lru_cache(maxsize=1024)(ZoneInfo)
# What json.dumps(..., separators=(",", ":")) builds on every call.
_compact_json = json.JSONEncoder(separators=(",", ":")).encode


@lru_cache(maxsize=64)
def _listed(width: int, count: int) -> TextualSelect:
    """``SELECT * FROM (VALUES (:v0_0, :v0_1), …)``: keys for a row-value ``IN``.

    With keys given this way both stores look each one up in the primary key. A plain
    ``(a, b) IN ((…), …)`` list, as ``tuple_().in_(keys)`` renders it, makes SQLite
    scan the whole table instead, on every batch.
    """
    rows = ", ".join(
        "(" + ", ".join(f":v{i}_{j}" for j in range(width)) + ")" for i in range(count)
    )
    return text(f"SELECT * FROM (VALUES {rows}) AS listed").columns(
        *(column(f"column{j + 1}") for j in range(width))
    )


def _listed_values(keys: Sequence[tuple]) -> dict[str, object]:
    return {f"v{i}_{j}": value for i, key in enumerate(keys) for j, value in enumerate(key)}


# Statements are built once: building one costs SQLAlchemy more than running it does
# for a batch of one event.
_buckets, _lots, _usage = Bucket.__table__, Lot.__table__, UsageEvent.__table__
_SELECT_BUCKETS = select(
    _buckets.c.account_id, _buckets.c.unit, _buckets.c.list_id, _buckets.c.balance,
    _buckets.c.reserved,
).where(_buckets.c.account_id.in_(bindparam("account_ids", expanding=True)))
_SELECT_OPEN_LOTS = select(
    _lots.c.id, _lots.c.account_id, _lots.c.unit, _lots.c.priority, _lots.c.expires_at,
    _lots.c.created_at, _lots.c.remaining, _lots.c.reserved, _lots.c.applies_to,
).where(_lots.c.account_id.in_(bindparam("account_ids", expanding=True)), _lots.c.remaining > 0)
_UPDATE_LOT_REMAINING = (
    update(_lots).where(_lots.c.id == bindparam("lot_id"))
    .values(remaining=bindparam("new_remaining"))
)
_UPDATE_BUCKET_BALANCE = (
    update(_buckets)
    .where(_buckets.c.account_id == bindparam("b_account"),
           _buckets.c.unit == bindparam("b_unit"),
           _buckets.c.list_id == bindparam("b_list"))
    .values(balance=bindparam("new_balance"))
)
_INSERT_ENTRIES = insert(JournalEntry.__table__)
_INSERT_POSTINGS = insert(Posting.__table__)
_INSERT_USAGE = insert(_usage)
_INSERT_DAY_PASSES = insert(DayPass.__table__)
_TOP_ENTRY_ID = select(func.coalesce(func.max(JournalEntry.__table__.c.id), 0))
_NEXT_ENTRY_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('journal_entries', 'id')) "
    "FROM generate_series(1, :count)"
)


@lru_cache(maxsize=64)
def _select_known(count: int):
    return select(_usage.c.account_id, _usage.c.id, _usage.c.request_hash, _usage.c.answer).where(
        tuple_(_usage.c.account_id, _usage.c.id).in_(_listed(2, count))
    )


@lru_cache(maxsize=64)
def _select_day_passes(count: int):
    table = DayPass.__table__
    return select(table.c.account_id, table.c.user_id, table.c.local_date).where(
        tuple_(table.c.account_id, table.c.user_id, table.c.local_date).in_(_listed(3, count))
    )


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

    def __init__(self, account: Account) -> None:
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

    def __init__(self, session: Session, *, now: datetime, resolver: PriceListResolver | None = None):
        self.session = session
        self.now = now
        self.resolver = resolver or PriceListResolver(session)
        self._states: dict[str, _AccountState] = {}
        self._known: dict[tuple[str, str], tuple[str, dict]] = {}
        self._passes: set[tuple[str, str, str]] = set()
        self._touched_lots: dict[int, _Lot] = {}
        self._touched_buckets: dict[tuple[str, str, str], BucketFigures] = {}
        self._entries: list[dict] = []
        self._postings: list[tuple[int, dict]] = []
        self._usage_rows: list[dict] = []
        self._pass_rows: list[dict] = []

    # --- the batch -------------------------------------------------------------------

    def record(self, events: Sequence[UsageInput]) -> list[dict | TollgateError]:
        accounts = lock_accounts(self.session, {e.account_id for e in events}, now=self.now)
        # Settling may have changed lots and buckets through the ORM: write it first.
        self.session.flush()
        self._load(accounts)
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
        rating = rate_for_account(self.resolver, account, event.ratable(), event.occurred_at)

        quantity, money = rating.quantity, rating.cost
        day_pass: dict | None = None
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
                    bucket or BucketFigures(POOL, 0, 0, unit), lots_available, money, unit  # type: ignore[arg-type]
                )

        # Everything is checked: from here on the event is paid.
        legs: list[tuple[str, str, int, int | None]] = []
        draws: list[Draw] = []
        if seconds:
            allowance_bucket = state.buckets[(SECONDS, POOL)]
            self._spend(account.id, allowance_bucket, state.lots[SECONDS], seconds * MICROS, tag,
                        legs, draws)
            legs.append((revenue_account(tag), SECONDS, seconds * MICROS, None))
        debt = money - payable
        if payable:
            assert bucket is not None
            self._spend(account.id, bucket, lots, payable, tag, legs, draws)
        if debt:
            legs.append((DEBT, unit, -debt, None))
            account.debt += debt
            account.status = "blocked"
        if money:
            legs.append((revenue_account(tag), unit, money, None))
        if legs:
            self._journal(account.id, "charge", f"usage:{event.id}", legs)

        total, reserved = state.money_totals()
        answer = answer_of(
            event_id=event.id, unit=unit, money=money, quantity=quantity,
            quantity_unit=rating.quantity_unit, draws=draws, debt=debt, total=total,
            reserved=reserved,
        )
        if day_pass is not None:
            self._passes.add((account.id, day_pass["user_id"], day_pass["local_date"]))
            self._pass_rows.append(day_pass)
        self._known[(account.id, event.id)] = (request_hash, answer)
        self._usage_rows.append(
            {
                "account_id": account.id,
                "id": event.id,
                "channel": event.channel,
                "occurred_at": event.occurred_at,
                "list_id": event.list_id,
                "user_id": event.user_id,
                "customer_id": event.customer_id,
                "direction": event.direction,
                "to": event.to,
                "quantity": quantity,
                "quantity_unit": rating.quantity_unit,
                "cost": money,
                "unit": unit,
                "allowance_used": seconds,
                "debt": debt,
                "request_hash": request_hash,
                "answer": _compact_json(answer),
                "recorded_at": now,
            }
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
        index = len(self._entries)
        self._entries.append(
            {"account_id": account_id, "kind": kind, "reference": reference, "memo": None,
             "created_at": self.now}
        )
        for ledger_account, unit, amount, lot_id in legs:
            if amount:
                self._postings.append(
                    (index, {"account_id": account_id, "ledger_account": ledger_account,
                             "unit": unit, "amount": amount, "lot_id": lot_id})
                )

    def _day_pass(self, account: Account, event: UsageInput) -> dict | None:
        """The day pass this login buys, or None when the agent has today's already."""
        if not event.user_id:
            raise InvalidRequest("an agent_login event needs a user_id", code="invalid_request")
        zone = _zone(account.timezone)
        local = event.occurred_at.astimezone(zone)
        local_date = local.date().isoformat()
        if (account.id, event.user_id, local_date) in self._passes:
            return None
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
        return {
            "account_id": account.id,
            "user_id": event.user_id,
            "local_date": local_date,
            "event_id": event.id,
            "valid_until": midnight.astimezone(_UTC),
        }

    # --- reading ---------------------------------------------------------------------

    def _load(self, accounts: dict[str, Account]) -> None:
        self._states = {account_id: _AccountState(a) for account_id, a in accounts.items()}
        ids = sorted(self._states)
        states = self._states
        # Rows are unpacked as tuples: this runs for every lot of every account in the batch.
        for start in range(0, len(ids), _CHUNK):
            chunk = {"account_ids": ids[start:start + _CHUNK]}
            for account_id, unit, list_id, balance, reserved in self.session.execute(
                _SELECT_BUCKETS, chunk
            ):
                states[account_id].buckets[(unit, list_id)] = BucketFigures(
                    list_id, balance, reserved, unit
                )
            for lot_id, account_id, unit, *rest in self.session.execute(_SELECT_OPEN_LOTS, chunk):
                states[account_id].lots[unit].append(_Lot(lot_id, unit, *rest))
        for state in self._states.values():
            for unit_lots in state.lots.values():
                unit_lots.sort(key=draw_down_key)  # type: ignore[arg-type]

    def _load_known(self, events: Sequence[UsageInput]) -> None:
        keys = sorted({(e.account_id, e.id) for e in events if e.account_id in self._states})
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            for row in self.session.execute(_select_known(len(chunk)), _listed_values(chunk)):
                self._known[(row.account_id, row.id)] = (row.request_hash, json.loads(row.answer))

    def _load_day_passes(self, events: Sequence[UsageInput]) -> None:
        logins = [e for e in events if e.channel == "agent_login" and e.user_id
                  and e.account_id in self._states]
        if not logins:
            return
        keys = set()
        for event in logins:
            zone = _zone(self._states[event.account_id].account.timezone)
            keys.add((event.account_id, event.user_id,
                      event.occurred_at.astimezone(zone).date().isoformat()))
        ordered = sorted(keys)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start:start + _CHUNK]
            for row in self.session.execute(
                _select_day_passes(len(chunk)), _listed_values(chunk)
            ):
                self._passes.add((row.account_id, row.user_id, row.local_date))

    # --- writing ---------------------------------------------------------------------

    def _write(self) -> None:
        session = self.session
        session.flush()  # account debt and status, changed on the ORM objects
        if self._touched_lots:
            session.execute(
                _UPDATE_LOT_REMAINING,
                [{"lot_id": lot.id, "new_remaining": lot.remaining}
                 for lot in self._touched_lots.values()],
            )
        if self._touched_buckets:
            session.execute(
                _UPDATE_BUCKET_BALANCE,
                [{"b_account": key[0], "b_unit": key[1], "b_list": key[2],
                  "new_balance": bucket.balance}
                 for key, bucket in self._touched_buckets.items()],
            )
        if self._entries:
            ids = self._entry_ids(len(self._entries))
            for entry_id, entry in zip(ids, self._entries, strict=True):
                entry["id"] = entry_id
            session.execute(_INSERT_ENTRIES, self._entries)
            session.execute(
                _INSERT_POSTINGS,
                [{**posting, "entry_id": ids[index]} for index, posting in self._postings],
            )
        if self._usage_rows:
            session.execute(_INSERT_USAGE, self._usage_rows)
        if self._pass_rows:
            session.execute(_INSERT_DAY_PASSES, self._pass_rows)
        # ORM copies of rows written above are stale now.
        session.expire_all()

    def _entry_ids(self, count: int) -> list[int]:
        if self.session.get_bind().dialect.name == "sqlite":
            # The transaction holds SQLite's write lock: nobody else can take ids.
            top = self.session.scalar(_TOP_ENTRY_ID)
            return list(range(top + 1, top + 1 + count))
        return list(self.session.scalars(_NEXT_ENTRY_IDS, {"count": count}))

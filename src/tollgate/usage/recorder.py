"""The usage hot path: rate a batch of events and ask the ledger to debit them.

A batch (one event for ``POST /v1/usage``, up to 1,000 for ``/usage/batch``) runs in
one transaction. The ledger (:class:`tollgate.ledger.batch.BatchLedger`) locks the
accounts in id order and loads their credit; the recorder reads the events already
recorded and the day passes already bought, then for each event: checks its replay,
refuses it for a blocked account (unless ``allow_debt``), rates it, splits a call
into plan seconds and money (:func:`tollgate.usage.calls.split_call`), and asks the
ledger to debit it. A refused event leaves no trace and never disturbs the others.
Finally the ledger writes its tables and the recorder its own (usage events, day
passes), one statement per table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tollgate.errors import Conflict, InvalidRequest, NotFound, TollgateError
from tollgate.ledger import rules
from tollgate.ledger.batch import BatchLedger, Credit, Ledger, LedgerAccount, spendable_now
from tollgate.rating.rater import Rating
from tollgate.rating.service import PriceListResolver
from tollgate.rawsql import RawSQL
from tollgate.usage.calls import MICROS, SECONDS, split_call
from tollgate.usage.service import (
    UsageInput,
    answer_of_with_json,
    rate_for_account,
    spending_tag,
)

_UTC = ZoneInfo("UTC")
# ZoneInfo keeps only a few zones alive by itself: with accounts in many zones it
# would read them from disk again and again.
_zone = lru_cache(maxsize=1024)(ZoneInfo)

_SELECT_KNOWN = (
    "SELECT u.account_id, u.id, u.request_hash, u.answer FROM ({keys}) AS k "
    "JOIN usage_events u ON u.account_id = k.column1 AND u.id = k.column2"
)
_SELECT_DAY_PASSES = (
    "SELECT d.account_id, d.user_id, d.local_date FROM ({keys}) AS k JOIN day_passes d "
    "ON d.account_id = k.column1 AND d.user_id = k.column2 AND d.local_date = k.column3"
)
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

Answer = dict[str, object]


class UsageRecorder:
    """Records usage events for one transaction. Use once: ``record`` then done.

    ``ledger`` debits them: by default a :class:`BatchLedger` (through the driver);
    a :class:`~tollgate.ledger.batch.SessionLedger` gives the same results through
    the ORM.
    """

    def __init__(
        self,
        session: Session,
        *,
        now: datetime,
        resolver: PriceListResolver | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.session = session
        self.now = now
        self.resolver = resolver or PriceListResolver(session)
        self.ledger: Ledger = ledger or BatchLedger(session, now=now)
        self._credits: dict[str, Credit] = {}
        self._known: dict[tuple[str, str], tuple[str, Answer]] = {}
        self._passes: set[tuple[str, str, str]] = set()
        self._usage_rows: list[tuple[object, ...]] = []
        self._pass_rows: list[tuple[object, ...]] = []

    def record(self, events: Sequence[UsageInput]) -> list[Answer | TollgateError]:
        # Loading flushes the session: the driver-level reads below see what came before.
        self._credits = self.ledger.load({e.account_id for e in events})
        # One cursor for the whole batch when the ledger already has one.
        ledger = self.ledger
        self._sql = ledger.sql if isinstance(ledger, BatchLedger) else RawSQL(self.session)
        self._now_stored = self._sql.instant(self.now)
        self._load_known(events)
        self._load_day_passes(events)
        results: list[Answer | TollgateError] = []
        for event in events:
            try:
                results.append(self._record_one(event))
            except TollgateError as exc:
                results.append(exc)
        self.ledger.write()
        self._sql.insert("usage_events", _USAGE_COLUMNS, self._usage_rows)
        self._sql.insert("day_passes", _DAY_PASS_COLUMNS, self._pass_rows)
        return results

    def _record_one(self, event: UsageInput) -> Answer:
        credit = self._credits.get(event.account_id)
        if credit is None:
            raise NotFound(f"account {event.account_id!r} does not exist", code="account_not_found")
        account = credit.account
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
            rules.refuse_if_blocked(account)
        rating, quantity, seconds, money, day_pass = self._price(credit, event)
        takes = usage_takes(credit, event.list_id, seconds, money)
        outcome = self.ledger.debit(
            credit,
            takes,
            tag=spending_tag(event.channel),
            allow_debt=event.allow_debt,
            kind="charge",
            reference=f"usage:{event.id}",
        )

        # The event is paid: from here on nothing may refuse it.
        total, reserved = credit.money_totals()
        debt = outcome.debt_added
        answer, answer_json = answer_of_with_json(
            event_id=event.id,
            unit=account.unit,
            money=money,
            quantity=quantity,
            quantity_unit=rating.quantity_unit,
            draws=outcome.draws,
            debt=debt,
            total=total,
            reserved=reserved,
        )
        if day_pass is not None:
            self._passes.add((account.id, str(day_pass[1]), str(day_pass[2])))
            self._pass_rows.append(day_pass)
        self._known[(account.id, event.id)] = (request_hash, answer)
        row = self._usage_row(event, rating, quantity, money, seconds, debt, request_hash)
        self._usage_rows.append((*row, answer_json, self._now_stored))
        return answer

    def _price(
        self, credit: Credit, event: UsageInput
    ) -> tuple[Rating, int, int, int, tuple[object, ...] | None]:
        """Rate the event for this account: (rating, billed quantity, plan seconds,
        money, the day pass it buys)."""
        account = credit.account
        rating = rate_for_account(self.resolver, account, event, event.occurred_at)
        quantity, money, seconds = rating.quantity, rating.cost, 0
        day_pass: tuple[object, ...] | None = None
        if event.channel == "agent_login":
            day_pass = self._day_pass(account, event)
            if day_pass is None:
                quantity, money = 0, 0
        if event.channel == "voice":
            tag = spending_tag(event.channel)
            allowance = spendable_now(credit, SECONDS, None, tag, self.now) // MICROS
            seconds, money = split_call(
                rating.billed_units, allowance, rating.row, rating.connect_fee
            )
        return rating, quantity, seconds, money, day_pass

    def _usage_row(
        self,
        event: UsageInput,
        rating: Rating,
        quantity: int,
        money: int,
        seconds: int,
        debt: int,
        request_hash: str,
    ) -> tuple[object, ...]:
        """The ``usage_events`` row of a paid event, but its answer and ``recorded_at``."""
        return (
            event.account_id,
            event.id,
            event.channel,
            self._sql.instant(event.occurred_at),
            event.list_id,
            event.user_id,
            event.customer_id,
            event.direction,
            event.to,
            quantity,
            rating.quantity_unit,
            money,
            rating.unit,
            seconds,
            debt,
            request_hash,
        )

    def _day_pass(self, account: LedgerAccount, event: UsageInput) -> tuple[object, ...] | None:
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
        valid_until = self._sql.instant(midnight.astimezone(_UTC))
        return (account.id, event.user_id, local_date, event.id, valid_until)

    def _load_known(self, events: Sequence[UsageInput]) -> None:
        keys = sorted({(e.account_id, e.id) for e in events if e.account_id in self._credits})
        for account_id, event_id, request_hash, answer in self._sql.select_in(
            _SELECT_KNOWN, keys, width=2
        ):
            self._known[(account_id, event_id)] = (request_hash, json.loads(answer))

    def _load_day_passes(self, events: Sequence[UsageInput]) -> None:
        keys = set()
        for event in events:
            credit = self._credits.get(event.account_id)
            if event.channel == "agent_login" and event.user_id and credit is not None:
                zone = _zone(credit.account.timezone)
                local_date = event.occurred_at.astimezone(zone).date().isoformat()
                keys.add((event.account_id, event.user_id, local_date))
        if keys:
            for account_id, user_id, local_date in self._sql.select_in(
                _SELECT_DAY_PASSES, sorted(keys), width=3
            ):
                self._passes.add((account_id, user_id, local_date))


def usage_takes(credit: Credit, list_id: str | None, seconds: int, money: int) -> list[rules.Take]:
    """What an event takes from the account: plan seconds from the pool, then money
    from the list's allocation or the pool."""
    takes = []
    if seconds:
        takes.append(
            rules.Take(
                SECONDS, seconds * MICROS, credit.bucket(SECONDS, None), credit.lots(SECONDS)
            )
        )
    if money:
        unit = credit.account.unit
        takes.append(rules.Take(unit, money, credit.bucket(unit, list_id), credit.lots(unit)))
    return takes

"""Many debits in one transaction: the ledger side of the usage hot path.

A :class:`BatchLedger` locks the accounts of a batch in id order, catches up on
what fell due (through the ORM, :func:`tollgate.ledger.expiry.lock_accounts`: rare),
reads their buckets and open lots in a handful of statements, applies each debit
in memory with the ledger's own rules (:func:`tollgate.ledger.rules.debit`), and
writes every change back with one statement per table. Reads and writes go
straight to the driver (:mod:`tollgate.rawsql`) inside the session's transaction:
the session is flushed first and its objects expired after, so ORM code before or
after in the same transaction sees the same data.

:class:`tollgate.ledger.session.SessionLedger` offers the same interface over the
ORM's rows, one change at a time: :func:`tollgate.ledger.charge` debits through it,
and the tests feed the same events through both and require identical postings,
lots, buckets and debts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy.orm import Session

from tollgate.ledger import hooks, rules
from tollgate.ledger.expiry import lock_accounts
from tollgate.ledger.rules import BucketRow, Debit, LotRow, Take
from tollgate.rawsql import RawSQL

# The ledger tables' statements and columns, written once.
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


class AccountRecord:
    """The figures of a locked account the batch reads and may change."""

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

    def __init__(
        self,
        id: str,
        unit: str,
        timezone: str,
        price_list_id: str,
        status: str,
        debt: int,
        next_due_at: object,
    ) -> None:
        self.id = id
        self.unit = unit
        self.timezone = timezone
        self.price_list_id = price_list_id
        self.status = status
        self.debt = debt
        self.next_due_at = next_due_at
        self.changed = False


@dataclass(slots=True)
class LotRecord:
    id: int
    unit: str
    priority: int
    expires_at: datetime | None
    created_at: datetime
    remaining: int
    reserved: int
    applies_to: str | None


@dataclass(slots=True)
class BucketRecord:
    list_id: str
    balance: int
    reserved: int
    unit: str


class LedgerAccount(Protocol):
    """What usage reads of a locked account: the ledger's figures and its settings."""

    id: str
    unit: str
    timezone: str
    price_list_id: str
    status: str
    debt: int


class Credit(Protocol):
    """One locked account's credit, as a ledger path holds it for its debits."""

    @property
    def account(self) -> LedgerAccount: ...

    def bucket(self, unit: str, list_id: str | None) -> BucketRow | None: ...

    def lots(self, unit: str) -> Sequence[LotRow]: ...

    def money_totals(self) -> tuple[int, int]: ...


def spendable_now(
    credit: Credit, unit: str, list_id: str | None, tag: str | None, now: datetime
) -> int:
    """What a debit of ``unit`` for ``list_id`` and ``tag`` could spend now."""
    return rules.available(credit.bucket(unit, list_id), credit.lots(unit), tag, now)


class Ledger(Protocol):
    """A way of debiting many accounts in one transaction (:class:`BatchLedger`,
    :class:`~tollgate.ledger.session.SessionLedger`)."""

    def load(self, account_ids: Iterable[str]) -> dict[str, Credit]: ...

    def debit(
        self,
        credit: Credit,
        takes: Sequence[Take],
        *,
        tag: str | None,
        allow_debt: bool,
        kind: str,
        reference: str | None,
    ) -> Debit: ...

    def write(self) -> None: ...


# --- through the driver -------------------------------------------------------------


class BatchCredit:
    """One account's credit, loaded for the batch and changed in memory."""

    __slots__ = ("_account", "before", "buckets", "lots_by_unit")

    def __init__(self, account: AccountRecord) -> None:
        self._account = account
        self.buckets: dict[tuple[str, str], BucketRecord] = {}
        self.lots_by_unit: dict[str, list[LotRecord]] = defaultdict(list)
        self.before: hooks.CreditFigures | None = None

    @property
    def account(self) -> AccountRecord:
        return self._account

    def bucket(self, unit: str, list_id: str | None) -> BucketRecord | None:
        return rules.paying_bucket(self._account, unit, list_id, self._find)

    def _find(self, unit: str, list_id: str) -> BucketRecord | None:
        return self.buckets.get((unit, list_id))

    def lots(self, unit: str) -> list[LotRecord]:
        return self.lots_by_unit.get(unit, [])

    def money_totals(self) -> tuple[int, int]:
        unit = self._account.unit
        total = reserved = 0
        for (bucket_unit, _), bucket in self.buckets.items():
            if bucket_unit == unit:
                total += bucket.balance
                reserved += bucket.reserved
        return total, reserved

    def figures(self) -> hooks.CreditFigures:
        total, reserved = self.money_totals()
        return hooks.CreditFigures(self._account.status, self._account.debt, total, reserved)


class BatchLedger:
    """Debits for one transaction, through the driver. Use once: load, debit…, write."""

    def __init__(self, session: Session, *, now: datetime) -> None:
        # The driver-level reads below must see what the session changed before.
        session.flush()
        self.session = session
        self.now = now
        self.sql = RawSQL(session)
        self.now_stored = self.sql.instant(now)
        self._credits: dict[str, BatchCredit] = {}
        self._touched_lots: dict[int, LotRecord] = {}
        self._touched_buckets: dict[tuple[str, str, str], BucketRecord] = {}
        self._debited: dict[str, BatchCredit] = {}
        self._entries: list[tuple[str, str, str | None, None]] = []
        self._postings: list[tuple[int, str, str, str, int, int | None]] = []

    def load(self, account_ids: Iterable[str]) -> dict[str, Credit]:
        """Lock the accounts (in id order), catch up on due expiry, read their credit."""
        sql = self.sql
        ids = sorted(set(account_ids))
        lock = _SELECT_ACCOUNTS if sql.sqlite else _SELECT_ACCOUNTS + " FOR UPDATE"
        accounts = {row[0]: AccountRecord(*row) for row in sql.select_in(lock, ids)}
        now = self.now
        due = [a.id for a in accounts.values() if _falls_due(sql.read_instant(a.next_due_at), now)]
        if due:
            # Rare: lots expire or reservations lapse first, by the ledger's own rules.
            lock_accounts(self.session, due, now=now)
            self.session.flush()
            for row in sql.select_in(_SELECT_ACCOUNTS, due):
                accounts[row[0]] = AccountRecord(*row)
        credits = self._credits = {key: BatchCredit(a) for key, a in accounts.items()}
        for account_id, unit, list_id, balance, reserved in sql.select_in(_SELECT_BUCKETS, ids):
            credits[account_id].buckets[(unit, list_id)] = BucketRecord(
                list_id, balance, reserved, unit
            )
        instant = sql.read_instant
        for row in sql.select_in(_SELECT_OPEN_LOTS, ids):
            lot_id, account_id, unit, priority, expires_at, created_at, *rest = row
            credits[account_id].lots_by_unit[unit].append(
                LotRecord(
                    lot_id, unit, priority, instant(expires_at), _known(instant(created_at)), *rest
                )
            )
        listening = hooks.listening()
        for credit in credits.values():
            for unit_lots in credit.lots_by_unit.values():
                unit_lots.sort(key=rules.draw_down_key)
            if listening:
                credit.before = credit.figures()
        return dict(credits)

    def debit(
        self,
        credit: Credit,
        takes: Sequence[Take],
        *,
        tag: str | None,
        allow_debt: bool,
        kind: str,
        reference: str | None,
    ) -> Debit:
        assert isinstance(credit, BatchCredit)
        account = credit.account
        debt_before = account.debt
        outcome = rules.debit(account, takes, tag=tag, now=self.now, allow_debt=allow_debt)
        if account.debt != debt_before:
            account.changed = True
        # The takes' buckets and lots are this batch's records (BatchCredit's own).
        touched_buckets = self._touched_buckets
        for take in takes:
            bucket = take.bucket
            if bucket is not None:
                touched_buckets[(account.id, bucket.unit, bucket.list_id)] = cast(
                    BucketRecord, bucket
                )
        touched_lots = self._touched_lots
        for lot in outcome.drawn:
            touched_lots[lot.id] = cast(LotRecord, lot)
        if outcome.legs:
            index = len(self._entries)
            self._entries.append((account.id, kind, reference, None))
            self._postings.extend(
                (index, account.id, ledger_account, unit, amount, lot_id)
                for ledger_account, unit, amount, lot_id in outcome.legs
                if amount
            )
            self._debited[account.id] = credit
        return outcome

    def write(self) -> None:
        """Write every change, one statement per table, then tell the after-debit hooks."""
        sql = self.sql
        sql.update(
            "accounts",
            _ACCOUNT_CHANGES,
            1,
            [
                (c.account.debt, c.account.status, c.account.id)
                for c in self._credits.values()
                if c.account.changed
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
        ids = allocate_entry_ids(sql, len(self._entries))
        now = self.now_stored
        sql.insert(
            "journal_entries",
            _ENTRY_COLUMNS,
            [(ids[i], *entry, now) for i, entry in enumerate(self._entries)],
        )
        sql.insert("postings", _POSTING_COLUMNS, [(ids[p[0]], *p[1:]) for p in self._postings])
        # ORM copies of rows written above (if any were loaded) are stale now.
        self.session.expire_all()
        for credit in self._debited.values():
            if credit.before is not None:
                after = credit.figures()
                hooks.debited(
                    self.session,
                    hooks.Debited(credit.account.id, credit.account.unit, credit.before, after),
                )


def _falls_due(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment <= now


def _known(moment: datetime | None) -> datetime:
    assert moment is not None, "a NOT NULL column"
    return moment


def allocate_entry_ids(sql: RawSQL, count: int) -> list[int]:
    """Ids for ``count`` new journal entries, in order."""
    if not count:
        return []
    if sql.sqlite:
        # The transaction holds SQLite's write lock: nobody else can take ids.
        ((top,),) = sql.select(_TOP_ENTRY_ID)
        return list(range(top + 1, top + 1 + count))
    return [row[0] for row in sql.select(_NEXT_ENTRY_IDS, (count,))]


__all__ = [
    "BatchLedger",
    "Credit",
    "Ledger",
    "allocate_entry_ids",
    "spendable_now",
]

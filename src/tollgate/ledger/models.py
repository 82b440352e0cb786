"""The ledger's tables: accounts, lots, buckets, reservations and the journal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tollgate.db import Base, BigIntPK, UTCDateTime
from tollgate.ledger.rules import POOL, bucket_ledger_account

__all__ = [
    "ACCOUNT_STATUSES",
    "LOT_SOURCES",
    "POOL",
    "RESERVATION_STATUSES",
    "Account",
    "Bucket",
    "JournalEntry",
    "Lot",
    "Posting",
    "Reservation",
    "ReservationHold",
    "bucket_ledger_account",
]

ACCOUNT_STATUSES = ("active", "blocked", "closed")


class Account(Base):
    """A customer of the operator. The ledger locks it for every change of credit and
    keeps its ``status`` and ``debt``; :mod:`tollgate.accounts` creates and edits it."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("debt >= 0", name="ck_accounts_debt_non_negative"),
        CheckConstraint("status IN ('active', 'blocked', 'closed')", name="ck_accounts_status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(12))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    price_list_id: Mapped[str] = mapped_column(String(64), default="default")
    status: Mapped[str] = mapped_column(String(16), default="active")
    debt: Mapped[int] = mapped_column(BigInteger, default=0)
    # The earliest instant at which a lot of this account expires or one of its
    # reservations lapses: lets every operation catch up on due expiry with one
    # comparison instead of a query.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


LOT_SOURCES = ("purchase", "auto_recharge", "grant", "plan_allowance", "bundle", "refund")
RESERVATION_STATUSES = ("held", "captured", "released", "lapsed")


class Lot(Base):
    """A piece of credit that entered an account, tracked until spent or expired."""

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_lots_amount_positive"),
        CheckConstraint("remaining >= 0", name="ck_lots_remaining_non_negative"),
        CheckConstraint("reserved >= 0", name="ck_lots_reserved_non_negative"),
        CheckConstraint("reserved <= remaining", name="ck_lots_reserved_within_remaining"),
        CheckConstraint("remaining <= amount", name="ck_lots_remaining_within_amount"),
        Index(
            "ix_lots_open",
            "account_id",
            "unit",
            sqlite_where=text("remaining > 0"),
            postgresql_where=text("remaining > 0"),
        ),
        Index(
            "ix_lots_expiring",
            "expires_at",
            sqlite_where=text("remaining > 0 AND expired_at IS NULL"),
            postgresql_where=text("remaining > 0 AND expired_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    unit: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    # Comma-separated tags (channels) this lot may pay for; NULL means anything.
    applies_to: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def available(self) -> int:
        return self.remaining - self.reserved

    @property
    def applies_to_list(self) -> list[str] | None:
        return self.applies_to.split(",") if self.applies_to else None


class Bucket(Base):
    """Who may spend credit: the unassigned pool ('') or one list's allocation."""

    __tablename__ = "buckets"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="ck_buckets_balance_non_negative"),
        CheckConstraint("reserved >= 0", name="ck_buckets_reserved_non_negative"),
        CheckConstraint("reserved <= balance", name="ck_buckets_reserved_within_balance"),
    )

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(12), primary_key=True)
    list_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)

    @property
    def available(self) -> int:
        return self.balance - self.reserved

    @property
    def ledger_account(self) -> str:
        return bucket_ledger_account(self.list_id)


class Reservation(Base):
    """Credit held for a send or a call in progress (a two-phase transfer)."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_reservations_amount_positive"),
        CheckConstraint("held >= 0", name="ck_reservations_held_non_negative"),
        Index(
            "ix_reservations_lapsing",
            "expires_at",
            sqlite_where=text("status = 'held'"),
            postgresql_where=text("status = 'held'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    unit: Mapped[str] = mapped_column(String(12))
    list_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # The bucket that holds (and will pay) it: the list's allocation or the pool.
    bucket_list_id: Mapped[str] = mapped_column(String(128))
    tag: Mapped[str | None] = mapped_column(String(40), nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    held: Mapped[int] = mapped_column(BigInteger)
    captured: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="held")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReservationHold(Base):
    """How much of one lot a reservation holds."""

    __tablename__ = "reservation_holds"
    __table_args__ = (CheckConstraint("amount >= 0", name="ck_holds_amount_non_negative"),)

    reservation_id: Mapped[str] = mapped_column(ForeignKey("reservations.id"), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)


class JournalEntry(Base):
    """One movement of credit. Append-only: a correction is a new entry."""

    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_entries_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(128), nullable=True)
    memo: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Posting(Base):
    """One leg of a journal entry; the legs of an entry sum to zero per unit.

    ``amount`` is signed micros from the point of view of ``ledger_account``: a
    customer bucket (``pool``, ``list:<id>``) or ``debt`` goes up with positive
    amounts; system accounts (``system:…``) are the other side.
    """

    __tablename__ = "postings"
    # Only ``entry_id`` is indexed: postings are read through their entry (an account's
    # through ``ix_journal_entries_account``), and every further index is paid for on the
    # hot path's inserts. ``account_id`` and ``lot_id`` need none for their foreign keys
    # either: accounts and lots are never deleted, nor their ids changed.
    __table_args__ = (Index("ix_postings_entry", "entry_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    ledger_account: Mapped[str] = mapped_column(String(160))
    unit: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), nullable=True)

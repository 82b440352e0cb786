from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tollgate.db import Base, UTCDateTime


class UsageEvent(Base):
    """One rated and paid event, keyed by the operator's own event id."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_occurred", "account_id", "occurred_at"),)

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    list_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    customer_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    direction: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to: Mapped[str | None] = mapped_column(String(32), nullable=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    quantity_unit: Mapped[str] = mapped_column(String(16))
    # Money charged, in the account's unit, and allowance units used (e.g. seconds).
    cost: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(12))
    allowance_used: Mapped[int] = mapped_column(BigInteger, default=0)
    debt: Mapped[int] = mapped_column(BigInteger, default=0)
    request_hash: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DayPass(Base):
    """An agent's day pass: bought by the first login of a local calendar day."""

    __tablename__ = "day_passes"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    local_date: Mapped[str] = mapped_column(String(10), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128))
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)


class Authorization(Base):
    """Online charging of one call: reserved slices of call time until capture."""

    __tablename__ = "authorizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    to: Mapped[str] = mapped_column(String(32))
    list_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    granted_seconds: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    usage_event_id: Mapped[str | None] = mapped_column(String(128), nullable=True)


class AuthorizationSlice(Base):
    """A reservation taken for an authorization (one per slice and unit)."""

    __tablename__ = "authorization_slices"

    authorization_id: Mapped[str] = mapped_column(ForeignKey("authorizations.id"), primary_key=True)
    reservation_id: Mapped[str] = mapped_column(ForeignKey("reservations.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)

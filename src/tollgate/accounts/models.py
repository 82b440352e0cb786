from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from tollgate.db import Base, UTCDateTime

ACCOUNT_STATUSES = ("active", "blocked", "closed")


class Account(Base):
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

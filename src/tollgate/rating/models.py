"""Tables of price lists: immutable versions and their rows.

Price lists belong to the operator, so these tables carry no ``account_id``. A
version is never changed once written; a new price list is a new version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tollgate.db import Base, BigIntPK, UTCDateTime


class PriceListVersion(Base):
    """One version of a price list, in force from ``effective_from`` on."""

    __tablename__ = "price_list_versions"
    __table_args__ = (
        UniqueConstraint("price_list_id", "version", name="uq_price_list_versions_version"),
        Index("ix_price_list_versions_in_force", "price_list_id", "effective_from"),
        CheckConstraint("version > 0", name="ck_price_list_versions_version_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    price_list_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(12))
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    row_count: Mapped[int] = mapped_column(Integer)
    # SHA-256 of the unit and the rows: lets a process cache versions by content,
    # and makes a repeated identical PUT a no-op.
    digest: Mapped[str] = mapped_column(String(64))


class PriceListRow(Base):
    """One price: which events it matches and what they cost."""

    __tablename__ = "price_list_rows"
    __table_args__ = (
        CheckConstraint("price >= 0", name="ck_price_list_rows_price_non_negative"),
        CheckConstraint("per > 0", name="ck_price_list_rows_per_positive"),
        CheckConstraint("connect_fee >= 0", name="ck_price_list_rows_connect_fee_non_negative"),
        Index("ix_price_list_rows_version", "version_id", "position"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("price_list_versions.id"))
    position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(24))
    direction: Mapped[str] = mapped_column(String(8))
    destination: Mapped[str] = mapped_column(String(16))
    number_type: Mapped[str] = mapped_column(String(24))
    category: Mapped[str] = mapped_column(String(24))
    price: Mapped[int] = mapped_column(BigInteger)
    per: Mapped[int] = mapped_column(Integer)
    increment_first: Mapped[int | None] = mapped_column(Integer, nullable=True)
    increment_next: Mapped[int | None] = mapped_column(Integer, nullable=True)
    connect_fee: Mapped[int] = mapped_column(BigInteger, default=0)

"""Every query on price lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from tollgate.rating.models import PriceListRow, PriceListVersion
from tollgate.rating.rater import PriceRow
from tollgate.rawsql import RawSQL

# A price_list_versions row as the driver returns it, instants not yet read (see
# :func:`read_instant`): id, price_list_id, version, unit, effective_from,
# created_at, row_count, digest. The resolver keys the timelines it builds by them.
VersionRow = tuple[Any, ...]

_SELECT_VERSIONS = (
    "SELECT id, price_list_id, version, unit, effective_from, created_at, row_count, digest "
    "FROM price_list_versions WHERE price_list_id = ? ORDER BY version"
)


def version_in_force(session: Session, price_list_id: str, at: datetime) -> PriceListVersion | None:
    """The version whose ``effective_from`` is the latest not after ``at`` (newest on a tie)."""
    return session.scalars(
        select(PriceListVersion)
        .where(
            PriceListVersion.price_list_id == price_list_id,
            PriceListVersion.effective_from <= at,
        )
        .order_by(PriceListVersion.effective_from.desc(), PriceListVersion.version.desc())
        .limit(1)
    ).first()


def versions_of(session: Session, price_list_id: str) -> list[PriceListVersion]:
    return list(
        session.scalars(
            select(PriceListVersion)
            .where(PriceListVersion.price_list_id == price_list_id)
            .order_by(PriceListVersion.version)
        )
    )


def version_rows(session: Session, price_list_id: str) -> tuple[VersionRow, ...]:
    """Every version of a price list by version number, straight from the driver: the
    resolver reads them in every transaction that rates, so they skip the ORM."""
    raw = RawSQL(session)
    return tuple(map(tuple, raw.select(_SELECT_VERSIONS, (price_list_id,))))


def read_instant(value: object) -> datetime:
    """An instant of a :data:`VersionRow` as an aware datetime (the columns are NOT NULL)."""
    instant = RawSQL.read_instant(value)
    if instant is None:
        raise ValueError("price_list_versions holds no NULL instant")
    return instant


def first_effective_from(session: Session, price_list_id: str) -> datetime | None:
    """When the first version of a price list takes effect; None if it has none."""
    return session.scalar(
        select(func.min(PriceListVersion.effective_from)).where(
            PriceListVersion.price_list_id == price_list_id
        )
    )


def lock_price_list(session: Session, price_list_id: str) -> None:
    """Serialize writers of one price list (SQLite already holds its write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"price_list:{price_list_id}"},
        )


def get_version(session: Session, price_list_id: str, version: int) -> PriceListVersion | None:
    return session.scalars(
        select(PriceListVersion).where(
            PriceListVersion.price_list_id == price_list_id,
            PriceListVersion.version == version,
        )
    ).first()


def latest_version(session: Session, price_list_id: str) -> PriceListVersion | None:
    return session.scalars(
        select(PriceListVersion)
        .where(PriceListVersion.price_list_id == price_list_id)
        .order_by(PriceListVersion.version.desc())
        .limit(1)
    ).first()


def price_list_summaries(session: Session) -> list[tuple[str, int]]:
    """Every price list id with its number of versions."""
    return [
        (price_list_id, count)
        for price_list_id, count in session.execute(
            select(PriceListVersion.price_list_id, func.count())
            .group_by(PriceListVersion.price_list_id)
            .order_by(PriceListVersion.price_list_id)
        )
    ]


def rows_of(session: Session, version_id: int) -> list[PriceRow]:
    result = session.execute(
        select(
            PriceListRow.channel,
            PriceListRow.direction,
            PriceListRow.destination,
            PriceListRow.number_type,
            PriceListRow.category,
            PriceListRow.price,
            PriceListRow.per,
            PriceListRow.increment_first,
            PriceListRow.increment_next,
            PriceListRow.connect_fee,
        )
        .where(PriceListRow.version_id == version_id)
        .order_by(PriceListRow.position)
    )
    # Named one by one: SQLAlchemy types a ten-column select as open-ended.
    return [
        PriceRow(
            channel, direction, destination, number_type, category, price, per, first, step, fee
        )
        for (
            channel,
            direction,
            destination,
            number_type,
            category,
            price,
            per,
            first,
            step,
            fee,
        ) in result
    ]


def add_version(
    session: Session,
    *,
    price_list_id: str,
    version: int,
    unit: str,
    effective_from: datetime,
    created_at: datetime,
    digest: str,
    rows: Sequence[PriceRow],
) -> PriceListVersion:
    record = PriceListVersion(
        price_list_id=price_list_id,
        version=version,
        unit=unit,
        effective_from=effective_from,
        created_at=created_at,
        row_count=len(rows),
        digest=digest,
    )
    session.add(record)
    session.flush()
    session.execute(
        insert(PriceListRow),
        [
            {
                "version_id": record.id,
                "position": position,
                "channel": row.channel,
                "direction": row.direction,
                "destination": row.destination,
                "number_type": row.number_type,
                "category": row.category,
                "price": row.price,
                "per": row.per,
                "increment_first": row.increment_first,
                "increment_next": row.increment_next,
                "connect_fee": row.connect_fee,
            }
            for position, row in enumerate(rows)
        ],
    )
    return record

"""Every query on price lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tollgate.rating.models import PriceListRow, PriceListVersion
from tollgate.rating.rater import PriceRow


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
    return [PriceRow(*values) for values in result]


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

"""Price lists: validating rows, writing versions, finding the version in force.

Writing a new version (``PUT``, CSV import) and reading versions back. The parts
live by role: :mod:`~tollgate.rating.rows` validates rows,
:mod:`~tollgate.rating.resolver` finds the version in force and caches loaded
versions, :mod:`~tollgate.rating.repository` holds every query. Their public names
are re-exported here for the importers that have always found them in this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tollgate.clock import ensure_utc
from tollgate.errors import Conflict, NotFound
from tollgate.rating import repository
from tollgate.rating.rater import PriceRow, RateCard

# Re-exported: usage/ and api/ import these from here.
from tollgate.rating.resolver import PriceListResolver as PriceListResolver
from tollgate.rating.resolver import VersionHeader as VersionHeader
from tollgate.rating.resolver import (
    cache_card,
    load_card,
    missing_version,
)
from tollgate.rating.rows import MAX_ROWS as MAX_ROWS
from tollgate.rating.rows import check_price_list_id as check_price_list_id
from tollgate.rating.rows import check_unit, digest_of, parse_rows


@dataclass(frozen=True, slots=True)
class StoredVersion:
    header: VersionHeader
    card: RateCard


def put_price_list(
    session: Session,
    price_list_id: str,
    *,
    unit: str,
    rows: Sequence[Mapping[str, object]] | Sequence[PriceRow],
    now: datetime,
    effective_from: datetime | None = None,
) -> tuple[StoredVersion, bool]:
    """Store a new version of a price list; answers it and whether it is new.

    Older versions stay, and still rate events dated before ``effective_from``
    (default: now). Putting exactly the latest version again changes nothing.
    """
    check_price_list_id(price_list_id)
    check_unit(unit)
    parsed = _price_rows(rows)
    digest = digest_of(unit, parsed)
    repository.lock_price_list(session, price_list_id)
    latest = repository.latest_version(session, price_list_id)
    if latest is not None and latest.digest == digest:
        same_start = (
            latest.effective_from <= now
            if effective_from is None
            else latest.effective_from == ensure_utc(effective_from)
        )
        if same_start:
            header = VersionHeader.of(latest)
            return StoredVersion(header, load_card(session, header)), False
    start = now if effective_from is None else ensure_utc(effective_from)
    try:
        record = repository.add_version(
            session,
            price_list_id=price_list_id,
            version=(latest.version + 1) if latest else 1,
            unit=unit,
            effective_from=start,
            created_at=now,
            digest=digest,
            rows=parsed,
        )
    except IntegrityError as exc:  # a concurrent PUT took the same version number
        raise Conflict(
            f"price list {price_list_id!r} was changed at the same time; send it again",
            code="price_list_conflict",
        ) from exc
    header = VersionHeader.of(record)
    card = RateCard(
        price_list_id=price_list_id,
        version=record.version,
        unit=unit,
        effective_from=start,
        rows=tuple(parsed),
    )
    cache_card(header, card)
    return StoredVersion(header, card), True


def _price_rows(rows: Sequence[Mapping[str, object]] | Sequence[PriceRow]) -> list[PriceRow]:
    """Rows already validated (:class:`PriceRow`, as CSV import gives them) as they are;
    rows as field → value validated by :func:`~tollgate.rating.rows.parse_rows`."""
    parsed = [row for row in rows if isinstance(row, PriceRow)]
    if rows and len(parsed) == len(rows):
        return parsed
    raw = [row for row in rows if not isinstance(row, PriceRow)]
    if len(raw) != len(rows):
        raise TypeError("price list rows are either all PriceRow or all field → value mappings")
    return parse_rows(raw)


def get_price_list(session: Session, price_list_id: str, *, at: datetime) -> StoredVersion:
    """The version in force at ``at``; 404 if there is none."""
    check_price_list_id(price_list_id)
    record = repository.version_in_force(session, price_list_id, ensure_utc(at))
    if record is None:
        raise missing_version(session, price_list_id, at, not_found=True)
    header = VersionHeader.of(record)
    return StoredVersion(header, load_card(session, header))


def get_version(session: Session, price_list_id: str, version: int) -> StoredVersion:
    check_price_list_id(price_list_id)
    record = repository.get_version(session, price_list_id, version)
    if record is None:
        raise NotFound(
            f"price list {price_list_id!r} has no version {version}",
            code="price_list_version_not_found",
        )
    header = VersionHeader.of(record)
    return StoredVersion(header, load_card(session, header))


def list_versions(session: Session, price_list_id: str) -> list[VersionHeader]:
    check_price_list_id(price_list_id)
    headers = [VersionHeader.of(r) for r in repository.versions_of(session, price_list_id)]
    if not headers:
        raise NotFound(
            f"price list {price_list_id!r} does not exist; create it with "
            f"PUT /v1/price-lists/{price_list_id}",
            code="price_list_not_found",
        )
    return headers


def latest_header(session: Session, price_list_id: str) -> VersionHeader | None:
    record = repository.latest_version(session, price_list_id)
    return None if record is None else VersionHeader.of(record)


def list_price_lists(session: Session) -> list[tuple[str, int]]:
    return repository.price_list_summaries(session)

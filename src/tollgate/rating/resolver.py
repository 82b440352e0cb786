"""Finding the price list version in force, and keeping loaded versions in memory.

Versions are immutable, so a process keeps the ones it has loaded (indexed as
:class:`RateCard`) in memory, keyed by price list, version, ``effective_from`` and
content digest (so that no two databases, or a database wiped and refilled, can
ever share a stale entry): the only query left on the hot path is the small one
that finds which version is in force, and a :class:`PriceListResolver` does that
once per price list and transaction.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tollgate.clock import ensure_utc, format_instant
from tollgate.errors import InvalidRequest, NotFound
from tollgate.rating import repository
from tollgate.rating.models import PriceListVersion
from tollgate.rating.rater import Ratable, RateCard, Rating, rate, unratable

# --- the cache of loaded versions ----------------------------------------------------------


# (price list id, version, effective_from, digest): a version's identity and content.
CacheKey = tuple[str, int, datetime, str]


class _CardCache:
    """Loaded versions, by identity and content. Bounded, thread-safe."""

    def __init__(self, capacity: int = 512) -> None:
        self._cards: OrderedDict[CacheKey, RateCard] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: CacheKey) -> RateCard | None:
        with self._lock:
            card = self._cards.get(key)
            if card is not None:
                self._cards.move_to_end(key)
            return card

    def put(self, key: CacheKey, card: RateCard) -> None:
        with self._lock:
            self._cards[key] = card
            self._cards.move_to_end(key)
            while len(self._cards) > self._capacity:
                self._cards.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._cards.clear()


_cache = _CardCache()


@dataclass(frozen=True, slots=True)
class VersionHeader:
    """A version without its rows: enough to decide which one is in force."""

    id: int
    price_list_id: str
    version: int
    unit: str
    effective_from: datetime
    created_at: datetime
    row_count: int
    digest: str

    @classmethod
    def of(cls, record: PriceListVersion) -> VersionHeader:
        return cls(
            record.id,
            record.price_list_id,
            record.version,
            record.unit,
            record.effective_from,
            record.created_at,
            record.row_count,
            record.digest,
        )


def _key(header: VersionHeader) -> CacheKey:
    return (header.price_list_id, header.version, header.effective_from, header.digest)


def cache_card(header: VersionHeader, card: RateCard) -> None:
    """Keep ``card``, the rows of the version ``header`` names, for later transactions."""
    _cache.put(_key(header), card)


def load_card(session: Session, header: VersionHeader) -> RateCard:
    """The indexed rows of one version, from the process cache or the database."""
    key = _key(header)
    card = _cache.get(key)
    if card is None:
        card = RateCard(
            price_list_id=header.price_list_id,
            version=header.version,
            unit=header.unit,
            effective_from=header.effective_from,
            rows=tuple(repository.rows_of(session, header.id)),
        )
        _cache.put(key, card)
    return card


def missing_version(
    session: Session, price_list_id: str, at: datetime, *, not_found: bool
) -> InvalidRequest | NotFound:
    """The error for "no version of ``price_list_id`` in force at ``at``", saying why.

    ``not_found``: a 404 for a read of the price list itself; otherwise the event that
    needed it is ``unratable``.
    """
    first = repository.first_effective_from(session, price_list_id)
    if first is None:
        message = f"price list {price_list_id!r} does not exist"
        code = "price_list_not_found"
    else:
        message = (
            f"price list {price_list_id!r} has no version in force at {format_instant(at)}; "
            f"its first version takes effect at {format_instant(first)}"
        )
        code = "price_list_not_in_force"
    if not_found:
        return NotFound(message, code=code)
    return unratable(message)


# --- rating events -------------------------------------------------------------------------


class PriceListResolver:
    """Finds the version in force for events, reading each price list's versions once.

    Use one per transaction (a request, a batch): it remembers what it read, so it
    must not outlive the snapshot it read from.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._timelines: dict[str, Timeline] = {}
        # The cards this transaction rated with, by version id (no lock per event).
        self._cards: dict[int, RateCard] = {}

    def card_at(self, price_list_id: str, at: datetime) -> RateCard:
        """The version of ``price_list_id`` in force at ``at``; ``unratable`` if none."""
        starts, headers = self._timeline(price_list_id)
        position = bisect.bisect_right(starts, ensure_utc(at))
        if position == 0:
            raise missing_version(self._session, price_list_id, at, not_found=False)
        header = headers[position - 1]
        card = self._cards.get(header.id)
        if card is None:
            card = self._cards[header.id] = load_card(self._session, header)
        return card

    def rate(self, price_list_id: str, event: Ratable, at: datetime) -> Rating:
        """Price ``event`` that happened at ``at`` with the version then in force."""
        return rate(self.card_at(price_list_id, at), event)

    def _timeline(self, price_list_id: str) -> Timeline:
        timeline = self._timelines.get(price_list_id)
        if timeline is None:
            # Every transaction reads the versions (a few rows, straight from the
            # driver) and builds the timeline only when they differ from those of the
            # last one it built: versions are only ever added.
            self._session.flush()  # a version added in this transaction counts
            rows = repository.version_rows(self._session, price_list_id)
            timeline = _timelines.get(rows)
            if timeline is None:
                timeline = _build_timeline(rows)
                with _timelines_lock:
                    _timelines[rows] = timeline
                    while len(_timelines) > 64:
                        del _timelines[next(iter(_timelines))]
            self._timelines[price_list_id] = timeline
        return timeline


# The versions of one price list in force order: their starts (for bisect) and headers.
Timeline = tuple[list[datetime], list[VersionHeader]]
# Timelines built, keyed by the version rows they were built from.
_timelines: dict[tuple[repository.VersionRow, ...], Timeline] = {}
_timelines_lock = threading.Lock()


def _build_timeline(rows: tuple[repository.VersionRow, ...]) -> Timeline:
    headers = sorted(
        map(_header, rows),
        # In force order: by effective_from, the newest version last on a tie.
        key=lambda h: (h.effective_from, h.version),
    )
    return [h.effective_from for h in headers], headers


def _header(row: repository.VersionRow) -> VersionHeader:
    id, list_id, version, unit, effective_from, created_at, row_count, digest = row
    return VersionHeader(
        id,
        list_id,
        version,
        unit,
        repository.read_instant(effective_from),
        repository.read_instant(created_at),
        row_count,
        digest,
    )


def rate_event(session: Session, price_list_id: str, event: Ratable, at: datetime) -> Rating:
    """Price one event with the version of ``price_list_id`` in force at ``at``."""
    return PriceListResolver(session).rate(price_list_id, event, at)

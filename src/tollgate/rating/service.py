"""Price lists: validating rows, writing versions, finding the version in force.

Versions are immutable, so a process keeps the ones it has loaded (indexed as
:class:`RateCard`) in memory, keyed by price list, version, ``effective_from`` and
content digest (so that no two databases, or a database wiped and refilled, can
ever share a stale entry): the only query left on the hot path is the small one
that finds which version is in force, and a :class:`PriceListResolver` does that
once per price list and transaction.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tollgate.clock import ensure_utc, format_instant
from tollgate.errors import Conflict, InvalidRequest, NotFound
from tollgate.money import AmountError, parse_amount
from tollgate.rating import repository
from tollgate.rating.models import PriceListVersion
from tollgate.rating.rater import (
    ADDRESSED_CHANNELS,
    ANY,
    CATEGORIES,
    CHANNELS,
    DIRECTIONS,
    NUMBER_TYPES,
    PriceRow,
    RatableEvent,
    RateCard,
    Rating,
    rate,
    unratable,
)
from tollgate.rawsql import RawSQL

PRICE_LIST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$")
UNIT = re.compile(r"^[A-Z][A-Z0-9_]{1,11}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
PREFIX = re.compile(r"^\+[1-9][0-9]{0,14}$")
INCREMENT = re.compile(r"^([0-9]{1,5})/([0-9]{1,5})$")
WHOLE = re.compile(r"^[0-9]{1,10}$")

ROW_FIELDS = (
    "channel",
    "direction",
    "destination",
    "number_type",
    "category",
    "price",
    "per",
    "increment",
    "connect_fee",
)
MAX_ROWS = 100_000
MAX_PER = 1_000_000
MAX_INCREMENT = 86_400
DEFAULT_INCREMENT = (60, 60)
_COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)
_MATCH_FIELDS = ("direction", "destination", "number_type", "category")


# --- validating rows -------------------------------------------------------------------


class InvalidPriceRows(InvalidRequest):
    """Some rows of a price list are not valid; ``problems`` says which and why."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems  # (row name, code, message)
        shown = "; ".join(f"{name}: {message}" for name, _, message in problems[:10])
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        super().__init__(shown + more, code=problems[0][1])


class _Bad(Exception):
    def __init__(self, message: str, code: str = "invalid_price_row") -> None:
        super().__init__(message)
        self.code = code


def parse_rows(
    raw_rows: Sequence[Mapping[str, object]], *, names: Sequence[str] | None = None
) -> list[PriceRow]:
    """Validate price list rows given as field → value (strings, or ints for ``per``).

    Every problem of every row is collected; any problem fails the whole list with
    :class:`InvalidPriceRows`, so that a price list is stored whole or not at all.
    ``names`` says how to call each row in messages (default ``rows[i]``).
    """
    if names is None:
        names = [f"rows[{i}]" for i in range(len(raw_rows))]
    if not raw_rows:
        raise InvalidRequest("a price list needs at least one row", code="invalid_price_row")
    if len(raw_rows) > MAX_ROWS:
        raise InvalidRequest(
            f"a price list has at most {MAX_ROWS} rows, got {len(raw_rows)}",
            code="invalid_price_row",
        )
    rows: list[PriceRow] = []
    problems: list[tuple[str, str, str]] = []
    seen: dict[tuple[str, str, str, str, str], int] = {}
    for index, raw in enumerate(raw_rows):
        try:
            row = parse_row(raw)
        except _Bad as exc:
            problems.append((names[index], exc.code, str(exc)))
            continue
        first = seen.setdefault(row.match_key, index)
        if first != index:
            problems.append(
                (
                    names[index],
                    "duplicate_price_row",
                    (
                        f"matches the same events as {names[first]} (same channel, "
                        "direction, destination, number_type and category); keep one of them"
                    ),
                )
            )
            continue
        rows.append(row)
    if problems:
        raise InvalidPriceRows(problems)
    return rows


def parse_row(raw: Mapping[str, object]) -> PriceRow:
    unknown = sorted(set(raw) - set(ROW_FIELDS))
    if unknown:
        raise _Bad(f"unknown field(s) {', '.join(unknown)}; a row has {', '.join(ROW_FIELDS)}")
    value = {name: _text(raw.get(name), name) for name in ROW_FIELDS}
    channel = value["channel"]
    if channel is None:
        raise _Bad(f"channel is required: one of {', '.join(CHANNELS)}")
    if channel not in CHANNELS:
        hint = " (agent logins are priced by a day_pass row)" if channel == "agent_login" else ""
        raise _Bad(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}{hint}")
    match = {name: value[name] or ANY for name in _MATCH_FIELDS}
    if match["direction"] not in (*DIRECTIONS, ANY):
        raise _Bad(f"direction must be outbound, inbound or *, got {match['direction']!r}")
    destination = match["destination"]
    if destination != ANY and not PREFIX.match(destination):
        if not COUNTRY.match(destination):
            raise _Bad(
                "destination must be *, an ISO country code such as FR, or an E.164 "
                f"prefix such as +3933, got {destination!r}"
            )
        if destination not in _COUNTRIES:
            raise _Bad(f"destination {destination!r} is not a country with phone numbers")
    if match["number_type"] not in (*NUMBER_TYPES, ANY):
        raise _Bad(
            f"number_type must be one of {', '.join(NUMBER_TYPES)} or *, "
            f"got {match['number_type']!r}"
        )
    if match["category"] not in (*CATEGORIES, ANY):
        raise _Bad(
            f"category must be one of {', '.join(CATEGORIES)} or *, got {match['category']!r}"
        )
    if channel not in ADDRESSED_CHANNELS:
        narrowed = [
            name for name in ("direction", "destination", "number_type") if match[name] != ANY
        ]
        if narrowed:
            raise _Bad(f"{channel} rows are not priced by {', '.join(narrowed)}; use *")
    if channel != "whatsapp_template" and match["category"] != ANY:
        raise _Bad("category applies to whatsapp_template rows only; use *")
    if value["price"] is None:
        raise _Bad('price is required, as a decimal string such as "0.014"')
    try:
        price = parse_amount(value["price"], field="price", allow_zero=True)
    except AmountError as exc:
        raise _Bad(str(exc), "invalid_amount") from None
    per = _per(raw.get("per"), default=60 if channel == "voice" else 1)
    increment_first = increment_next = None
    connect_fee = 0
    if channel == "voice":
        increment_first, increment_next = _increment(value["increment"])
        if value["connect_fee"] is not None:
            try:
                connect_fee = parse_amount(
                    value["connect_fee"], field="connect_fee", allow_zero=True
                )
            except AmountError as exc:
                raise _Bad(str(exc), "invalid_amount") from None
    else:
        for name in ("increment", "connect_fee"):
            if value[name] is not None:
                raise _Bad(f"{name} applies to voice rows only; leave it empty")
    return PriceRow(
        channel=channel,
        direction=match["direction"],
        destination=destination,
        number_type=match["number_type"],
        category=match["category"],
        price=price,
        per=per,
        increment_first=increment_first,
        increment_next=increment_next,
        connect_fee=connect_fee,
    )


def _text(value: object, name: str) -> str | None:
    """A field as stripped text; None when absent or empty."""
    if value is None:
        return None
    if name == "per" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        if name in ("price", "connect_fee"):
            raise _Bad(
                f'{name} must be a decimal string such as "0.014", not a number', "invalid_amount"
            )
        raise _Bad(f"{name} must be a string, got {type(value).__name__}")
    stripped = value.strip()
    return stripped or None


def _per(value: object, *, default: int) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, str) and WHOLE.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"per must be a whole number of units such as 60, got {value!r}")
    if not 1 <= value <= MAX_PER:
        raise _Bad(f"per must be between 1 and {MAX_PER}, got {value}")
    return value


def _increment(value: str | None) -> tuple[int, int]:
    if value is None:
        return DEFAULT_INCREMENT
    found = INCREMENT.match(value)
    if not found:
        raise _Bad(f"increment must be first/next seconds such as 60/60 or 30/6, got {value!r}")
    first, step = int(found.group(1)), int(found.group(2))
    if not (1 <= first <= MAX_INCREMENT and 1 <= step <= MAX_INCREMENT):
        raise _Bad(f"increment seconds must be between 1 and {MAX_INCREMENT}, got {value!r}")
    return first, step


def check_price_list_id(price_list_id: str) -> None:
    if not isinstance(price_list_id, str) or not PRICE_LIST_ID.match(price_list_id):
        raise InvalidRequest(
            "a price list id is 1 to 64 letters, digits or ._:@- and starts with a letter "
            f"or digit, got {price_list_id!r}",
            code="invalid_price_list_id",
        )


def check_unit(unit: object) -> str:
    if not isinstance(unit, str) or not UNIT.match(unit):
        raise InvalidRequest(
            f"unit must be an ISO 4217 code such as EUR, or a unit such as CREDIT, got {unit!r}",
            code="invalid_unit",
        )
    return unit


def digest_of(unit: str, rows: Sequence[PriceRow]) -> str:
    canonical = json.dumps([unit, [list(_row_tuple(row)) for row in rows]], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _row_tuple(row: PriceRow) -> tuple:
    return (
        *row.match_key,
        row.price,
        row.per,
        row.increment_first,
        row.increment_next,
        row.connect_fee,
    )


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


def load_card(session: Session, header: VersionHeader) -> RateCard:
    """The indexed rows of one version, from the process cache or the database."""
    key = (header.price_list_id, header.version, header.effective_from, header.digest)
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


# --- writing and reading price lists --------------------------------------------------------


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
    if rows and all(isinstance(row, PriceRow) for row in rows):
        parsed: list[PriceRow] = list(rows)  # type: ignore[arg-type]
    else:
        parsed = parse_rows(rows)  # type: ignore[arg-type]
    digest = digest_of(unit, parsed)
    _lock_price_list(session, price_list_id)
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
    _cache.put((price_list_id, record.version, start, digest), card)
    return StoredVersion(header, card), True


def _lock_price_list(session: Session, price_list_id: str) -> None:
    """Serialize writers of one price list (SQLite already holds its write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"price_list:{price_list_id}"},
        )


def get_price_list(session: Session, price_list_id: str, *, at: datetime) -> StoredVersion:
    """The version in force at ``at``; 404 if there is none."""
    check_price_list_id(price_list_id)
    record = repository.version_in_force(session, price_list_id, ensure_utc(at))
    if record is None:
        raise _no_version(session, price_list_id, at, NotFound)
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


def _no_version(session: Session, price_list_id: str, at: datetime, error: type) -> Exception:
    first = session.scalar(
        select(func.min(PriceListVersion.effective_from)).where(
            PriceListVersion.price_list_id == price_list_id
        )
    )
    if first is None:
        message = f"price list {price_list_id!r} does not exist"
        code = "price_list_not_found"
    else:
        message = (
            f"price list {price_list_id!r} has no version in force at {format_instant(at)}; "
            f"its first version takes effect at {format_instant(first)}"
        )
        code = "price_list_not_in_force"
    if error is NotFound:
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
        self._timelines: dict[str, tuple[list[datetime], list[VersionHeader]]] = {}
        # The cards this transaction rated with, by version id (no lock per event).
        self._cards: dict[int, RateCard] = {}

    def card_at(self, price_list_id: str, at: datetime) -> RateCard:
        """The version of ``price_list_id`` in force at ``at``; ``unratable`` if none."""
        starts, headers = self._timeline(price_list_id)
        position = bisect.bisect_right(starts, ensure_utc(at))
        if position == 0:
            raise _no_version(self._session, price_list_id, at, InvalidRequest)
        header = headers[position - 1]
        card = self._cards.get(header.id)
        if card is None:
            card = self._cards[header.id] = load_card(self._session, header)
        return card

    def rate(self, price_list_id: str, event: RatableEvent, at: datetime) -> Rating:
        """Price ``event`` that happened at ``at`` with the version then in force."""
        return rate(self.card_at(price_list_id, at), event)

    def _timeline(self, price_list_id: str) -> tuple[list[datetime], list[VersionHeader]]:
        timeline = self._timelines.get(price_list_id)
        if timeline is None:
            # Every transaction reads the versions (a few rows, straight from the
            # driver) and builds the timeline only when they differ from those of the
            # last one it built: versions are only ever added.
            self._session.flush()  # a version added in this transaction counts
            raw = RawSQL(self._session)
            rows = tuple(map(tuple, raw.select(_SELECT_VERSIONS, (price_list_id,))))
            timeline = _timelines.get(rows)
            if timeline is None:
                headers = sorted(
                    (
                        VersionHeader(
                            id,
                            list_id,
                            version,
                            unit,
                            raw.read_instant(effective_from),
                            raw.read_instant(created_at),
                            row_count,
                            digest,
                        )  # type: ignore[arg-type]
                        for id, list_id, version, unit, effective_from, created_at, row_count, digest in rows
                    ),
                    # In force order: by effective_from, the newest version last on a tie.
                    key=lambda h: (h.effective_from, h.version),
                )
                timeline = ([h.effective_from for h in headers], headers)
                with _timelines_lock:
                    _timelines[rows] = timeline
                    while len(_timelines) > 64:
                        del _timelines[next(iter(_timelines))]
            self._timelines[price_list_id] = timeline
        return timeline


_SELECT_VERSIONS = (
    "SELECT id, price_list_id, version, unit, effective_from, created_at, row_count, digest "
    "FROM price_list_versions WHERE price_list_id = ? ORDER BY version"
)
# Timelines built, keyed by the version rows they were built from.
_timelines: dict[tuple, tuple[list[datetime], list[VersionHeader]]] = {}
_timelines_lock = threading.Lock()


def rate_event(session: Session, price_list_id: str, event: RatableEvent, at: datetime) -> Rating:
    """Price one event with the version of ``price_list_id`` in force at ``at``."""
    return PriceListResolver(session).rate(price_list_id, event, at)

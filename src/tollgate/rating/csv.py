"""Price lists as CSV: one row per price, the columns named like the API's row fields.

Import checks every line and stores nothing unless all are good; its errors name
the line numbers (the header is line 1) so that a spreadsheet can be fixed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from tollgate.errors import InvalidRequest
from tollgate.money import format_amount
from tollgate.rating import service
from tollgate.rating.rater import PriceRow
from tollgate.rating.rows import ROW_FIELDS, InvalidPriceRows, check_price_list_id, parse_rows
from tollgate.rating.service import StoredVersion

COLUMNS = ROW_FIELDS


class BadCsv(InvalidRequest):
    """A CSV file that cannot be imported; ``problems`` lists (line, message)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        shown = "; ".join(f"line {line}: {message}" for line, message in problems[:10])
        more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        super().__init__(shown + more, code="invalid_price_row")


def read_rows(text: str) -> list[PriceRow]:
    """Parse and validate a CSV price list; raises :class:`BadCsv` naming every bad line."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header: list[str] | None = None
    raw_rows: list[dict[str, str]] = []
    lines: list[int] = []
    problems: list[tuple[int, str]] = []
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = [cell.strip() for cell in record]
            problems.extend((reader.line_num, p) for p in _header_problems(header))
            if problems:
                raise BadCsv(problems)
            continue
        if len(record) > len(header):
            problems.append(
                (reader.line_num, f"has {len(record)} cells but the header has {len(header)}")
            )
            continue
        raw_rows.append(dict(zip(header, record, strict=False)))
        lines.append(reader.line_num)
    if header is None:
        raise BadCsv([(1, f"the file is empty; the header is {','.join(COLUMNS)}")])
    if not raw_rows and not problems:
        raise BadCsv([(reader.line_num + 1, "the file has a header but no price rows")])
    by_line = {f"line {line}": line for line in lines}
    rows: list[PriceRow] = []
    try:
        if raw_rows:
            rows = parse_rows(raw_rows, names=list(by_line))
    except InvalidPriceRows as exc:
        problems.extend((by_line[name], message) for name, _, message in exc.problems)
    if problems:
        raise BadCsv(sorted(problems))
    return rows


def _header_problems(header: list[str]) -> list[str]:
    unknown = [name for name in header if name not in COLUMNS]
    problems = []
    if unknown:
        problems.append(
            f"unknown column(s) {', '.join(repr(n) for n in unknown)}; "
            f"the columns are {','.join(COLUMNS)}"
        )
    for required in ("channel", "price"):
        if required not in header:
            problems.append(f"the header needs a {required!r} column")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        problems.append(f"column(s) {', '.join(repeated)} appear more than once")
    return problems


def write_rows(rows: Iterable[PriceRow]) -> str:
    """The CSV text of a price list's rows, with every column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        voice = row.channel == "voice"
        writer.writerow(
            [
                row.channel,
                row.direction,
                row.destination,
                row.number_type,
                row.category,
                format_amount(row.price),
                row.per,
                row.increment if voice else "",
                format_amount(row.connect_fee) if voice else "",
            ]
        )
    return out.getvalue()


def import_price_list(
    session: Session,
    price_list_id: str,
    text: str,
    *,
    now: datetime,
    unit: str | None = None,
    effective_from: datetime | None = None,
) -> tuple[StoredVersion, bool]:
    """Store the CSV as a new version. The unit defaults to the latest version's."""
    check_price_list_id(price_list_id)
    rows = read_rows(text)
    if unit is None:
        latest = service.latest_header(session, price_list_id)
        if latest is None:
            raise InvalidRequest(
                f"price list {price_list_id!r} is new: give its unit (--unit EUR)",
                code="invalid_unit",
            )
        unit = latest.unit
    return service.put_price_list(
        session, price_list_id, unit=unit, rows=rows, now=now, effective_from=effective_from
    )


def export_price_list(
    session: Session, price_list_id: str, *, at: datetime
) -> tuple[StoredVersion, str]:
    stored = service.get_price_list(session, price_list_id, at=at)
    return stored, write_rows(stored.card.rows)

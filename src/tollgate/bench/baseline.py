"""The baseline, in the same run and store: inserting the very rows the recorder wrote
to ``usage_events`` into a fresh copy of that table (same columns, keys, index and
foreign key), with the driver's own ``executemany`` and one commit per batch. The ratio
says what rating, the ledger and the journal cost on top of merely storing each event.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import MetaData, Table
from sqlalchemy.sql.elements import quoted_name

from tollgate.accounts.models import Account
from tollgate.bench import BenchError, Progress
from tollgate.db import Base, Database
from tollgate.rawsql import RawSQL
from tollgate.usage.models import UsageEvent
from tollgate.usage.service import UsageInput

BASELINE_TABLE = "bench_baseline_usage_events"

Row = tuple[Any, ...]


def _table(model: type[Base]) -> Table:
    """A model's table: declarative models map to a :class:`Table`, though the
    stubs type ``__table__`` as any ``FromClause``."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


_COLUMNS = ", ".join(f'"{column.name}"' for column in _table(UsageEvent).columns)


def recorded_rows(database: Database, inputs: list[UsageInput]) -> list[Row]:
    """The rows the recorder wrote, as the driver returns them, in the order of the events."""
    with database.read() as session:
        found = {
            (row[0], row[1]): row
            for row in RawSQL(session).select(f"SELECT {_COLUMNS} FROM usage_events")
        }
    return [found[key] for key in ((e.account_id, e.id) for e in inputs) if key in found]


def _baseline_table(database: Database) -> Table:
    """A fresh, empty copy of ``usage_events``: same columns, keys, index and foreign key."""
    metadata = MetaData()
    _table(Account).to_metadata(metadata)  # so that the foreign key resolves
    table = _table(UsageEvent).to_metadata(metadata, name=BASELINE_TABLE)
    for index in table.indexes:
        index.name = quoted_name(f"{BASELINE_TABLE}_{index.name}", None)
    with database.engine.begin() as connection:
        table.drop(connection, checkfirst=True)
        table.create(connection)
    return table


def insert_baseline(
    database: Database, rows: list[Row], batch: int, say: Progress
) -> tuple[float, float]:
    """The same rows inserted with the driver's own ``executemany``, one commit per batch;
    the seconds it took, and this process's CPU seconds.

    No SQLAlchemy in the loop: the fastest plain way to store one row per event,
    which is what the recorder's driver-level writes are measured against.
    """
    if not rows:
        raise BenchError("no event was recorded, so there is nothing to compare with")
    _baseline_table(database)
    placeholders = ", ".join("?" * len(_table(UsageEvent).columns))
    statement = f"INSERT INTO {BASELINE_TABLE} ({_COLUMNS}) VALUES ({placeholders})"
    say(
        f"baseline: inserting the same {len(rows):,} rows, one driver executemany and "
        f"commit per batch of {batch}"
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(rows), batch):
        with database.write() as session:
            RawSQL(session).execute_many(statement, rows[start : start + batch])
    return time.perf_counter() - started, time.process_time() - cpu_started

"""The floor: the recorder's own writes, logged while it records, then replayed alone
in a second fresh store, batch by batch — no reads, no rating, no ledger logic. Its
rate is the most the recorder could reach on that store if everything else cost
nothing.

The writes are logged by patching :class:`RawSQL` itself for the length of a batch, so
that production code carries nothing for the benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from tollgate.bench import Progress
from tollgate.db import Database
from tollgate.rawsql import RawSQL

Rows = Sequence[Sequence[Any]]
Insert = tuple[Literal["insert"], str, Sequence[str], Rows]
"""The arguments of one :meth:`RawSQL.insert`, after its name."""
Update = tuple[Literal["update"], str, Sequence[tuple[str, str]], int, Rows]
"""The arguments of one :meth:`RawSQL.update`, after its name."""
Write = Insert | Update
Writes = list[list[Write]]
"""Each batch's driver-level writes, in the order they were made."""


@contextmanager
def logging_writes(writes: Writes) -> Iterator[None]:
    """While it lasts, every driver-level write (the rows, not copies) is also kept in
    ``writes[-1]``."""
    insert, update = RawSQL.insert, RawSQL.update

    def logged_insert(self: RawSQL, table: str, columns: Sequence[str], rows: Rows) -> None:
        writes[-1].append(("insert", table, columns, rows))
        insert(self, table, columns, rows)

    def logged_update(
        self: RawSQL, table: str, columns: Sequence[tuple[str, str]], keys: int, rows: Rows
    ) -> None:
        writes[-1].append(("update", table, columns, keys, rows))
        update(self, table, columns, keys, rows)

    # setattr, not assignment: mypy rightly refuses to let a method be reassigned,
    # and replacing it for a while is the whole point here.
    _set_methods({"insert": logged_insert, "update": logged_update})
    try:
        yield
    finally:
        _set_methods({"insert": insert, "update": update})


def _set_methods(methods: dict[str, object]) -> None:
    for name, method in methods.items():
        setattr(RawSQL, name, method)


def replay(database: Database, writes: Writes, say: Progress) -> float:
    """Replay each batch's writes in one transaction; the seconds it took."""
    count = sum(len(write[-1]) for batch in writes for write in batch if write[1] == "usage_events")
    say(
        f"floor: replaying the recorder's own writes for {count:,} events, one transaction "
        f"per batch, with no reads, rating or ledger logic"
    )
    started = time.perf_counter()
    for batch in writes:
        with database.write() as session:
            sql = RawSQL(session)
            for write in batch:
                if write[0] == "insert":
                    sql.insert(*write[1:])
                else:
                    sql.update(*write[1:])
    seconds = time.perf_counter() - started
    say(
        f"floor: {count / seconds:,.0f} events/s ({seconds:.2f} s): the most the recorder "
        f"could reach on this store and machine if everything but its writes cost nothing"
    )
    return seconds

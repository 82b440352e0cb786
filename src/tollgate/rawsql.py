"""Driver-level SQL for the hot paths, inside the session's own transaction.

SQLAlchemy costs more than the database for the hot path's statements: building
each row's parameters, converting each datetime, wrapping each result row. The
recorder therefore talks to the DBAPI connection under the session directly —
``sqlite3`` or ``psycopg`` — with statements written once, plain tuples in and out,
and on PostgreSQL ``COPY`` for the inserts. It still runs in the transaction that
:meth:`tollgate.db.Database.write` opened, so it commits or rolls back with
everything else.

Only the usage hot path (and the price list timeline it reads on every
transaction) uses this; everything else goes through the ORM.

Every cursor opened here is closed when its connection goes back to the pool
(:func:`close_raw_cursors`, a pool ``checkin`` hook of :mod:`tollgate.db`), in the
thread that used it, whatever still refers to the :class:`RawSQL` — a refused event's
exception, its traceback and the recorder it holds form a reference cycle that the
garbage collector frees later, in whichever thread it happens to run. A ``sqlite3``
cursor freed there resets the prepared statement it last ran; that statement comes
from the connection's statement cache, so it may be the one another request is
running on the same connection at that moment, which then fails ("bad parameter or
other API misuse").
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

# Rows are read and written in chunks of this many keys (bound variables stay well
# under SQLite's limit).
CHUNK = 500

# The cursors opened on a pooled connection since it was checked out, in its pool
# record's ``info`` (see close_raw_cursors).
_OPEN_CURSORS = "tollgate.raw_cursors"


class RawSQL:
    """The raw connection of a session, with the few things that differ per store."""

    __slots__ = ("connection", "cursor", "sqlite")

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.sqlite = connection.dialect.name == "sqlite"
        pooled = connection.connection
        self.connection = pooled.driver_connection
        assert self.connection is not None, "a checked-out connection is open"
        self.cursor = self.connection.cursor()
        pooled.info.setdefault(_OPEN_CURSORS, []).append(self.cursor)

    # --- values ------------------------------------------------------------------------

    def instant(self, moment: datetime | None) -> object:
        """A datetime as the store keeps it (SQLite: naive UTC text, as SQLAlchemy writes)."""
        if moment is None or not self.sqlite:
            return moment
        if moment.tzinfo is not UTC and moment.utcoffset():
            moment = moment.astimezone(UTC)
        return moment.replace(tzinfo=None).isoformat(" ", "microseconds")

    @staticmethod
    def read_instant(value: object) -> datetime | None:
        """The aware datetime of a stored value (SQLite's text is UTC)."""
        if value is None:
            return None
        if isinstance(value, str):
            return _parse_sqlite_instant(value)
        assert isinstance(value, datetime)
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    # --- statements --------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """``?`` placeholders for sqlite3, ``%s`` for psycopg."""
        return statement if self.sqlite else statement.replace("?", "%s")

    def select(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(self.sql(statement), parameters)
        rows: list[tuple[Any, ...]] = self.cursor.fetchall()
        return rows

    def select_in(
        self, statement: str, keys: Sequence[Any], *, width: int = 1
    ) -> list[tuple[Any, ...]]:
        """Run ``statement`` for a list of text keys: its ``{keys}`` becomes a row source.

        Use ``IN ({keys})`` for single keys and ``({keys}) AS k`` joined on
        ``k.column1``, ``k.column2``… for wider ones; both stores then look each key up
        in its index (SQLite would scan the table for a row-value ``IN`` list).
        SQLite gets ``?, ?…`` or ``VALUES (?, ?), …`` in chunks; PostgreSQL one text
        array per column through ``unnest`` — a short statement psycopg need not
        parse again for every batch.
        """
        if not keys:
            return []
        if not self.sqlite:
            columns = (
                [list(keys)] if width == 1 else [list(column) for column in zip(*keys, strict=True)]
            )
            arrays = ", ".join(["%s::text[]"] * width)
            names = ", ".join(f"column{i + 1}" for i in range(width))
            source = f"SELECT * FROM unnest({arrays}) AS u({names})"
            self.cursor.execute(statement.format(keys=source), columns)
            found: list[tuple[Any, ...]] = self.cursor.fetchall()
            return found
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            if width == 1:
                placeholders = ", ".join("?" * len(chunk))
                parameters: Sequence[Any] = chunk
            else:
                one = "(" + ", ".join("?" * width) + ")"
                placeholders = "VALUES " + ", ".join([one] * len(chunk))
                parameters = [value for key in chunk for value in key]
            rows.extend(self.select(statement.format(keys=placeholders), parameters))
        return rows

    def execute_many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(self.sql(statement), rows)

    def update(
        self,
        table: str,
        columns: Sequence[tuple[str, str]],
        keys: int,
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Set columns of rows found by key: each row holds the new values, then the key.

        ``columns`` names every value of a row with its PostgreSQL type, the key's
        ``keys`` columns last. SQLite runs one ``UPDATE`` per row (``executemany``);
        PostgreSQL one ``UPDATE … FROM unnest(…)`` for all of them.
        """
        if not rows:
            return
        values, key_columns = columns[:-keys], columns[-keys:]
        if self.sqlite:
            assignments = ", ".join(f"{name} = ?" for name, _ in values)
            where = " AND ".join(f"{name} = ?" for name, _ in key_columns)
            self.cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {where}", rows)
            return
        arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
        names = ", ".join(name for name, _ in columns)
        assignments = ", ".join(f"{name} = v.{name}" for name, _ in values)
        where = " AND ".join(f"t.{name} = v.{name}" for name, _ in key_columns)
        self.cursor.execute(
            f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v({names}) "
            f"WHERE {where}",
            [list(column) for column in zip(*rows, strict=True)],
        )

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows (tuples in ``columns`` order): ``executemany`` or ``COPY``."""
        if not rows:
            return
        names = ", ".join(f'"{c}"' for c in columns)
        if self.sqlite:
            placeholders = ", ".join("?" * len(columns))
            self.cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows)
            return
        with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def close_raw_cursors(pool_info: MutableMapping[Any, Any]) -> None:
    """Close the cursors :class:`RawSQL` opened on a connection that is going back to
    the pool (``pool_info`` is its pool record's ``info``).

    Closing resets each cursor's statement and lets go of it now, in the thread that
    used the connection, so that nothing done to a leftover cursor later can touch a
    statement the connection's next user is running.
    """
    for cursor in pool_info.pop(_OPEN_CURSORS, ()):
        cursor.close()


@lru_cache(maxsize=65_536)
def _parse_sqlite_instant(value: str) -> datetime:
    # The same lots' instants are read by batch after batch.
    return datetime.fromisoformat(value).replace(tzinfo=UTC)

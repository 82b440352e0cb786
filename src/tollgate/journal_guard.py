"""Balanced journal entries, refused at commit by the database when they are not.

Every journal entry's postings sum to zero per unit (SPEC §3). PostgreSQL checks
this with a deferred constraint trigger (migration 0006). SQLite has no deferred
triggers, so each of its connections gets the equivalent here, checked in the
transaction just before ``COMMIT``:

- a TEMP table ``tollgate_open_entries`` lists the journal entries written in the
  current transaction (a TEMP trigger adds each new ``journal_entries`` row). It is
  per connection and transactional: a rollback, or a rolled-back savepoint, takes
  its rows away with the entries;
- a TEMP trigger refuses a posting whose entry is not in that list: postings can
  only be added to an entry of the same transaction, so an entry closed by an
  earlier commit stays as it was checked;
- before the driver commits (SQLAlchemy's engine ``commit`` event, which every
  commit through the engine's connections passes: sessions and raw SQL alike), one
  set-based query sums the open entries' postings per unit. An unbalanced entry
  rolls the transaction back and raises :class:`sqlalchemy.exc.IntegrityError`;
  otherwise the list is emptied and the commit goes ahead.

The guard is installed on a connection once the journal tables exist (at connect,
or before the first transaction after the schema was created). A ``COMMIT`` sent as
SQL text, or a connection that does not come from a Tollgate engine (the ``sqlite3``
shell), is not checked.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import IntegrityError

_INSTALLED = "tollgate_journal_guard"

_TABLES_EXIST = (
    "SELECT count(*) FROM sqlite_master "
    "WHERE type = 'table' AND name IN ('journal_entries', 'postings')"
)

SQLITE_GUARD = (
    "CREATE TEMP TABLE IF NOT EXISTS tollgate_open_entries (id INTEGER PRIMARY KEY)",
    "CREATE TEMP TRIGGER IF NOT EXISTS tollgate_entry_opens "
    "AFTER INSERT ON main.journal_entries "
    "BEGIN INSERT INTO tollgate_open_entries (id) VALUES (NEW.id); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS tollgate_posting_to_open_entry "
    "BEFORE INSERT ON main.postings "
    "WHEN NOT EXISTS (SELECT 1 FROM tollgate_open_entries WHERE id = NEW.entry_id) "
    "BEGIN SELECT RAISE(ABORT, "
    "'postings: a posting can only be added to a journal entry of the same transaction'); "
    "END",
)

_UNBALANCED = (
    "SELECT p.entry_id, p.unit, sum(p.amount) "
    "FROM temp.tollgate_open_entries AS o JOIN main.postings AS p ON p.entry_id = o.id "
    "GROUP BY p.entry_id, p.unit HAVING sum(p.amount) <> 0 LIMIT 1"
)
_CLOSE = "DELETE FROM temp.tollgate_open_entries"


def guard_sqlite_engine(engine: Engine) -> None:
    """Check every commit of ``engine``'s connections for unbalanced journal entries.

    The ``begin`` listener is inserted first, so that a connection created before the
    schema gets its guard before the ``BEGIN`` that :mod:`tollgate.db` sends.
    """
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin, insert=True)
    event.listen(engine, "commit", _on_commit)


def _on_connect(dbapi_connection: sqlite3.Connection, record: Any) -> None:
    _install(dbapi_connection, record.info)


def _on_begin(connection: Connection) -> None:
    fairy = connection.connection
    if _INSTALLED not in fairy.info:
        _install(fairy.driver_connection, fairy.info)  # type: ignore[arg-type]


def _install(dbapi_connection: sqlite3.Connection, info: dict[Any, Any]) -> None:
    # Outside any transaction: TEMP objects created in one that rolls back would go too.
    if dbapi_connection.in_transaction:
        return
    ((tables,),) = dbapi_connection.execute(_TABLES_EXIST).fetchall()
    if tables < 2:
        return
    for statement in SQLITE_GUARD:
        dbapi_connection.execute(statement)
    info[_INSTALLED] = True


def _on_commit(connection: Connection) -> None:
    fairy = connection.connection
    if _INSTALLED not in fairy.info:
        return
    driver: sqlite3.Connection = fairy.driver_connection  # type: ignore[assignment]
    unbalanced = driver.execute(_UNBALANCED).fetchall()
    if not unbalanced:
        driver.execute(_CLOSE)
        return
    ((entry_id, unit, total),) = unbalanced
    # Nothing of the transaction may reach the file: roll back here, before the
    # driver's commit, and leave the connection clean whatever the caller does next.
    driver.rollback()
    message = f"journal entry {entry_id} is unbalanced: its {unit} postings sum to {total}"
    raise IntegrityError(_UNBALANCED, None, sqlite3.IntegrityError(message))

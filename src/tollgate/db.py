"""Storage: engines, sessions and the transaction boundary.

SQLite is the default store (a file, no set-up): WAL journal, ``synchronous=FULL``
unless relaxed, foreign keys on, and every write transaction opened with
``BEGIN IMMEDIATE`` so that writers queue for the lock up front instead of failing
half-way. PostgreSQL is used through ``TOLLGATE_DATABASE_URL``; there writers lock
the account row they work on (``SELECT … FOR UPDATE``).

Services never commit: :meth:`Database.write` opens one transaction, the caller does
all its work inside it, and it commits or rolls back as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Connection, DateTime, Engine, Integer, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from tollgate.config import database_url_from_env, sqlite_synchronous_from_env
from tollgate.journal_guard import guard_sqlite_engine
from tollgate.rawsql import close_raw_cursors

# 64-bit integer primary keys; SQLite only auto-increments "INTEGER PRIMARY KEY".
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, always returned as an aware UTC datetime.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text, which sorts in
    time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    # Both engines hide statement parameters: a database error's message gets logged,
    # and must not carry the values (idempotency keys, memos…) of the failed statement.
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
    else:
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_pre_ping=True,
            hide_parameters=True,
        )
    # After the pool's rollback: no driver cursor of the hot path outlives the
    # checkout that opened it (see tollgate.rawsql).
    event.listen(engine, "checkin", _close_raw_cursors)
    return engine


def _close_raw_cursors(_dbapi_connection: object, record: Any) -> None:
    close_raw_cursors(record.info)


_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")}


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    synchronous = sqlite_synchronous_from_env()
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 60}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:  # pragma: no cover - trivial
        # Take transaction control away from the driver: we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        # Usage batches dirty thousands of index pages per commit. A 32 MiB page cache
        # keeps them in memory between batches, and checkpointing every ~40 MiB of WAL
        # instead of every 4 MiB copies a page rewritten by many commits only once.
        # Durability is unchanged: a commit is on disk once its WAL frames are.
        cursor.execute("PRAGMA cache_size=-32768")
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        # Straight to the driver: this runs for every transaction, and SQLAlchemy's
        # statement machinery costs more than the BEGIN itself.
        driver = connection.connection.driver_connection
        assert driver is not None, "a connection that begins is open"
        driver.execute(_BEGIN[mode])

    # SQLite has no deferred triggers: balanced journal entries are checked per
    # connection, just before each commit.
    guard_sqlite_engine(engine)
    return engine


class Database:
    """An engine plus the two kinds of transaction the application uses."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        self.url = url or database_url_from_env()
        self.engine = engine or create_db_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._writer = sessionmaker(bind=self.engine, expire_on_commit=False)
        # A read is one snapshot. At PostgreSQL's default READ COMMITTED each statement
        # would see commits made since the previous one, so a balance could list lots
        # that disagree with its buckets; a read-only REPEATABLE READ never conflicts.
        reader_bind = (
            self.engine.execution_options(sqlite_begin="DEFERRED")
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="REPEATABLE READ")
        )
        self._reader = sessionmaker(bind=reader_bind, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commits when the block ends, rolls back on error."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot (never takes SQLite's write lock)."""
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()

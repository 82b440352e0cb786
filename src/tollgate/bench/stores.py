"""The fresh store a benchmark runs in: a temporary SQLite file, or a database
``tollgate_bench`` dropped and re-created on a PostgreSQL server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tollgate.bench import BenchError, Progress
from tollgate.db import Database

STORES = ("sqlite", "postgres")
BENCH_DATABASE = "tollgate_bench"


def postgres_server_url(database_url: str | None) -> str:
    """The PostgreSQL server to use: --database-url, else the first PostgreSQL URL in
    $TOLLGATE_DATABASE_URL or $TOLLGATE_TEST_POSTGRES_URL. Its database name is ignored."""
    if database_url:
        candidates = [("--database-url", database_url)]
    else:
        candidates = [
            (name, os.environ.get(name, ""))
            for name in ("TOLLGATE_DATABASE_URL", "TOLLGATE_TEST_POSTGRES_URL")
        ]
    for name, url in candidates:
        if url and make_url(url).get_backend_name() == "postgresql":
            return url
        if name == "--database-url":
            raise BenchError(
                f"--database-url must be a PostgreSQL URL for --store postgres, got {url!r}"
            )
    raise BenchError(
        "--store postgres needs a server: pass --database-url "
        "postgresql+psycopg://USER:PASSWORD@HOST:5432/ (or set $TOLLGATE_DATABASE_URL); "
        f"the benchmark works in its own database {BENCH_DATABASE}, dropped and re-created"
    )


@contextmanager
def fresh_store(store: str, database_url: str | None, say: Progress) -> Iterator[Database]:
    """An empty store (not yet migrated), removed again when the block ends."""
    if store == "sqlite":
        with _sqlite_store(say) as database:
            yield database
        return
    server = make_url(postgres_server_url(database_url))
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {BENCH_DATABASE}"))
        target = server.set(database=BENCH_DATABASE)
        say(f"PostgreSQL store {target.render_as_string()} (dropped and re-created)")
        database = Database(target.render_as_string(hide_password=False))
        try:
            yield database
        finally:
            database.dispose()
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
    finally:
        admin.dispose()


@contextmanager
def _sqlite_store(say: Progress) -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="tollgate-bench-") as directory:
        database = Database(f"sqlite:///{directory}/bench.db")
        try:
            with database.read() as session:
                synchronous = session.execute(text("PRAGMA synchronous")).scalar()
            say(f"SQLite store in {directory} (synchronous={synchronous})")
            yield database
        finally:
            database.dispose()

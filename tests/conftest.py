"""Test fixtures. Every test that takes ``database`` (or ``client``) runs on SQLite and on
PostgreSQL.

The stores come from ``TOLLGATE_TEST_STORES`` (default ``sqlite,postgres``); PostgreSQL
from ``TOLLGATE_TEST_POSTGRES_URL`` (``scripts/test`` sets it, starting a server if
needed). Under pytest-xdist each worker uses its own PostgreSQL database
(``<name>_gw0``, ``<name>_gw1``…).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from tollgate import migrate
from tollgate.api import create_app
from tollgate.clock import FixedClock
from tollgate.config import Settings
from tollgate.db import Database
from tollgate.models import metadata

OPERATOR_KEY = "test-operator-key"
START = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/tollgate_test"


def _stores() -> list[str]:
    raw = os.environ.get("TOLLGATE_TEST_STORES", "sqlite,postgres")
    stores = [s.strip() for s in raw.split(",") if s.strip()]
    unknown = set(stores) - {"sqlite", "postgres"}
    if unknown:
        raise pytest.UsageError(f"unknown store(s) in TOLLGATE_TEST_STORES: {sorted(unknown)}")
    return stores


def _worker_suffix(config: pytest.Config) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"_{worker}" if worker else ""


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    base = make_url(os.environ.get("TOLLGATE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    url = base.set(database=f"{base.database}{_worker_suffix(request.config)}")
    rendered = url.render_as_string(hide_password=False)
    database = Database(rendered)
    try:
        # One test session per database at a time: a second run against the same
        # database waits here instead of truncating tables under the first one.
        guard = database.engine.connect()
        guard.execute(text("SELECT pg_advisory_lock(7431)"))
        guard.commit()
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except SQLAlchemyError as exc:  # pragma: no cover - environment problem
        pytest.fail(
            f"PostgreSQL test database {url.render_as_string()} is not usable ({exc}). "
            "Run the suite with scripts/test, which starts PostgreSQL, or set "
            "TOLLGATE_TEST_STORES=sqlite to test SQLite only."
        )
    migrate.upgrade(database)
    yield rendered
    guard.close()
    database.dispose()


def _truncate_postgres(database: Database) -> None:
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=_stores())
def store(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database(store: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if store == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "tollgate.db"
        shutil.copyfile(template, path)
        db = Database(f"sqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        _truncate_postgres(db)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def app(database: Database, clock: FixedClock):
    return create_app(
        Settings(database_url=database.url, operator_keys=(OPERATOR_KEY,)),
        database=database,
        clock=clock,
    )


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}) as test_client:
        yield test_client


@pytest.fixture
def anonymous(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client

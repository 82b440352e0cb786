"""Stores of their own for tests that run ``tollgate serve`` as a real process.

These tests kill servers and open many connections, so they never touch the databases
the rest of the suite uses: SQLite gets a file in the test's temporary directory;
PostgreSQL a database of their own next to the test database of
``TOLLGATE_TEST_POSTGRES_URL`` (``<name>_reliability``, plus the xdist worker's
suffix), created on first use and emptied before each test. It is not dropped
afterwards: ``DROP DATABASE`` forces a checkpoint, which takes many seconds on a busy
server. Either way the schema is made by ``tollgate db upgrade``, as an operator would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import DEFAULT_POSTGRES_URL
from tests.reliability.stores import empty_store


@pytest.fixture(scope="session")
def reliability_postgres_url() -> Iterator[str]:
    base = make_url(os.environ.get("TOLLGATE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    name = f"{base.database}_reliability" + (f"_{worker}" if worker else "")
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    guard = admin.connect()
    try:
        # One test session per database at a time (a second run waits here).
        guard.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": name})
        exists = guard.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            guard.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        guard.close()
        admin.dispose()


@pytest.fixture
def store_url(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return empty_store(store, tmp_path, request)

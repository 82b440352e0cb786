"""Empty, migrated stores for the tests that run a real server (see ``conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.reliability.live import upgrade_schema


def _empty_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            # A killed server's sessions may linger a moment, holding locks.
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def empty_store(store: str, directory: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty store of the kind ``store`` names, migrated to the newest schema."""
    if store == "sqlite":
        url = f"sqlite:///{directory / 'tollgate.db'}"
    else:
        url = request.getfixturevalue("reliability_postgres_url")
        _empty_postgres(url)
    upgrade_schema(url)
    return url

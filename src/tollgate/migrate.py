"""Schema migrations (Alembic), driven from code: ``tollgate db upgrade``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tollgate.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    config = alembic_config(database.url)
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def head_revision(database: Database | None = None) -> str | None:
    """The newest revision this code knows; the same for every database."""
    return _head_revision()


@cache
def _head_revision() -> str | None:
    # Reading the scripts takes milliseconds, and they cannot change under a running process.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(database: Database) -> str | None:
    # A read snapshot: on SQLite it must not queue behind writers for the write lock
    # (``/readyz`` asks this every few seconds).
    with database.read() as session:
        return MigrationContext.configure(session.connection()).get_current_revision()


def is_current(database: Database) -> bool:
    return current_revision(database) == head_revision(database)

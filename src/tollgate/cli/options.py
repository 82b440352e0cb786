"""What every command shares: the database option and its checks, messages on stderr."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tollgate.clock import parse_instant
from tollgate.config import database_url_from_env
from tollgate.db import Database

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL; default $TOLLGATE_DATABASE_URL or ./tollgate.db"
    ),
]


def say(message: str) -> None:
    typer.echo(message, err=True)


def database(url: str | None) -> Database:
    return Database(url or database_url_from_env())


def current_database(url: str | None) -> Database:
    """The database, if it exists and its schema is current; otherwise a one-line answer
    and exit 1, creating nothing (not even an empty SQLite file)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    url = url or database_url_from_env()
    try:
        parsed = make_url(url)
    except ArgumentError:
        say(f"not a database URL: {url!r} (e.g. sqlite:///tollgate.db)")
        raise typer.Exit(2) from None
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None,
        "",
        ":memory:",
    )
    if on_disk and parsed.database and not Path(parsed.database).is_file():
        say(f"no database at {parsed.database}: run 'tollgate db upgrade' first")
        raise typer.Exit(1)
    found = Database(url)
    try:
        _require_current_schema(found)
    except SQLAlchemyError as exc:
        found.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        say(f"cannot reach the database {parsed.render_as_string()}: {reason}")
        raise typer.Exit(1) from None
    except BaseException:
        found.dispose()
        raise
    return found


def _require_current_schema(database: Database) -> None:
    from tollgate import migrate

    if not migrate.is_current(database):
        say("the database schema is not current: run 'tollgate db upgrade' first")
        raise typer.Exit(1)


def instant_option(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except (ValueError, OverflowError):
        say(f"{name} must be an ISO-8601 instant such as 2027-01-01T00:00:00Z, got {value!r}")
        raise typer.Exit(2) from None

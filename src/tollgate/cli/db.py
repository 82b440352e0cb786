"""``tollgate db``: the database schema."""

from __future__ import annotations

import typer

from tollgate.cli.options import DatabaseOption, database, say

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Create or migrate the schema to the newest version."""
    from tollgate import migrate

    target = database(database_url)
    try:
        before = migrate.current_revision(target)
        migrate.upgrade(target)
        after = migrate.current_revision(target)
    finally:
        target.dispose()
    say(f"schema at {after}" + (f" (was {before})" if before != after else " (already current)"))

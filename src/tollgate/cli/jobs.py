"""``tollgate jobs``: time-based work (lot expiry, lapsed reservations)."""

from __future__ import annotations

from typing import Annotated

import typer

from tollgate.cli.options import DatabaseOption, current_database, say
from tollgate.clock import SystemClock, parse_instant
from tollgate.money import format_amount

jobs_app = typer.Typer(help="Time-based work: expiry, lapsed reservations.", no_args_is_help=True)


@jobs_app.command("run")
def jobs_run(
    now: Annotated[
        str | None, typer.Option("--now", help="ISO-8601 instant to run as of (default: now)")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Run every job due at NOW: lot expiry and lapsed reservations."""
    from tollgate.jobs import run_due

    try:
        at = parse_instant(now) if now is not None else SystemClock().now()
    except (ValueError, OverflowError):
        say(f"--now must be an ISO-8601 instant such as 2027-01-31T23:59:59Z, got {now!r}")
        raise typer.Exit(2) from None
    database = current_database(database_url)
    try:
        report = run_due(
            database, at, progress=lambda r: say(f"... {r.accounts} accounts settled so far")
        )
    finally:
        database.dispose()
    expired = ", ".join(f"{format_amount(m)} {u}" for u, m in sorted(report.expired_micros.items()))
    typer.echo(
        f"jobs as of {at.isoformat()}: {report.accounts} accounts, {report.lots_expired} lots "
        f"expired ({expired or 'nothing removed'}), "
        f"{report.reservations_lapsed} reservations lapsed"
    )

"""``tollgate ledger``: checks of the ledger's invariants."""

from __future__ import annotations

import typer

from tollgate.cli.options import DatabaseOption, current_database

ledger_app = typer.Typer(help="Ledger checks.", no_args_is_help=True, rich_markup_mode=None)


@ledger_app.command("check")
def ledger_check(database_url: DatabaseOption = None) -> None:
    """Check the ledger invariants of every account; exit 1 if any is violated."""
    from sqlalchemy import select

    from tollgate.accounts.models import Account
    from tollgate.ledger import check_invariants
    from tollgate.ledger.invariants import journal_total

    database = current_database(database_url)
    failures = 0
    try:
        with database.read() as session:
            ids = list(session.scalars(select(Account.id).order_by(Account.id)))
            for account_id in ids:
                for problem in check_invariants(session, account_id):
                    failures += 1
                    typer.echo(f"{account_id}: {problem}")
            total = journal_total(session)
    finally:
        database.dispose()
    if total:
        failures += 1
        typer.echo(f"the journal's postings sum to {total}, not zero")
    typer.echo(f"{len(ids)} accounts checked, {failures} problems")
    raise typer.Exit(1 if failures else 0)

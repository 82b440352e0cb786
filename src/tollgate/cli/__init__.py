"""The ``tollgate`` command line: one module per command group, put together here."""

from __future__ import annotations

import sys

import typer

from tollgate.cli.bench import bench_app
from tollgate.cli.db import db_app
from tollgate.cli.jobs import jobs_app
from tollgate.cli.ledger import ledger_app
from tollgate.cli.rates import rates_app
from tollgate.cli.serve import demo, serve

app = typer.Typer(
    help="Tollgate: prepaid credit and usage billing.", no_args_is_help=True, rich_markup_mode=None
)
# Registration order is the order ``tollgate --help`` lists them in.
app.command()(serve)
app.command()(demo)
app.add_typer(db_app, name="db")
app.add_typer(jobs_app, name="jobs")
app.add_typer(ledger_app, name="ledger")
app.add_typer(rates_app, name="rates")
app.add_typer(bench_app, name="bench")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


__all__ = ["app", "main"]

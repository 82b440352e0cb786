"""``tollgate bench``: benchmarks against a baseline measured in the same run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tollgate.cli.options import say

bench_app = typer.Typer(
    help="Benchmarks against a baseline measured in the same run.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@bench_app.command("usage")
def bench_usage(
    store: Annotated[str, typer.Option(help="sqlite (a temporary file) or postgres")] = "sqlite",
    events: Annotated[int, typer.Option(help="Synthetic usage events to record")] = 100_000,
    batch: Annotated[int, typer.Option(help="Events per transaction (1 to 1000)")] = 1000,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="PostgreSQL server (default $TOLLGATE_DATABASE_URL "
            "or $TOLLGATE_TEST_POSTGRES_URL); the benchmark drops and re-creates its "
            "own database tollgate_bench there",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data")] = 1,
    accounts: Annotated[int, typer.Option(help="Accounts to seed")] = 1000,
    numbers: Annotated[int, typer.Option(help="Distinct phone numbers called")] = 100_000,
    floor: Annotated[
        bool,
        typer.Option(
            help="Also replay the recorder's own writes alone, in a second "
            "fresh store: the most its writes allow"
        ),
    ] = False,
    profile: Annotated[
        Path | None, typer.Option(help="Write a cProfile of the timed part to FILE")
    ] = None,
    check: Annotated[
        bool, typer.Option(help="Afterwards, check the ledger invariants of every account")
    ] = False,
) -> None:
    """Rate and charge synthetic events; the last line compares with plain inserts."""
    from tollgate.bench.usage import BenchError
    from tollgate.bench.usage import main as run_benchmark

    try:
        run_benchmark(
            store,
            events,
            batch,
            database_url=database_url,
            seed=seed,
            accounts=accounts,
            numbers=numbers,
            floor=floor,
            profile=profile,
            check=check,
        )
    except BenchError as exc:
        say(str(exc))
        raise typer.Exit(2) from None

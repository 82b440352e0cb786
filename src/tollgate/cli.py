"""The ``tollgate`` command line."""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tollgate.clock import SystemClock, parse_instant
from tollgate.config import database_url_from_env, operator_keys_from_env
from tollgate.db import Database
from tollgate.money import format_amount

app = typer.Typer(
    help="Tollgate: prepaid credit and usage billing.", no_args_is_help=True, rich_markup_mode=None
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
jobs_app = typer.Typer(help="Time-based work: expiry, lapsed reservations.", no_args_is_help=True)
ledger_app = typer.Typer(help="Ledger checks.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(db_app, name="db")
app.add_typer(jobs_app, name="jobs")
app.add_typer(ledger_app, name="ledger")
rates_app = typer.Typer(
    help="Price lists as CSV: import and export.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(rates_app, name="rates")

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="SQLAlchemy URL; default $TOLLGATE_DATABASE_URL or ./tollgate.db"
    ),
]


def _database(url: str | None) -> Database:
    return Database(url or database_url_from_env())


def _current_database(url: str | None) -> Database:
    """The database, if it exists and its schema is current; otherwise a one-line answer
    and exit 1, creating nothing (not even an empty SQLite file)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    url = url or database_url_from_env()
    try:
        parsed = make_url(url)
    except ArgumentError:
        _say(f"not a database URL: {url!r} (e.g. sqlite:///tollgate.db)")
        raise typer.Exit(2) from None
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None,
        "",
        ":memory:",
    )
    if on_disk and parsed.database and not Path(parsed.database).is_file():
        _say(f"no database at {parsed.database}: run 'tollgate db upgrade' first")
        raise typer.Exit(1)
    database = Database(url)
    try:
        _require_current_schema(database)
    except SQLAlchemyError as exc:
        database.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        _say(f"cannot reach the database {parsed.render_as_string()}: {reason}")
        raise typer.Exit(1) from None
    except BaseException:
        database.dispose()
        raise
    return database


def _say(message: str) -> None:
    typer.echo(message, err=True)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Create or migrate the schema to the newest version."""
    from tollgate import migrate

    database = _database(database_url)
    try:
        before = migrate.current_revision(database)
        migrate.upgrade(database)
        after = migrate.current_revision(database)
    finally:
        database.dispose()
    _say(f"schema at {after}" + (f" (was {before})" if before != after else " (already current)"))


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
        _say(f"--now must be an ISO-8601 instant such as 2027-01-31T23:59:59Z, got {now!r}")
        raise typer.Exit(2) from None
    database = _current_database(database_url)
    try:
        report = run_due(
            database, at, progress=lambda r: _say(f"... {r.accounts} accounts settled so far")
        )
    finally:
        database.dispose()
    expired = ", ".join(f"{format_amount(m)} {u}" for u, m in sorted(report.expired_micros.items()))
    typer.echo(
        f"jobs as of {at.isoformat()}: {report.accounts} accounts, {report.lots_expired} lots "
        f"expired ({expired or 'nothing removed'}), "
        f"{report.reservations_lapsed} reservations lapsed"
    )


@ledger_app.command("check")
def ledger_check(database_url: DatabaseOption = None) -> None:
    """Check the ledger invariants of every account; exit 1 if any is violated."""
    from sqlalchemy import select

    from tollgate.accounts.models import Account
    from tollgate.ledger import check_invariants
    from tollgate.ledger.invariants import journal_total

    database = _current_database(database_url)
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


PriceListOption = Annotated[str, typer.Option("--price-list", help="Price list id, e.g. default")]


EXAMPLE_PRICE_LIST = Path(__file__).parent / "rating" / "examples" / "starter.csv"


@rates_app.command("import")
def rates_import(
    file: Annotated[
        Path | None, typer.Argument(help="CSV file; columns as the API's price rows")
    ] = None,
    price_list: Annotated[
        str | None,
        typer.Option("--price-list", help="Price list id, e.g. default (--example: default)"),
    ] = None,
    example: Annotated[
        bool,
        typer.Option(
            "--example",
            help="Import the starter price list shipped with Tollgate instead of FILE "
            "(voice, SMS, e-mail, WhatsApp templates, day pass; in EUR unless --unit)",
        ),
    ] = False,
    effective_from: Annotated[
        str | None, typer.Option("--effective-from", help="ISO-8601 instant (default: now)")
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="Unit of the prices (default: the current version's)"),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Store FILE as a new version of a price list; nothing is stored if any line is bad."""
    from tollgate.errors import TollgateError
    from tollgate.rating.csv import BadCsv, import_price_list

    if example == (file is not None):
        _say("give a CSV file or --example (the starter price list), not both")
        raise typer.Exit(2)
    if example:
        file, price_list, unit = EXAMPLE_PRICE_LIST, price_list or "default", unit or "EUR"
    if price_list is None:
        _say("--price-list is required: the id of the price list to store, e.g. default")
        raise typer.Exit(2)
    assert file is not None
    start = _instant_option("--effective-from", effective_from)
    try:
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _say(f"cannot read {file}: {exc}")
        raise typer.Exit(2) from None
    database = _current_database(database_url)
    try:
        with database.write() as session:
            stored, created = import_price_list(
                session,
                price_list,
                content,
                now=SystemClock().now(),
                unit=unit,
                effective_from=start,
            )
    except BadCsv as exc:
        for line, message in exc.problems:
            _say(f"{file}:{line}: {message}")
        _say(f"nothing imported: {len(exc.problems)} bad line(s)")
        raise typer.Exit(1) from None
    except TollgateError as exc:
        _say(f"nothing imported: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    header = stored.header
    verb = "imported as" if created else "unchanged: identical to"
    typer.echo(
        f"price list {header.price_list_id} {verb} version {header.version}: "
        f"{header.row_count} rows in {header.unit}, effective from "
        f"{header.effective_from.isoformat()}"
    )


@rates_app.command("export")
def rates_export(
    price_list: PriceListOption,
    at: Annotated[str | None, typer.Option("--at", help="ISO-8601 instant (default: now)")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Write the version of a price list in force now (or at --at) as CSV."""
    from tollgate.errors import TollgateError
    from tollgate.rating.csv import export_price_list

    moment = _instant_option("--at", at) or SystemClock().now()
    database = _current_database(database_url)
    try:
        with database.read() as session:
            stored, content = export_price_list(session, price_list, at=moment)
    except TollgateError as exc:
        _say(exc.message)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    if output is None:
        sys.stdout.write(content)
    else:
        output.write_text(content, encoding="utf-8")
    _say(
        f"price list {stored.header.price_list_id} version {stored.header.version}: "
        f"{stored.header.row_count} rows in {stored.header.unit}"
    )


def _instant_option(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except (ValueError, OverflowError):
        _say(f"{name} must be an ISO-8601 instant such as 2027-01-01T00:00:00Z, got {value!r}")
        raise typer.Exit(2) from None


def _require_current_schema(database: Database) -> None:
    from tollgate import migrate

    if not migrate.is_current(database):
        _say("the database schema is not current: run 'tollgate db upgrade' first")
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    database_url: DatabaseOption = None,
    log_level: Annotated[
        str, typer.Option(envvar="TOLLGATE_LOG_LEVEL", help="debug, info, warning or error")
    ] = "info",
    graceful_timeout: Annotated[
        int,
        typer.Option(
            envvar="TOLLGATE_GRACEFUL_SHUTDOWN_SECONDS",
            min=1,
            help="On SIGTERM, seconds left to requests in flight before they are cut off",
        ),
    ] = 30,
) -> None:
    """Serve the HTTP API; log JSON lines to stderr; on SIGTERM, finish requests in flight."""
    import uvicorn

    from tollgate.logs import logging_config

    if log_level.lower() not in {"debug", "info", "warning", "error"}:
        _say(f"--log-level must be debug, info, warning or error, got {log_level!r}")
        raise typer.Exit(2)
    # uvicorn answers SIGTERM by finishing the requests in flight, then raises the signal
    # again to the handler it found: this one, so that a graceful stop exits with 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if database_url:
        os.environ["TOLLGATE_DATABASE_URL"] = database_url
    _current_database(database_url).dispose()
    if not operator_keys_from_env():
        _say("warning: TOLLGATE_OPERATOR_KEY is not set; every request will answer 401")
    uvicorn.run(
        "tollgate.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=logging_config(log_level),
        log_level=log_level.lower(),
        access_log=False,  # tollgate.access writes one, with the request id
        timeout_graceful_shutdown=graceful_timeout,
    )


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@app.command()
def demo(
    database: Annotated[Path, typer.Option(help="SQLite file for the demo")] = Path(
        "tollgate-demo.db"
    ),
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Seed only, do not serve")] = False,
) -> None:
    """Create a seeded demo installation (SQLite) and serve it."""
    from tollgate import migrate
    from tollgate.demo import DEMO_OPERATOR_KEY, seed

    url = f"sqlite:///{database.resolve()}"
    os.environ["TOLLGATE_DATABASE_URL"] = url
    key = os.environ.setdefault("TOLLGATE_OPERATOR_KEY", DEMO_OPERATOR_KEY)
    db = Database(url)
    migrate.upgrade(db)
    created = seed(db, SystemClock().now())
    db.dispose()
    _say(("seeded" if created else "reusing") + f" demo data in {database}")
    operator_key = key.split(",")[0]
    if no_serve:
        # Nothing listens: say how to serve it rather than print an address that answers nothing.
        typer.echo(
            "\nTollgate demo (seeded, not served)\n"
            f"  operator key: {operator_key}\n"
            f"  serve it:     TOLLGATE_OPERATOR_KEY='{operator_key}' "
            f"tollgate serve --database-url {url}\n"
        )
        return
    base = f"http://{host}:{port}"
    typer.echo(
        "\nTollgate demo\n"
        f"  API:          {base}/v1   (OpenAPI: {base}/docs)\n"
        f"  operator key: {operator_key}\n"
        f"  try:          curl -H 'Authorization: Bearer {operator_key}' "
        f"{base}/v1/accounts/acme/balance\n"
    )
    serve(host=host, port=port, workers=1, database_url=url)


bench_app = typer.Typer(
    help="Benchmarks against a baseline measured in the same run.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(bench_app, name="bench")


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
        _say(str(exc))
        raise typer.Exit(2) from None


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":
    main()

"""``tollgate rates``: price lists as CSV, imported and exported."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tollgate.cli.options import DatabaseOption, current_database, instant_option, say
from tollgate.clock import SystemClock

rates_app = typer.Typer(
    help="Price lists as CSV: import and export.", no_args_is_help=True, rich_markup_mode=None
)

PriceListOption = Annotated[str, typer.Option("--price-list", help="Price list id, e.g. default")]


EXAMPLE_PRICE_LIST = Path(__file__).parents[1] / "rating" / "examples" / "starter.csv"


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
        say("give a CSV file or --example (the starter price list), not both")
        raise typer.Exit(2)
    if example:
        file, price_list, unit = EXAMPLE_PRICE_LIST, price_list or "default", unit or "EUR"
    if price_list is None:
        say("--price-list is required: the id of the price list to store, e.g. default")
        raise typer.Exit(2)
    assert file is not None
    start = instant_option("--effective-from", effective_from)
    try:
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        say(f"cannot read {file}: {exc}")
        raise typer.Exit(2) from None
    database = current_database(database_url)
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
            say(f"{file}:{line}: {message}")
        say(f"nothing imported: {len(exc.problems)} bad line(s)")
        raise typer.Exit(1) from None
    except TollgateError as exc:
        say(f"nothing imported: {exc.message}")
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

    moment = instant_option("--at", at) or SystemClock().now()
    database = current_database(database_url)
    try:
        with database.read() as session:
            stored, content = export_price_list(session, price_list, at=moment)
    except TollgateError as exc:
        say(exc.message)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    if output is None:
        sys.stdout.write(content)
    else:
        output.write_text(content, encoding="utf-8")
    say(
        f"price list {stored.header.price_list_id} version {stored.header.version}: "
        f"{stored.header.row_count} rows in {stored.header.unit}"
    )

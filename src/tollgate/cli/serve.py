"""``tollgate serve`` and ``tollgate demo``: the HTTP API, on a chosen or a seeded database."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from tollgate.cli.options import DatabaseOption, current_database, say
from tollgate.clock import SystemClock
from tollgate.config import operator_keys_from_env
from tollgate.db import Database


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
        say(f"--log-level must be debug, info, warning or error, got {log_level!r}")
        raise typer.Exit(2)
    # uvicorn answers SIGTERM by finishing the requests in flight, then raises the signal
    # again to the handler it found: this one, so that a graceful stop exits with 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if database_url:
        os.environ["TOLLGATE_DATABASE_URL"] = database_url
    current_database(database_url).dispose()
    if not operator_keys_from_env():
        say("warning: TOLLGATE_OPERATOR_KEY is not set; every request will answer 401")
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
    say(("seeded" if created else "reusing") + f" demo data in {database}")
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

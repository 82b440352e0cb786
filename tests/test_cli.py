"""The ``tollgate`` command: db upgrade, demo, ledger check, jobs run."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from tests.conftest import START
from tollgate import ledger, migrate
from tollgate.accounts.service import create_account
from tollgate.cli import app
from tollgate.db import Database
from tollgate.money import parse_amount

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    # `demo` exports these for the server it starts; keep them out of other tests.
    monkeypatch.delenv("TOLLGATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TOLLGATE_OPERATOR_KEY", raising=False)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class TestDbUpgrade:
    def test_creates_the_schema_on_a_fresh_file(self, tmp_path):
        path = tmp_path / "fresh.db"
        result = invoke("db", "upgrade", "--database-url", sqlite_url(path))
        assert result.exit_code == 0, result.output
        database = Database(sqlite_url(path))
        try:
            head = migrate.head_revision(database)
            assert migrate.current_revision(database) == head
            assert f"schema at {head} (was None)" in result.stderr
            tables = set(inspect(database.engine).get_table_names())
            assert {"accounts", "lots", "reservations", "idempotency_records"} <= tables
        finally:
            database.dispose()

    def test_a_second_run_changes_nothing(self, tmp_path):
        url = sqlite_url(tmp_path / "fresh.db")
        assert invoke("db", "upgrade", "--database-url", url).exit_code == 0
        result = invoke("db", "upgrade", "--database-url", url)
        assert result.exit_code == 0, result.output
        assert "(already current)" in result.stderr

    def test_reads_the_url_from_the_environment(self, tmp_path, monkeypatch):
        path = tmp_path / "from-env.db"
        monkeypatch.setenv("TOLLGATE_DATABASE_URL", sqlite_url(path))
        assert invoke("db", "upgrade").exit_code == 0
        assert path.exists()


class TestDemo:
    def test_seeds_a_sound_ledger(self, tmp_path):
        path = tmp_path / "demo.db"
        result = invoke("demo", "--no-serve", "--database", str(path))
        assert result.exit_code == 0, result.output
        assert "seeded demo data" in result.stderr
        assert "operator key: demo-operator-key" in result.stdout
        # Nothing is served: no address that would answer nothing, but how to serve it.
        assert "http://" not in result.stdout
        assert f"tollgate serve --database-url {sqlite_url(path.resolve())}" in result.stdout

        check = invoke("ledger", "check", "--database-url", sqlite_url(path))
        assert check.exit_code == 0, check.output
        assert "2 accounts checked, 0 problems" in check.stdout

    def test_a_second_run_reuses_the_data(self, tmp_path):
        path = tmp_path / "demo.db"
        assert invoke("demo", "--no-serve", "--database", str(path)).exit_code == 0
        database = Database(sqlite_url(path))
        try:
            before = _balances(database)
            result = invoke("demo", "--no-serve", "--database", str(path))
            assert result.exit_code == 0, result.output
            assert "reusing demo data" in result.stderr
            assert _balances(database) == before
        finally:
            database.dispose()


class TestLedgerCheck:
    def test_reports_a_broken_ledger_and_exits_1(self, tmp_path):
        path = tmp_path / "demo.db"
        assert invoke("demo", "--no-serve", "--database", str(path)).exit_code == 0
        database = Database(sqlite_url(path))
        try:
            with database.engine.begin() as connection:
                connection.execute(
                    text(
                        "UPDATE buckets SET balance = balance + 1 "
                        "WHERE account_id = 'globex' AND list_id = ''"
                    )
                )
        finally:
            database.dispose()
        result = invoke("ledger", "check", "--database-url", sqlite_url(path))
        assert result.exit_code == 1, result.output
        assert "globex: " in result.stdout
        assert "2 accounts checked, 0 problems" not in result.stdout


def _seed_expiring(database: Database) -> None:
    """acme: 5 EUR expiring a day after START (3 of it allocated to a list), 2 that never expire."""
    with database.write() as session:
        account = create_account(session, account_id="acme", name="Acme", unit="EUR", now=START)
        ledger.grant(
            session,
            account,
            amount=parse_amount("5"),
            expires_at=START + timedelta(days=1),
            now=START,
        )
        ledger.grant(session, account, amount=parse_amount("2"), now=START)
        ledger.set_allocation(session, account, "support", parse_amount("3"), now=START)


def _balances(database: Database) -> dict:
    from sqlalchemy import select

    from tollgate.accounts.models import Account

    figures = {}
    with database.read() as session:
        for account in session.scalars(select(Account).order_by(Account.id)):
            view = ledger.balance_view(session, account)
            figures[account.id] = (
                view.total,
                view.reserved,
                view.unassigned.balance,
                [(b.list_id, b.balance, b.reserved) for b in view.lists],
                [(lot.id, lot.remaining, lot.reserved) for lot in view.lots],
            )
    return figures


class TestJobsRun:
    def test_expires_once_and_the_second_run_changes_nothing(self, database):
        _seed_expiring(database)
        at = (START + timedelta(days=2)).isoformat().replace("+00:00", "Z")

        first = invoke("jobs", "run", "--now", at, "--database-url", database.url)
        assert first.exit_code == 0, first.output
        assert "1 accounts, 1 lots expired (5 EUR), 0 reservations lapsed" in first.stdout
        after_first = _balances(database)
        total, reserved, pool, lists, _lots = after_first["acme"]
        assert (total, reserved) == (2_000_000, 0)
        # The pool held 4 (7 - 3 allocated): it loses all of it before the list loses 1.
        assert pool == 0 and lists == [("support", 2_000_000, 0)]

        second = invoke("jobs", "run", "--now", at, "--database-url", database.url)
        assert second.exit_code == 0, second.output
        assert "0 accounts, 0 lots expired (nothing removed)" in second.stdout
        assert _balances(database) == after_first

    def test_nothing_is_due_before_the_expiry(self, database):
        _seed_expiring(database)
        before = _balances(database)
        result = invoke(
            "jobs", "run", "--now", "2026-01-01T23:59:59Z", "--database-url", database.url
        )
        assert result.exit_code == 0, result.output
        assert "0 lots expired (nothing removed)" in result.stdout
        assert _balances(database) == before

    @pytest.mark.parametrize(
        "now", ["yesterday", "2026-13-01", "1700000000", "", "9999-12-31T23:59:59-05:00"]
    )
    def test_a_bad_now_is_exit_code_2_with_a_clear_message(self, tmp_path, now):
        url = sqlite_url(tmp_path / "t.db")
        assert invoke("db", "upgrade", "--database-url", url).exit_code == 0
        result = invoke("jobs", "run", "--now", now, "--database-url", url)
        assert result.exit_code == 2, result.output
        assert "--now must be an ISO-8601 instant such as 2027-01-31T23:59:59Z" in result.stderr

    def test_refuses_a_database_without_the_schema(self, tmp_path):
        url = sqlite_url(tmp_path / "empty.db")
        result = invoke("jobs", "run", "--now", "2026-01-01T00:00:00Z", "--database-url", url)
        assert result.exit_code == 1, result.output
        assert "run 'tollgate db upgrade' first" in result.stderr


SCHEMA_COMMANDS = {
    "ledger check": ["ledger", "check"],
    "jobs run": ["jobs", "run"],
    "rates export": ["rates", "export", "--price-list", "default"],
    "rates import": ["rates", "import", "--example"],
}


class TestWithoutADatabase:
    @pytest.mark.parametrize("command", SCHEMA_COMMANDS.values(), ids=SCHEMA_COMMANDS.keys())
    def test_a_missing_file_is_refused_and_not_created(self, tmp_path, command):
        path = tmp_path / "nothing" / "here.db"
        result = runner.invoke(app, [*command, "--database-url", sqlite_url(path)])
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert result.stderr.strip() == (f"no database at {path}: run 'tollgate db upgrade' first")
        assert not path.parent.exists()

    @pytest.mark.parametrize("command", SCHEMA_COMMANDS.values(), ids=SCHEMA_COMMANDS.keys())
    def test_a_file_without_the_schema_is_refused(self, tmp_path, command):
        path = tmp_path / "empty.db"
        path.touch()
        result = runner.invoke(app, [*command, "--database-url", sqlite_url(path)])
        assert result.exit_code == 1, result.output
        assert "run 'tollgate db upgrade' first" in result.stderr
        with sqlite3.connect(path) as connection:
            tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
        assert tables == []

    def test_an_unreachable_postgres_is_one_clear_line(self):
        # Nothing listens on port 1 of the loopback address.
        url = "postgresql+psycopg://tollgate@127.0.0.1:1/tollgate"
        result = runner.invoke(app, ["ledger", "check", "--database-url", url])
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(
            "cannot reach the database postgresql+psycopg://tollgate@127.0.0.1:1"
        )


class TestHelp:
    @pytest.mark.parametrize(
        "command", [["demo"], ["bench", "usage"], ["rates", "import"]], ids=" ".join
    )
    def test_flags_show_no_type(self, command):
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output
        assert "--help" in result.output


class TestStarterPriceList:
    def test_a_fresh_install_can_rate_with_the_example(self, tmp_path):
        url = sqlite_url(tmp_path / "fresh.db")
        assert invoke("db", "upgrade", "--database-url", url).exit_code == 0

        result = invoke("rates", "import", "--example", "--database-url", url)

        assert result.exit_code == 0, result.output
        assert "price list default imported as version 1: 9 rows in EUR" in result.stdout
        exported = invoke("rates", "export", "--price-list", "default", "--database-url", url)
        lines = exported.stdout.splitlines()
        assert "sms,,,,,0.0079,1,," in lines or any(
            line.startswith("sms,") and ",0.0079," in line for line in lines
        )
        assert any(line.startswith("day_pass,") and ",3.5," in line for line in lines)

    def test_the_example_is_shipped_inside_the_package(self):
        from importlib.resources import files

        starter = files("tollgate") / "rating" / "examples" / "starter.csv"
        channels = {line.split(",")[0] for line in starter.read_text().splitlines()[1:]}
        assert channels == {"voice", "sms", "email", "whatsapp_template", "day_pass"}

    def test_a_file_and_the_example_together_are_refused(self, tmp_path):
        result = runner.invoke(app, ["rates", "import", str(tmp_path / "x.csv"), "--example"])
        assert result.exit_code == 2, result.output
        assert "not both" in result.stderr


def test_the_installed_command_reports_a_bad_now(tmp_path):
    executable = Path(sys.executable).with_name("tollgate")
    completed = subprocess.run(
        [
            str(executable),
            "jobs",
            "run",
            "--now",
            "soon",
            "--database-url",
            sqlite_url(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2, completed
    assert "--now must be an ISO-8601 instant" in completed.stderr

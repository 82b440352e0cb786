"""`tollgate rates import` / `export`: CSV round trip, and bad lines named by number."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tollgate.cli import app
from tollgate.rating.csv import BadCsv, read_rows, write_rows

CSV = """channel,direction,destination,number_type,category,price,per,increment,connect_fee
voice,outbound,*,*,*,0.014,60,60/60,0
voice,inbound,*,*,*,0.0085,60,60/60,0
voice,inbound,*,toll_free,*,0.022,60,60/60,0
voice,outbound,+3933,*,*,0.1,60,30/6,0.05
sms,*,*,*,*,0.0079,1,,
email,*,*,*,*,0.675,1000,,
whatsapp_template,*,FR,*,marketing,0.0859,1,,
day_pass,*,*,*,*,3.5,1,,
"""

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "rates.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


class TestCsvFormat:
    def test_export_writes_back_what_was_read(self):
        assert write_rows(read_rows(CSV)) == CSV

    def test_only_channel_and_price_columns_are_required(self):
        rows = read_rows("channel,price\nvoice,0.014\nsms,0.0079\n")
        assert [(r.channel, r.per, r.increment) for r in rows] == [
            ("voice", 60, "60/60"),
            ("sms", 1, None),
        ]

    def test_blank_lines_and_a_byte_order_mark_are_ignored(self):
        assert len(read_rows("\ufeffchannel,price\n\nvoice,0.014\n\n")) == 1

    def test_every_bad_line_is_reported_with_its_number(self):
        text = (
            "channel,destination,price\n"
            "voice,FR,0.014\n"
            "voice,France,0.014\n"
            "sms,*,0.0000001\n"
            "voice,FR,0.02\n"
            "fax,*,1\n"
        )
        with pytest.raises(BadCsv) as excinfo:
            read_rows(text)
        lines = [line for line, _ in excinfo.value.problems]
        assert lines == [3, 4, 5, 6]
        messages = dict(excinfo.value.problems)
        assert "destination" in messages[3]
        assert "6 decimals" in messages[4]
        assert "line 2" in messages[5]  # the duplicate names the line it repeats
        assert "channel" in messages[6]

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("", "empty"),
            ("channel,price\n", "no price rows"),
            ("channel,cost\nvoice,1\n", "unknown column"),
            ("channel,price,price\nvoice,1,1\n", "more than once"),
            ("channel,price\nvoice,1,1\n", "cells"),
        ],
    )
    def test_a_malformed_file_is_refused(self, text, words):
        with pytest.raises(BadCsv) as excinfo:
            read_rows(text)
        assert words in excinfo.value.message


class TestRatesCommands:
    def test_import_then_export_round_trip(self, database, csv_file, tmp_path):
        imported = invoke(
            "rates",
            "import",
            str(csv_file),
            "--price-list",
            "default",
            "--unit",
            "EUR",
            "--effective-from",
            "2026-01-01T00:00:00Z",
            "--database-url",
            database.url,
        )
        assert imported.exit_code == 0, imported.output
        assert "version 1" in imported.stdout and "8 rows" in imported.stdout

        exported = invoke(
            "rates", "export", "--price-list", "default", "--database-url", database.url
        )
        assert exported.exit_code == 0, exported.output
        assert exported.stdout == CSV

        out = tmp_path / "out.csv"
        to_file = invoke(
            "rates",
            "export",
            "--price-list",
            "default",
            "--output",
            str(out),
            "--at",
            "2026-06-01T00:00:00Z",
            "--database-url",
            database.url,
        )
        assert to_file.exit_code == 0, to_file.output
        assert out.read_text(encoding="utf-8") == CSV

    def test_a_second_import_is_a_new_version_in_the_same_unit(self, database, csv_file, tmp_path):
        first = invoke(
            "rates",
            "import",
            str(csv_file),
            "--price-list",
            "default",
            "--unit",
            "EUR",
            "--effective-from",
            "2026-01-01T00:00:00Z",
            "--database-url",
            database.url,
        )
        assert first.exit_code == 0, first.output
        cheaper = tmp_path / "cheaper.csv"
        cheaper.write_text("channel,price\nsms,0.006\n", encoding="utf-8")
        second = invoke(
            "rates",
            "import",
            str(cheaper),
            "--price-list",
            "default",
            "--effective-from",
            "2026-03-01T00:00:00Z",
            "--database-url",
            database.url,
        )
        assert second.exit_code == 0, second.output
        assert "version 2" in second.stdout and "EUR" in second.stdout
        before = invoke(
            "rates",
            "export",
            "--price-list",
            "default",
            "--at",
            "2026-02-01T00:00:00Z",
            "--database-url",
            database.url,
        )
        assert before.stdout == CSV
        after = invoke(
            "rates",
            "export",
            "--price-list",
            "default",
            "--at",
            "2026-03-01T00:00:00Z",
            "--database-url",
            database.url,
        )
        assert after.stdout.splitlines()[1] == "sms,*,*,*,*,0.006,1,,"

    def test_bad_lines_import_nothing(self, database, tmp_path):
        bad = tmp_path / "bad.csv"
        bad.write_text(
            CSV + "voice,outbound,*,*,*,0.01,60,60/60,0\nsms,*,*,*,*,-1,1,,\n", encoding="utf-8"
        )
        result = invoke(
            "rates",
            "import",
            str(bad),
            "--price-list",
            "default",
            "--unit",
            "EUR",
            "--database-url",
            database.url,
        )
        assert result.exit_code == 1
        assert f"{bad}:10:" in result.stderr and f"{bad}:11:" in result.stderr
        assert "nothing imported: 2 bad line(s)" in result.stderr
        missing = invoke(
            "rates", "export", "--price-list", "default", "--database-url", database.url
        )
        assert missing.exit_code == 1
        assert "does not exist" in missing.stderr

    def test_a_new_price_list_needs_its_unit(self, database, csv_file):
        result = invoke(
            "rates",
            "import",
            str(csv_file),
            "--price-list",
            "default",
            "--database-url",
            database.url,
        )
        assert result.exit_code == 1
        assert "--unit" in result.stderr

    def test_a_bad_instant_is_a_usage_error(self, database, csv_file):
        result = invoke(
            "rates",
            "import",
            str(csv_file),
            "--price-list",
            "default",
            "--unit",
            "EUR",
            "--effective-from",
            "tomorrow",
            "--database-url",
            database.url,
        )
        assert result.exit_code == 2
        assert "ISO-8601" in result.stderr

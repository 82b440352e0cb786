"""The usage benchmark runs end to end on a tiny workload (no timing is asserted)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from tollgate.bench.usage import main
from tollgate.cli import app

LAST_LINE = re.compile(
    r"^usage store=sqlite batch=100 events_per_s=\d+ baseline_per_s=\d+ ratio=\d+\.\d\d$"
)


class TestUsageBenchmark:
    def test_every_event_is_charged_and_the_ledger_still_balances(self, capsys):
        result = main("sqlite", 300, 100, accounts=30, numbers=1000, check=True)

        assert result.events == 300
        assert result.errors == 0, result.error_codes
        assert result.baseline_rows == 300
        assert result.problems == []
        assert LAST_LINE.match(capsys.readouterr().out.splitlines()[-1])

    def test_the_floor_replays_exactly_the_recorders_writes(self, capsys):
        result = main("sqlite", 300, 100, accounts=30, numbers=1000, check=True, floor=True)

        # The check covers both stores: the replay alone leaves a sound ledger, so
        # it wrote everything the recorder did.
        assert result.problems == []
        assert result.floor_per_s is not None and result.floor_per_s > 0
        assert (
            "floor: replaying the recorder's own writes for 300 events" in capsys.readouterr().err
        )

    def test_the_command_prints_the_figures_as_its_last_line(self):
        outcome = CliRunner().invoke(
            app,
            [
                "bench",
                "usage",
                "--store",
                "sqlite",
                "--events",
                "300",
                "--batch",
                "100",
                "--accounts",
                "30",
                "--numbers",
                "1000",
            ],
        )

        assert outcome.exit_code == 0, outcome.output
        assert LAST_LINE.match(outcome.stdout.splitlines()[-1])
        assert "0 refused" in outcome.stderr

    def test_a_batch_larger_than_the_api_allows_is_refused(self):
        outcome = CliRunner().invoke(app, ["bench", "usage", "--batch", "1001"])

        assert outcome.exit_code == 2
        assert "--batch must be between 1 and 1000" in outcome.stderr

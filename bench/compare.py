"""Run ``tollgate bench usage`` for an earlier revision and for the work tree, turn
about, in the same window, and print both with the ratio between them.

    .venv/bin/python bench/compare.py REV [--rounds 3] [bench usage options…]

e.g. ``bench/compare.py b27a081 --store sqlite --events 20000 --batch 1000``. The
earlier revision is checked out (``git worktree``) into a temporary folder and
imported from there (``PYTHONPATH``) with this virtualenv's packages; each run's
last line is parsed, and the median of the rounds is compared. A shared machine
moves absolute figures by a third from run to run; alternating the two sides
keeps that noise out of their ratio.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# "recorded 20,000 events in 3.41 s (5,865/s; 6,081/s of this process's CPU time)"
_RECORDED = re.compile(r"recorded [\d,]+ events in .*?; ([\d,]+)/s of this process's CPU time")


def run(source: Path, options: list[str]) -> dict[str, str]:
    """One benchmark run: its last line's fields, and ``cpu_per_s``, the recorder's
    events per second of the process's CPU time (on SQLite, all the work; steadier
    than wall time on a shared machine)."""
    command = [sys.executable, "-c", "from tollgate.cli import main; main()", "bench", "usage"]
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run(
        command + options, env=env, capture_output=True, text=True, check=True, cwd=source.parent
    )
    last = done.stdout.strip().splitlines()[-1]
    fields = dict(field.split("=", 1) for field in last.split()[1:])
    found = _RECORDED.search(done.stderr)
    fields["cpu_per_s"] = found.group(1).replace(",", "") if found else "nan"
    return fields


def main(argv: list[str]) -> None:
    revision, rest = argv[0], argv[1:]
    rounds = 3
    if rest[:1] == ["--rounds"]:
        rounds, rest = int(rest[1]), rest[2:]
    with tempfile.TemporaryDirectory() as folder:
        before = Path(folder) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(before), revision],
            cwd=ROOT,
            check=True,
        )
        try:
            figures: dict[str, list[float]] = {"before": [], "after": []}
            ratios: dict[str, list[float]] = {"before": [], "after": []}
            cpu: dict[str, list[float]] = {"before": [], "after": []}
            for number in range(rounds):
                for side, source in (("before", before / "src"), ("after", ROOT / "src")):
                    line = run(source, rest)
                    figures[side].append(float(line["events_per_s"]))
                    ratios[side].append(float(line["ratio"]))
                    cpu[side].append(float(line["cpu_per_s"]))
                    print(f"round {number + 1} {side}: {line}", file=sys.stderr)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT)
    old, new = (statistics.median(figures[side]) for side in ("before", "after"))
    old_ratio, new_ratio = (statistics.median(ratios[side]) for side in ("before", "after"))
    old_cpu, new_cpu = (statistics.median(cpu[side]) for side in ("before", "after"))
    print(
        f"compare {' '.join(rest)} before={revision} events_per_s={old:.0f} -> {new:.0f} "
        f"(x{new / old:.2f}) per_cpu_s={old_cpu:.0f} -> {new_cpu:.0f} (x{new_cpu / old_cpu:.2f}) "
        f"ratio_to_baseline={old_ratio:.3f} -> {new_ratio:.3f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

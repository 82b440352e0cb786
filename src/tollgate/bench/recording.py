"""The timed part: the events go through :class:`~tollgate.usage.recorder.UsageRecorder`
in batches, one :meth:`Database.write` transaction per batch."""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tollgate.bench import Progress
from tollgate.bench.floor import Writes, logging_writes
from tollgate.bench.workload import NOW
from tollgate.db import Database
from tollgate.errors import TollgateError
from tollgate.rating.rater import number_facts
from tollgate.usage.recorder import UsageRecorder
from tollgate.usage.service import UsageInput


@dataclass
class Recording:
    """What recording the events came to."""

    errors: int
    error_codes: Counter[str]
    seconds: float
    cpu_seconds: float


def record_events(
    database: Database,
    inputs: list[UsageInput],
    batch: int,
    say: Progress,
    profile: Path | None,
    writes: Writes,
) -> Recording:
    """Record the events, batch by batch; ``writes`` gets each batch's writes."""
    number_facts.cache_clear()  # every number is new to the process, as in production
    errors = 0
    codes: Counter[str] = Counter()
    report_every = max(1, len(inputs) // batch // 10)
    profiler = cProfile.Profile() if profile else None
    say(
        f"recording {len(inputs):,} events in batches of {batch}"
        + (" under cProfile (slower)" if profiler else "")
    )
    if profiler:
        profiler.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    for number, start in enumerate(range(0, len(inputs), batch), 1):
        with database.write() as session, logging_writes(writes):
            writes.append([])
            results = UsageRecorder(session, now=NOW).record(inputs[start : start + batch])
        for result in results:
            if isinstance(result, TollgateError):
                errors += 1
                codes[result.code] += 1
        if number % report_every == 0:
            done = min(start + batch, len(inputs))
            elapsed = time.perf_counter() - started
            say(f"... {done:,} events recorded, {done / elapsed:,.0f}/s")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler:
        profiler.disable()
        assert profile is not None
        _report_profile(profiler, profile, say)
    return Recording(errors, codes, seconds, cpu)


def _report_profile(profiler: cProfile.Profile, profile: Path, say: Progress) -> None:
    profiler.dump_stats(profile)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(25)
    say(f"profile written to {profile} (python -m pstats {profile})")

"""Benchmarks, run with ``tollgate bench …`` (or the scripts in ``bench/``).

Each one builds a fresh store, measures a baseline in the same run and store, and
prints its figures and their ratio as its last line. They are never timed
assertions in the test suite: machines differ, ratios travel better.

``tollgate bench usage`` is :mod:`tollgate.bench.usage`, in rooms by role:
``stores`` (a fresh SQLite file or PostgreSQL database), ``workload`` (the fixed
clock, the countries and the price list), ``numbers`` (the phone numbers called),
``seeding`` (accounts and their credit), ``events`` (the synthetic usage),
``recording`` (the timed part), ``baseline`` (the plain inserts it is compared
with) and ``floor`` (the recorder's own writes replayed alone).
"""

from collections.abc import Callable

Progress = Callable[[str], None]
"""Where a benchmark reports what it is doing, one line at a time."""


class BenchError(Exception):
    """The benchmark cannot run as asked; the message says what to change."""

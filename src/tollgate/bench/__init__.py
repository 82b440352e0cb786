"""Benchmarks, run with ``tollgate bench …`` (or the scripts in ``bench/``).

Each one builds a fresh store, measures a baseline in the same run and store, and
prints its figures and their ratio as its last line. They are never timed
assertions in the test suite: machines differ, ratios travel better.
"""

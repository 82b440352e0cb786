"""Background jobs: everything that happens because time passed.

``run_due`` does all work due at a given instant (the clock is injectable, so that
``tollgate jobs run --now …`` and the tests can travel in time). Running it twice
for the same instant does nothing the second time.
"""

from tollgate.jobs.runner import JobsReport, run_due

__all__ = ["JobsReport", "run_due"]

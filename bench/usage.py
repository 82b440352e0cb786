"""The usage benchmark, runnable from a checkout: ``python bench/usage.py --events 100000``.

It is ``tollgate bench usage``, with the same options; the code is
:mod:`tollgate.bench.usage` (``main(store, events, batch, ...)``), so that the
installed command has it too. See docs/performance.md.
"""

from __future__ import annotations

import typer

from tollgate.bench.usage import main  # noqa: F401  (for ``from bench.usage import main``)
from tollgate.cli.bench import bench_usage

if __name__ == "__main__":
    typer.run(bench_usage)

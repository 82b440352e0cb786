"""Tollgate: a prepaid-credit and usage-billing engine for communication platforms.

The package is usable in-process as a library (see :mod:`tollgate.library`), behind
its HTTP API (:mod:`tollgate.api`) or from the ``tollgate`` command line.
"""

__version__ = "0.1.0"

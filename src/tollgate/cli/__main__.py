"""``python -m tollgate.cli``, as the tests and live checks start the server."""

from tollgate.cli import main

main()

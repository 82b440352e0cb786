"""Durability of SQLite: an acknowledged charge survives a power loss by default.

``tollgate.db.Database`` opens every SQLite connection with ``synchronous=FULL`` (the
WAL is synced at every commit); ``TOLLGATE_SQLITE_SYNCHRONOUS=NORMAL`` trades that for
speed — a commit then survives a crash of the process, not of the machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tollgate.db import Database

pytestmark = pytest.mark.slow

# PRAGMA synchronous answers a number: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
NORMAL, FULL, EXTRA = 1, 2, 3


def pragmas(path: Path) -> tuple[int, str]:
    """``(synchronous, journal_mode)`` of a connection opened the way the server opens one."""
    database = Database(f"sqlite:///{path}")
    try:
        with database.engine.connect() as connection:
            synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar_one()
            journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
    finally:
        database.dispose()
    return synchronous, journal_mode


def test_sqlite_syncs_every_commit_by_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TOLLGATE_SQLITE_SYNCHRONOUS", raising=False)
    assert pragmas(tmp_path / "tollgate.db") == (FULL, "wal")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("NORMAL", NORMAL), ("normal", NORMAL), ("FULL", FULL), ("EXTRA", EXTRA)],
)
def test_the_documented_setting_chooses_the_level(
    tmp_path: Path, monkeypatch, setting: str, expected: int
) -> None:
    monkeypatch.setenv("TOLLGATE_SQLITE_SYNCHRONOUS", setting)
    assert pragmas(tmp_path / "tollgate.db") == (expected, "wal")


@pytest.mark.parametrize("setting", ["OFF", "0", "fast"])
def test_a_setting_that_could_lose_commits_is_refused(
    tmp_path: Path, monkeypatch, setting: str
) -> None:
    monkeypatch.setenv("TOLLGATE_SQLITE_SYNCHRONOUS", setting)
    with pytest.raises(ValueError, match="TOLLGATE_SQLITE_SYNCHRONOUS"):
        Database(f"sqlite:///{tmp_path / 'tollgate.db'}")

"""The hot path's driver cursors never outlive the checkout that opened them.

The usage recorder and the price list resolver read and write through cursors of the
DBAPI connection itself (:mod:`tollgate.rawsql`). A refused event keeps its
exception, and through the traceback the recorder and its cursor, in a reference
cycle; the garbage collector frees it later, in whichever thread it runs. A
``sqlite3`` cursor freed there resets the cached statement it last ran — possibly the
one another request is running on the same connection right then, which fails with
"bad parameter or other API misuse" (issue 8). So every such cursor must be closed by
the time its connection is back in the pool, on every path: success, refusal, error.
"""

from __future__ import annotations

import gc
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from tests.helpers import assert_ledger_sound, create_account, grant
from tests.usage.conftest import call, sms
from tollgate.ledger.models import JournalEntry
from tollgate.rawsql import RawSQL
from tollgate.usage.models import UsageEvent


def _is_open(cursor: Any) -> bool:
    if isinstance(cursor, psycopg.Cursor):
        return not cursor.closed
    try:
        cursor.fetchone()
    except sqlite3.ProgrammingError:  # "Cannot operate on a closed cursor."
        return False
    return True


@contextmanager
def cursors_left_open() -> Iterator[list[Any]]:
    """Collects, when the block ends, the driver cursors made inside it that are still
    open. The garbage collector is off meanwhile: garbage stays findable, as it is in a
    server until the collector happens to run."""
    gc.collect()
    before = {id(o) for o in gc.get_objects() if isinstance(o, sqlite3.Cursor | psycopg.Cursor)}
    left: list[Any] = []
    gc.disable()
    try:
        yield left
        left.extend(
            o
            for o in gc.get_objects()
            if isinstance(o, sqlite3.Cursor | psycopg.Cursor) and id(o) not in before
            if _is_open(o)
        )
    finally:
        gc.enable()


def test_no_driver_cursor_stays_open_after_a_request(
    client: Any, database: Any, price_list: Any
) -> None:
    create_account(client, "acme")
    grant(client, "acme", "0.02")

    with cursors_left_open() as left:
        # One paid event, two refused: the refusals are what kept cursors alive.
        answer = client.post(
            "/v1/usage/batch", json={"events": [sms("s1"), call("c0", 6000), call("c1", 6000)]}
        )
        assert answer.status_code == 200, answer.text
        assert [("error" in r) for r in answer.json()["results"]] == [False, True, True]
        assert client.post("/v1/usage", json=call("c2", 6000)).status_code == 402
        assert client.post("/v1/usage", json=sms("s3")).status_code == 200

    assert left == []


_insert = RawSQL.insert


def _failing_mid_write(self: RawSQL, table: str, columns: Any, rows: Any) -> None:
    """Fails the write after the journal entries are inserted, before their postings."""
    if table == "postings":
        raise RuntimeError("disk on fire")
    _insert(self, table, columns, rows)


def test_an_error_mid_batch_leaves_every_connection_clean(
    client: Any, database: Any, price_list: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_account(client, "acme")
    grant(client, "acme", "10")
    with database.read() as session:
        entries_before = session.scalar(select(func.count()).select_from(JournalEntry))

    with cursors_left_open() as left, monkeypatch.context() as patch:
        patch.setattr(RawSQL, "insert", _failing_mid_write)
        failed = client.post("/v1/usage/batch", json={"events": [sms("f1"), sms("f2")]})
        assert failed.status_code == 500, failed.text
    assert left == []

    # Whichever pooled connection the next requests get, each works at once: more
    # writes than the pool holds connections, each answered well within a stall.
    for n in range(20):
        began = time.monotonic()
        answer = client.post("/v1/usage/batch", json={"events": [sms(f"ok{n}")]})
        assert answer.status_code == 200, answer.text
        assert "error" not in answer.json()["results"][0]
        assert time.monotonic() - began < 10
    with database.read() as session:
        # Nothing of the failed batch was kept: one entry per later event only.
        entries = session.scalar(select(func.count()).select_from(JournalEntry))
        assert entries == entries_before + 20
        recorded = set(session.scalars(select(UsageEvent.id)))
        assert recorded == {f"ok{n}" for n in range(20)}
    assert_ledger_sound(database, "acme")

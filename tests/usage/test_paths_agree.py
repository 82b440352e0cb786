"""The batch path and the ORM path debit alike, posting for posting.

The usage hot path debits through :class:`~tollgate.ledger.batch.BatchLedger` (driver
level, many events per statement); :class:`~tollgate.ledger.batch.SessionLedger`
debits the same way through the ORM, one change at a time. Both call the same rules
(:mod:`tollgate.ledger.rules`), and this test holds them to it: random credit (lots
with priorities, expiries and channel tags, plan seconds, list allocations) and
random event streams (calls, SMS, e-mail, agent logins, on lists or not, some
allowed into debt, some replayed or conflicting) are recorded for two identical
accounts, one through each path, batch by batch as time passes. Every answer,
journal entry, posting, lot, bucket, debt and status must be the same.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import START
from tests.helpers import allocate, assert_ledger_sound, create_account, grant
from tests.usage.conftest import FR_MOBILE, ITALY, LONDON, put_price_list
from tollgate.db import Database
from tollgate.errors import TollgateError
from tollgate.ledger.batch import BatchLedger, Ledger
from tollgate.ledger.models import Account, Bucket, JournalEntry, Lot, Posting
from tollgate.ledger.session import SessionLedger
from tollgate.usage.recorder import UsageRecorder
from tollgate.usage.service import UsageInput

_accounts = itertools.count()

GRANTS = st.lists(
    st.tuples(
        st.integers(1, 40).map(lambda halves: f"{halves / 2:g}"),  # 0.5 … 20 EUR
        st.sampled_from([10, 50, 100]),
        st.sampled_from([None, 2, 30]),  # expires after that many hours
        st.sampled_from([None, ("sms",), ("voice",), ("sms", "voice")]),
    ),
    min_size=0,
    max_size=4,
)
EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["voice", "sms", "email", "agent_login"]),
        st.integers(0, 400),  # seconds, or e-mails
        st.sampled_from([FR_MOBILE, LONDON, ITALY]),
        st.sampled_from([None, "a", "b"]),
        st.sampled_from([False, False, False, True]),  # allow_debt
        st.sampled_from(["new", "new", "new", "replay", "conflict"]),
    ),
    min_size=1,
    max_size=24,
)


def _event(
    account_id: str, number: int, spec: tuple[Any, ...], seen: list[UsageInput]
) -> UsageInput:
    channel, size, to, list_id, allow_debt, kind = spec
    if kind != "new" and seen:
        first = seen[size % len(seen)]
        if kind == "replay":
            return UsageInput(**{**first.__dict__, "account_id": account_id})
        return UsageInput(**{**first.__dict__, "account_id": account_id, "list_id": "other"})
    fields: dict[str, Any] = {
        "id": f"e{number}",
        "account_id": account_id,
        "channel": channel,
        "occurred_at": START,
        "list_id": list_id,
        "allow_debt": allow_debt,
    }
    if channel == "voice":
        fields.update(to=to, duration_seconds=size)
    elif channel == "sms":
        fields.update(to=FR_MOBILE, text="x" * (1 + size))
    elif channel == "email":
        fields.update(count=1 + size * 7)
    else:
        fields.update(user_id=f"agent{size % 3}")
    event = UsageInput(**fields)
    seen.append(event)
    return event


def _snapshot(database: Database, account_id: str) -> dict[str, Any]:
    """Everything the account's credit is made of, lots named by creation order."""
    with database.read() as session:
        lots = list(
            session.scalars(select(Lot).where(Lot.account_id == account_id).order_by(Lot.id))
        )
        index = {lot.id: number for number, lot in enumerate(lots)}
        entries = list(
            session.scalars(
                select(JournalEntry)
                .where(JournalEntry.account_id == account_id)
                .order_by(JournalEntry.id)
            )
        )
        postings: dict[int, list[tuple[Any, ...]]] = {entry.id: [] for entry in entries}
        for posting in session.scalars(
            select(Posting).where(Posting.account_id == account_id).order_by(Posting.id)
        ):
            postings[posting.entry_id].append(
                (
                    posting.ledger_account,
                    posting.unit,
                    posting.amount,
                    None if posting.lot_id is None else index[posting.lot_id],
                )
            )
        account = session.get(Account, account_id)
        assert account is not None
        buckets = session.scalars(select(Bucket).where(Bucket.account_id == account_id))
        return {
            "lot ids": index,
            "lots": [(lot.unit, lot.remaining, lot.reserved, lot.expired_at) for lot in lots],
            "buckets": sorted((b.unit, b.list_id, b.balance, b.reserved) for b in buckets),
            "journal": [
                (
                    entry.kind,
                    _reference(entry.reference, index),
                    entry.created_at,
                    postings[entry.id],
                )
                for entry in entries
            ],
            "debt": account.debt,
            "status": account.status,
        }


def _reference(reference: str | None, lot_ids: dict[int, int]) -> str | None:
    if reference and reference.startswith("lot:"):
        return f"lot #{lot_ids[int(reference[4:])]}"
    return reference


def _named(answer: dict[str, Any] | TollgateError, lot_ids: dict[int, int]) -> Any:
    if isinstance(answer, TollgateError):
        return (answer.code, answer.status)
    paid_by = [{**paid, "lot_id": lot_ids[paid["lot_id"]]} for paid in answer["paid_by"]]
    return {**answer, "paid_by": paid_by}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    grants=GRANTS,
    seconds=st.sampled_from([None, "60", "150", "600"]),
    allocation=st.sampled_from([None, "0.5", "3"]),
    events=EVENTS,
    batches=st.lists(st.integers(1, 8), min_size=1, max_size=6),
)
def test_the_batch_path_and_the_orm_path_post_the_same(
    client, database: Database, clock, grants, seconds, allocation, events, batches
) -> None:
    if client.get("/v1/price-lists/default").status_code == 404:
        put_price_list(client)
    start = clock.now()
    number = next(_accounts)
    pair = {"orm": f"orm{number}", "batch": f"batch{number}"}
    for account_id in pair.values():
        create_account(client, account_id, timezone="Europe/Paris")
        for amount, priority, hours, tags in grants:
            extra: dict[str, Any] = {"priority": priority}
            if hours is not None:
                extra["expires_at"] = (start + timedelta(hours=hours)).isoformat()
            if tags is not None:
                extra["applies_to"] = list(tags)
            grant(client, account_id, amount, **extra)
        if seconds is not None:
            grant(
                client,
                account_id,
                seconds,
                unit="SECONDS",
                applies_to=["voice"],
                source="plan_allowance",
            )
        if allocation is not None and grants:
            balance = client.get(f"/v1/accounts/{account_id}/balance").json()
            if Decimal(balance["available"]) >= Decimal(allocation):
                allocate(client, account_id, "a", allocation)

    answers: dict[str, list[Any]] = {"orm": [], "batch": []}
    for path, account_id in pair.items():
        seen: list[UsageInput] = []
        stream = [_event(account_id, n, spec, seen) for n, spec in enumerate(events)]
        now = start
        position = 0
        for size in itertools.cycle(batches):
            if position >= len(stream):
                break
            with database.write() as session:
                ledger: Ledger = (
                    SessionLedger(session, now=now)
                    if path == "orm"
                    else BatchLedger(session, now=now)
                )
                recorder = UsageRecorder(session, now=now, ledger=ledger)
                answers[path] += recorder.record(stream[position : position + size])
            position += size
            now += timedelta(hours=1)

    orm, batch = (_snapshot(database, pair[path]) for path in ("orm", "batch"))
    assert [_named(a, orm["lot ids"]) for a in answers["orm"]] == [
        _named(a, batch["lot ids"]) for a in answers["batch"]
    ]
    for figure in ("lots", "buckets", "journal", "debt", "status"):
        assert orm[figure] == batch[figure], figure
    assert_ledger_sound(database, *pair.values())

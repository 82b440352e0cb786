"""The journal: every movement of credit as a balanced, append-only entry.

Customer-side ledger accounts (``pool``, ``list:<id>``, ``debt``) stand against
system accounts (``system:grants``, ``system:breakage``, ``system:revenue:<tag>``…).
Each posting on a customer account names the lot it moved. The legs of an entry
sum to zero per unit; the database refuses an entry that does not, at commit
(migration 0006).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tollgate.ledger.models import Account, JournalEntry, Posting
from tollgate.ledger.rules import Leg, balanced

BREAKAGE = "system:breakage"
SOURCE_ACCOUNTS = {
    "purchase": "system:purchases",
    "auto_recharge": "system:purchases",
    "bundle": "system:purchases",
    "grant": "system:grants",
    "plan_allowance": "system:allowances",
    "refund": "system:refunds",
}


def post_entry(
    session: Session,
    account: Account,
    kind: str,
    legs: Sequence[Leg],
    *,
    now: datetime,
    reference: str | None = None,
    memo: str | None = None,
) -> JournalEntry:
    """Append one balanced journal entry (legs sum to zero per unit; zero legs are
    left out)."""
    if not balanced(legs):
        raise AssertionError(f"unbalanced journal entry {kind}: {list(legs)}")
    entry = JournalEntry(
        account_id=account.id, kind=kind, reference=reference, memo=memo, created_at=now
    )
    session.add(entry)
    session.flush()
    session.add_all(
        Posting(
            entry_id=entry.id,
            account_id=account.id,
            ledger_account=ledger_account,
            unit=unit,
            amount=amount,
            lot_id=lot_id,
        )
        for ledger_account, unit, amount, lot_id in legs
        if amount
    )
    return entry


def journal_page(
    session: Session, account_id: str, *, limit: int, after: int | None = None
) -> tuple[list[tuple[JournalEntry, list[Posting]]], bool]:
    """Entries in the order they were written, ``limit`` at a time after a cursor."""
    stmt = select(JournalEntry).where(JournalEntry.account_id == account_id)
    if after is not None:
        stmt = stmt.where(JournalEntry.id > after)
    entries = list(session.scalars(stmt.order_by(JournalEntry.id).limit(limit + 1)))
    has_more = len(entries) > limit
    entries = entries[:limit]
    postings: dict[int, list[Posting]] = defaultdict(list)
    if entries:
        for posting in session.scalars(
            select(Posting)
            .where(Posting.account_id == account_id, Posting.entry_id.in_([e.id for e in entries]))
            .order_by(Posting.id)
        ):
            postings[posting.entry_id].append(posting)
    return [(entry, postings[entry.id]) for entry in entries], has_more

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from tollgate.accounts.models import Account
from tollgate.db import Database
from tollgate.ledger import settle

CLAIM_BATCH = 50


@dataclass
class JobsReport:
    accounts: int = 0
    lots_expired: int = 0
    reservations_lapsed: int = 0
    expired_micros: dict[str, int] = field(default_factory=dict)


def run_due(
    database: Database, now: datetime, *, progress: Callable[[JobsReport], None] | None = None
) -> JobsReport:
    """Expire lots and lapse reservations of every account with work due by ``now``.

    Work is claimed a batch of accounts at a time; on PostgreSQL with ``FOR UPDATE
    SKIP LOCKED``, so that several workers share it without waiting on each other or
    on the API.
    """
    report = JobsReport()
    while True:
        with database.write() as session:
            stmt = (
                select(Account)
                .where(Account.next_due_at.is_not(None), Account.next_due_at <= now)
                .order_by(Account.next_due_at, Account.id)
                .limit(CLAIM_BATCH)
                .execution_options(populate_existing=True)
            )
            if not database.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True, of=Account)
            accounts = list(session.scalars(stmt))
            for account in accounts:
                done = settle(session, account, now=now)
                report.accounts += 1
                report.lots_expired += done.lots_expired
                report.reservations_lapsed += done.reservations_lapsed
                for unit, micros in done.expired_micros.items():
                    report.expired_micros[unit] = report.expired_micros.get(unit, 0) + micros
        if not accounts:
            return report
        if progress is not None:
            progress(report)

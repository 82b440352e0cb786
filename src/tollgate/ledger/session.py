"""The ledger's debits through the ORM, one change at a time.

:class:`SessionLedger` has the interface of :class:`~tollgate.ledger.batch.BatchLedger`
(:class:`~tollgate.ledger.batch.Ledger`) over the session's rows: each debit is
applied with :func:`tollgate.ledger.rules.debit` and posted as it happens.
:func:`tollgate.ledger.charge` debits through it; a usage recorder given one
records exactly what the batch path records (``tests/usage/test_paths_agree.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tollgate.ledger import hooks, rules
from tollgate.ledger.balances import credit_figures, find_bucket, money_totals, open_lots
from tollgate.ledger.batch import Credit
from tollgate.ledger.expiry import lock_accounts
from tollgate.ledger.journal import post_entry
from tollgate.ledger.models import Account
from tollgate.ledger.rules import BucketRow, Debit, LotRow, Take


class SessionCredit:
    """One locked account's credit as ORM rows."""

    __slots__ = ("_account", "_lots", "session")

    def __init__(self, session: Session, account: Account) -> None:
        self.session = session
        self._account = account
        self._lots: dict[str, list[LotRow]] = {}

    @property
    def account(self) -> Account:
        return self._account

    def bucket(self, unit: str, list_id: str | None) -> BucketRow | None:
        account = self._account
        return rules.paying_bucket(
            account, unit, list_id, lambda u, name: find_bucket(self.session, account.id, u, name)
        )

    def lots(self, unit: str) -> Sequence[LotRow]:
        if unit not in self._lots:
            self._lots[unit] = list(open_lots(self.session, self._account.id, unit))
        return self._lots[unit]

    def money_totals(self) -> tuple[int, int]:
        return money_totals(self.session, self._account)


class SessionLedger:
    """The :class:`Ledger` interface over the ORM: each debit posted as it happens."""

    def __init__(self, session: Session, *, now: datetime) -> None:
        self.session = session
        self.now = now
        self._before: dict[str, tuple[Account, hooks.CreditFigures]] = {}

    def load(self, account_ids: Iterable[str]) -> dict[str, Credit]:
        accounts = lock_accounts(self.session, account_ids, now=self.now)
        # What catching up changed is visible to driver-level reads that follow.
        self.session.flush()
        return {key: SessionCredit(self.session, a) for key, a in accounts.items()}

    def debit(
        self,
        credit: Credit,
        takes: Sequence[Take],
        *,
        tag: str | None,
        allow_debt: bool,
        kind: str,
        reference: str | None,
        counterparty: str | None = None,
    ) -> Debit:
        assert isinstance(credit, SessionCredit)
        account = credit.account
        if hooks.listening() and account.id not in self._before:
            self._before[account.id] = (account, credit_figures(self.session, account))
        outcome = rules.debit(
            account, takes, tag=tag, now=self.now, allow_debt=allow_debt, counterparty=counterparty
        )
        if outcome.legs:
            entry = post_entry(
                self.session, account, kind, outcome.legs, now=self.now, reference=reference
            )
            outcome.entry_id = entry.id
        return outcome

    def write(self) -> None:
        self.session.flush()
        for account, before in self._before.values():
            after = credit_figures(self.session, account)
            if after != before:
                hooks.debited(self.session, hooks.Debited(account.id, account.unit, before, after))
        self._before.clear()

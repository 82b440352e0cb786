"""Accounts. The row itself lives with the ledger (:mod:`tollgate.ledger.models`),
which every debit locks and changes; this package creates, reads and changes
accounts, and asks the ledger to open an account's pool."""

from tollgate.ledger.models import ACCOUNT_STATUSES, Account

__all__ = ["ACCOUNT_STATUSES", "Account"]

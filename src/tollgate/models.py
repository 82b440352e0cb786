"""Every table, imported in one place so that metadata and migrations see them all."""

from tollgate.accounts.models import Account
from tollgate.db import Base
from tollgate.idempotency import IdempotencyRecord
from tollgate.ledger.models import (
    Bucket,
    JournalEntry,
    Lot,
    Posting,
    Reservation,
    ReservationHold,
)

metadata = Base.metadata

__all__ = [
    "Account",
    "Bucket",
    "IdempotencyRecord",
    "JournalEntry",
    "Lot",
    "Posting",
    "Reservation",
    "ReservationHold",
    "metadata",
]

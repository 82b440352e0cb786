"""Every table, imported in one place so that metadata and migrations see them all."""

from tollgate.access.models import ApiKey
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
from tollgate.rating.models import PriceListRow, PriceListVersion
from tollgate.usage.models import Authorization, AuthorizationSlice, DayPass, UsageEvent

metadata = Base.metadata

__all__ = [
    "Account",
    "ApiKey",
    "Authorization",
    "AuthorizationSlice",
    "Bucket",
    "DayPass",
    "IdempotencyRecord",
    "JournalEntry",
    "Lot",
    "Posting",
    "PriceListRow",
    "PriceListVersion",
    "Reservation",
    "ReservationHold",
    "UsageEvent",
    "metadata",
]

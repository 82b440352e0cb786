"""Recorded usage events read back: what was charged and the answer it was given."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tollgate.errors import NotFound
from tollgate.usage.models import UsageEvent


def get_usage_event(session: Session, account_id: str, event_id: str) -> UsageEvent:
    """A recorded event of the account (a usage event or a captured call)."""
    event = session.get(UsageEvent, (account_id, event_id))
    if event is None:
        raise NotFound(
            f"usage event {event_id!r} of account {account_id!r} was not recorded",
            code="usage_event_not_found",
        )
    return event

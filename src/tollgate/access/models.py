"""Account-scoped API keys. The secret itself is never stored, only its hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tollgate.db import Base, UTCDateTime


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("hash", name="uq_api_keys_hash"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Comma-separated, in the canonical order of tollgate.access.service.RIGHTS.
    rights: Mapped[str] = mapped_column(String(200))
    # SHA-256 of the secret, hex: every request with an account key looks it up.
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def right_set(self) -> frozenset[str]:
        return frozenset(self.rights.split(",")) if self.rights else frozenset()

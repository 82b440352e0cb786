"""Settings read from the environment at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tollgate.db import database_url_from_env


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=database_url_from_env)
    # Bootstrap operator keys (TOLLGATE_OPERATOR_KEY; several may be given, comma-separated,
    # so that a key can be rotated without downtime).
    operator_keys: tuple[str, ...] = ()
    max_page_size: int = 500
    # Call time reserved by one authorization or extension (SPEC §6).
    authorization_slice_seconds: int = 300
    # Largest request body (TOLLGATE_MAX_BODY_BYTES); a price list may be larger
    # (TOLLGATE_MAX_PRICE_LIST_BODY_BYTES): 100,000 rows take about 15 MB of JSON.
    max_body_bytes: int = 2 * 1024 * 1024
    max_price_list_body_bytes: int = 16 * 1024 * 1024
    # How far past the server's clock a usage event's occurred_at may lie
    # (TOLLGATE_MAX_FUTURE_SKEW_SECONDS): further is a client's clock or typo.
    max_future_skew_seconds: int = 86_400

    @classmethod
    def from_env(cls) -> Settings:
        raw = os.environ.get("TOLLGATE_OPERATOR_KEY", "")
        keys = tuple(key.strip() for key in raw.split(",") if key.strip())
        slice_seconds = int(os.environ.get("TOLLGATE_AUTHORIZATION_SLICE_SECONDS", "300"))
        if slice_seconds <= 0:
            raise ValueError("TOLLGATE_AUTHORIZATION_SLICE_SECONDS must be a positive number")
        return cls(
            database_url=database_url_from_env(),
            operator_keys=keys,
            authorization_slice_seconds=slice_seconds,
            max_body_bytes=_positive_int("TOLLGATE_MAX_BODY_BYTES", cls.max_body_bytes),
            max_price_list_body_bytes=_positive_int(
                "TOLLGATE_MAX_PRICE_LIST_BODY_BYTES", cls.max_price_list_body_bytes
            ),
            max_future_skew_seconds=_positive_int(
                "TOLLGATE_MAX_FUTURE_SKEW_SECONDS", cls.max_future_skew_seconds
            ),
        )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)

"""Settings read from the environment: the one module that reads ``TOLLGATE_*``.

| variable                               | default                  |
|----------------------------------------|--------------------------|
| ``TOLLGATE_DATABASE_URL``              | ``sqlite:///tollgate.db`` |
| ``TOLLGATE_OPERATOR_KEY``              | none (comma-separated)   |
| ``TOLLGATE_SQLITE_SYNCHRONOUS``        | ``FULL``                 |
| ``TOLLGATE_AUTHORIZATION_SLICE_SECONDS`` | 300                    |
| ``TOLLGATE_MAX_BODY_BYTES``            | 2 MiB                    |
| ``TOLLGATE_MAX_PRICE_LIST_BODY_BYTES`` | 16 MiB                   |

``tollgate serve`` also takes ``TOLLGATE_LOG_LEVEL`` and
``TOLLGATE_GRACEFUL_SHUTDOWN_SECONDS`` as its options' defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite:///tollgate.db"
SQLITE_SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA")


def database_url_from_env() -> str:
    return os.environ.get("TOLLGATE_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL


def sqlite_synchronous_from_env() -> str:
    # "NORMAL" may be chosen for speed; an acknowledged charge then survives a
    # process crash but not a power loss (docs/reliability.md).
    mode = os.environ.get("TOLLGATE_SQLITE_SYNCHRONOUS", "").strip().upper() or "FULL"
    if mode not in SQLITE_SYNCHRONOUS_MODES:
        raise ValueError("TOLLGATE_SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA")
    return mode


def operator_keys_from_env() -> tuple[str, ...]:
    raw = os.environ.get("TOLLGATE_OPERATOR_KEY", "")
    return tuple(key.strip() for key in raw.split(",") if key.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=database_url_from_env)
    # Bootstrap operator keys (several may be given, comma-separated, so that a key can
    # be rotated without downtime).
    operator_keys: tuple[str, ...] = ()
    # Call time reserved by one authorization or extension (SPEC §6).
    authorization_slice_seconds: int = 300
    # Largest request body; a price list may be larger: 100,000 rows take about 15 MB
    # of JSON.
    max_body_bytes: int = 2 * 1024 * 1024
    max_price_list_body_bytes: int = 16 * 1024 * 1024
    # How far past the server's clock a usage event's occurred_at may lie
    # (TOLLGATE_MAX_FUTURE_SKEW_SECONDS): further is a client's clock or typo.
    max_future_skew_seconds: int = 86_400

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=database_url_from_env(),
            operator_keys=operator_keys_from_env(),
            authorization_slice_seconds=_positive_int(
                "TOLLGATE_AUTHORIZATION_SLICE_SECONDS", cls.authorization_slice_seconds
            ),
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

"""Amounts: integer micro-units inside, decimal strings at the edges.

1 unit = 1,000,000 micros. This is the only module that converts between the two
representations; nothing on a money path uses ``float``.
"""

from __future__ import annotations

import re
from decimal import Decimal

MICROS_PER_UNIT = 1_000_000
# One amount may be at most a billion units. Balances are 64-bit columns, so this
# leaves room for thousands of maximal amounts in one sum before any overflow.
MAX_AMOUNT_MICROS = 1_000_000_000 * MICROS_PER_UNIT
# Hard ceiling for any stored balance (2**62): a grant that would pass it is refused.
MAX_BALANCE_MICROS = 2**62

# ASCII only: "\d" would otherwise accept any Unicode digit, such as "١٢".
_DECIMAL = re.compile(r"^(-?)([0-9]+)(?:\.([0-9]+))?$")


class AmountError(ValueError):
    """An amount given at the edge cannot be accepted; the message says why."""


def parse_amount(value: object, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Parse a decimal string into micros, refusing anything that would need rounding.

    Accepts only strings such as ``"3.5"`` or ``"0.000675"``: JSON numbers are
    refused because a float cannot carry an exact amount.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        kind = "a number" if isinstance(value, (int, float)) else type(value).__name__
        raise AmountError(f'{field} must be a decimal string such as "3.5", not {kind}')
    text = value.strip()
    match = _DECIMAL.match(text)
    if not match:
        raise AmountError(f'{field} must be a decimal string such as "3.5", got {value!r}')
    sign, whole, fraction = match.groups()
    fraction = fraction or ""
    if len(fraction) > 6:
        raise AmountError(
            f"{field} has more than 6 decimals ({value!r}); amounts are exact to the micro-unit"
        )
    if len(whole) > 16:
        raise AmountError(f"{field} is too large")
    micros = int(whole) * MICROS_PER_UNIT + int(fraction.ljust(6, "0") or "0")
    if sign == "-" and micros != 0:
        raise AmountError(f"{field} must not be negative, got {value!r}")
    if micros == 0 and not allow_zero:
        raise AmountError(f"{field} must be greater than zero")
    if micros > MAX_AMOUNT_MICROS:
        raise AmountError(f"{field} must be at most {format_amount(MAX_AMOUNT_MICROS)}")
    return micros


def format_amount(micros: int) -> str:
    """Format micros as the shortest exact decimal string: 3500000 -> "3.5"."""
    if type(micros) is int:
        # The hot path (usage answers format five amounts or more per event): the same
        # text as below, with fewer steps. "%d" of a plain int is its str(); %-format
        # of a divmod pair takes about half the time of format() or an f-string with
        # a tuple unpacked first (timeit, CPython 3.11), hence the UP031 exceptions.
        if micros >= 0:
            if micros % MICROS_PER_UNIT:
                return ("%d.%06d" % divmod(micros, MICROS_PER_UNIT)).rstrip("0")  # noqa: UP031
            return str(micros // MICROS_PER_UNIT)
        if micros % MICROS_PER_UNIT:
            return ("-%d.%06d" % divmod(-micros, MICROS_PER_UNIT)).rstrip("0")  # noqa: UP031
        return f"-{-micros // MICROS_PER_UNIT}"
    if not isinstance(micros, int) or isinstance(micros, bool):
        raise TypeError(f"micros must be an int, got {type(micros).__name__}")
    # A subclass of int: exactly as ever, through its own operators.
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS_PER_UNIT)
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:06d}".rstrip("0")


def to_decimal(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)


def split_proportionally(total: int, weights: list[tuple[str, int]]) -> dict[str, int]:
    """Split ``total`` micros over keyed weights exactly (largest remainder method).

    Each share is floor(total * w / W); the micros left over go one each to the
    largest fractional remainders, ties broken by key. The shares always sum to
    ``total`` and never exceed a weight when ``total <= W``.
    """
    positive = [(key, w) for key, w in weights if w > 0]
    weight_sum = sum(w for _, w in positive)
    if total == 0:
        return {key: 0 for key, _ in weights}
    if weight_sum <= 0:
        # Returning zeros here would make the shares silently miss the total.
        raise ValueError("cannot split over zero weights")
    shares: dict[str, int] = {key: 0 for key, _ in weights}
    remainders: list[tuple[int, str]] = []
    for key, w in positive:
        share, remainder = divmod(total * w, weight_sum)
        shares[key] = share
        remainders.append((remainder, key))
    left = total - sum(shares.values())
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, key in remainders[:left]:
        shares[key] += 1
    return shares

"""Voice maths, once: how a call splits into plan seconds and money.

Plan seconds (an allowance lot of unit ``SECONDS``) pay first, whole seconds at a
time; the rest is money at the row's price, in the row's billing increments, plus
the connect fee (always money). Usage events, authorizations' ``max_seconds`` and
captures all use these functions.
"""

from __future__ import annotations

from tollgate.rating.rater import MAX_CALL_SECONDS, PriceRow, cost_of

# The allowance unit of plan minutes. Like every amount it is stored in micros:
# one second of allowance is 1,000,000 micro-seconds.
SECONDS = "SECONDS"
MICROS = 1_000_000


def increments(row: PriceRow) -> tuple[int, int]:
    """(first, next) billing increments in seconds."""
    return row.increment_first or 1, row.increment_next or 1


def split_call(billed: int, allowance: int, row: PriceRow, connect_fee: int) -> tuple[int, int]:
    """``billed`` seconds of a call: (seconds paid from the ``allowance`` seconds, money).

    A call of no billed seconds costs nothing, not even its connect fee.
    """
    if billed <= 0:
        return 0, 0
    seconds = min(billed, allowance)
    return seconds, cost_of(billed - seconds, row) + connect_fee


def money_seconds(row: PriceRow, budget: int) -> int:
    """The most billed seconds whose cost (no connect fee) fits ``budget`` micros;
    -1 when the budget is negative."""
    if budget < 0:
        return -1
    if row.price == 0:
        return MAX_CALL_SECONDS
    # half_up(b·price/per) <= budget  <=>  2·b·price < per·(2·budget + 1)
    return (row.per * (2 * budget + 1) - 1) // (2 * row.price)


def max_call_seconds(row: PriceRow, allowance: int, money: int) -> int:
    """The longest call, in whole increments, that ``allowance`` seconds plus ``money``
    pay for, connect fee included."""
    first, step = increments(row)
    covered = money_seconds(row, money - row.connect_fee)
    if covered < 0:
        return 0
    longest = min(allowance + covered, MAX_CALL_SECONDS)
    if longest < first:
        return 0
    return first + (longest - first) // step * step

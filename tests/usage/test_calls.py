"""Voice maths (tollgate.usage.calls): the one place a call splits into plan seconds
and money, used by usage events, authorizations' ``max_seconds`` and captures."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tollgate.rating.rater import MAX_CALL_SECONDS, PriceRow, billed_seconds, cost_of
from tollgate.rating.rows import parse_rows
from tollgate.usage.calls import max_call_seconds, split_call


def voice(price: str, **fields: str) -> PriceRow:
    return parse_rows([{"channel": "voice", "price": price, **fields}])[0]


class TestSplitCall:
    def test_plan_seconds_pay_first_then_money_with_the_connect_fee(self):
        row = voice("0.014", connect_fee="0.05")
        assert split_call(120, 45, row, row.connect_fee) == (45, cost_of(75, row) + 50_000)

    def test_a_call_the_plan_covers_pays_only_its_connect_fee(self):
        row = voice("0.014", connect_fee="0.05")
        assert split_call(120, 600, row, row.connect_fee) == (120, 50_000)

    def test_no_billed_seconds_cost_nothing(self):
        row = voice("0.014", connect_fee="0.05")
        assert split_call(0, 600, row, row.connect_fee) == (0, 0)


class TestMaxCallSeconds:
    def test_whole_increments_that_fit(self):
        row = voice("0.014")
        assert max_call_seconds(row, 0, 28_000) == 120
        assert max_call_seconds(row, 0, 27_999) == 60
        assert max_call_seconds(row, 0, 13_999) == 0

    def test_connect_fee_is_paid_first(self):
        row = voice("0.02", increment="30/6", connect_fee="0.1")
        assert max_call_seconds(row, 0, 1_000_000) == 2_700  # 0.9 left: 45 minutes
        assert max_call_seconds(row, 0, 100_000) == 0  # the fee alone, no first increment
        assert max_call_seconds(row, 600, 99_999) == 0  # plan seconds never pay the fee

    def test_plan_seconds_lengthen_the_call(self):
        row = voice("0.014")
        assert max_call_seconds(row, 90, 28_000) == 180  # 90 s of plan, 120 s of money

    def test_a_free_rate_is_capped(self):
        assert max_call_seconds(voice("0"), 0, 0) == MAX_CALL_SECONDS

    @given(
        price=st.integers(1, 2_000_000),
        per=st.sampled_from([1, 60, 100]),
        first=st.integers(1, 90),
        step=st.integers(1, 60),
        fee=st.integers(0, 200_000),
        allowance=st.integers(0, 900),
        available=st.integers(0, 5_000_000),
    )
    def test_is_the_longest_call_whose_money_fits(
        self, price, per, first, step, fee, allowance, available
    ):
        row = PriceRow("voice", "*", "*", "*", "*", price, per, first, step, fee)
        seconds = max_call_seconds(row, allowance, available)

        def money(duration: int) -> int:
            return split_call(billed_seconds(duration, first, step), allowance, row, fee)[1]

        if seconds == 0:
            assert money(1) > available
        else:
            assert billed_seconds(seconds, first, step) == seconds
            assert money(seconds) <= available
            assert seconds + step > MAX_CALL_SECONDS or money(seconds + 1) > available

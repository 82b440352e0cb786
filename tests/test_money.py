"""Amounts at the edge (decimal strings) and inside (integer micros)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollgate.money import (
    MAX_AMOUNT_MICROS,
    AmountError,
    format_amount,
    parse_amount,
    split_proportionally,
    to_decimal,
)


class TestParseAmount:
    @pytest.mark.parametrize(
        ("text", "micros"),
        [
            ("3.5", 3_500_000),
            ("3.50", 3_500_000),
            ("0.000675", 675),
            ("0.000001", 1),
            ("1", 1_000_000),
            ("007.25", 7_250_000),
            ("12.000000", 12_000_000),
            ("1000000000", MAX_AMOUNT_MICROS),
        ],
    )
    def test_decimal_strings_become_exact_micros(self, text, micros):
        assert parse_amount(text) == micros

    @pytest.mark.parametrize("text", ["0", "0.0", "0.000000", "-0"])
    def test_zero_is_refused_unless_allowed(self, text):
        with pytest.raises(AmountError, match="must be greater than zero"):
            parse_amount(text)
        assert parse_amount(text, allow_zero=True) == 0

    @pytest.mark.parametrize("value", [3, 3.5, 1e3, True, False, None, ["1"], {"v": "1"}, b"1"])
    def test_anything_but_a_string_is_refused(self, value):
        with pytest.raises(
            AmountError, match=re.escape('amount must be a decimal string such as "3.5"')
        ):
            parse_amount(value)

    def test_a_json_number_is_named_as_such(self):
        with pytest.raises(AmountError, match="not a number"):
            parse_amount(3.5)

    @pytest.mark.parametrize(
        "text",
        [
            "",
            " ",
            "abc",
            "1e3",
            "1E3",
            "+1",
            "1.",
            ".5",
            "1,5",
            "1 000",
            "0x10",
            "NaN",
            "Infinity",
            "1_000",
            "--1",
            "1.2.3",
            "١٢",
            "1.٥",
            "½",
            "³",
        ],
    )
    def test_text_that_is_not_a_plain_decimal_is_refused(self, text):
        with pytest.raises(AmountError, match="must be a decimal string"):
            parse_amount(text)

    @pytest.mark.parametrize("text", ["0.0000001", "1.1234567", "1.1000000"])
    def test_more_than_six_decimals_is_refused_never_rounded(self, text):
        with pytest.raises(AmountError, match="more than 6 decimals"):
            parse_amount(text)

    @pytest.mark.parametrize("text", ["-1", "-0.000001", "-3.5"])
    def test_negative_amounts_are_refused(self, text):
        with pytest.raises(AmountError, match="must not be negative"):
            parse_amount(text, allow_zero=True)

    def test_more_than_the_largest_amount_is_refused(self):
        with pytest.raises(AmountError, match="must be at most 1000000000"):
            parse_amount("1000000000.000001")

    def test_absurdly_long_numbers_are_refused_before_arithmetic(self):
        with pytest.raises(AmountError, match="too large"):
            parse_amount("1" + "0" * 400)

    def test_the_message_names_the_field(self):
        with pytest.raises(AmountError, match=r"^price must not be negative"):
            parse_amount("-1", field="price")


class TestFormatAmount:
    @pytest.mark.parametrize(
        ("micros", "text"),
        [
            (0, "0"),
            (1, "0.000001"),
            (675, "0.000675"),
            (3_500_000, "3.5"),
            (1_000_000, "1"),
            (12_345_678, "12.345678"),
            (-1, "-0.000001"),
            (-3_500_000, "-3.5"),
            (MAX_AMOUNT_MICROS, "1000000000"),
        ],
    )
    def test_shortest_exact_decimal(self, micros, text):
        assert format_amount(micros) == text

    @pytest.mark.parametrize("value", [1.5, "1", True, None, Decimal(1)])
    def test_only_integer_micros_are_formatted(self, value):
        with pytest.raises(TypeError):
            format_amount(value)

    def test_to_decimal_is_exact(self):
        assert to_decimal(675) == Decimal("0.000675")
        assert to_decimal(-3_500_000) == Decimal("-3.5")


class TestSplitProportionally:
    def test_one_unit_over_three_equal_lists_gives_the_extra_micro_to_the_first_key(self):
        shares = split_proportionally(
            1_000_000, [("support", 5_000_000), ("marketing", 5_000_000), ("billing", 5_000_000)]
        )
        assert shares == {"billing": 333_334, "marketing": 333_333, "support": 333_333}

    def test_largest_remainder_wins_the_leftover_micro(self):
        # 10 * 1/6 = 1.67 and 10 * 5/6 = 8.33: the larger remainder belongs to "a".
        assert split_proportionally(10, [("a", 1), ("b", 5)]) == {"a": 2, "b": 8}

    def test_shares_follow_the_weights(self):
        assert split_proportionally(6, [("a", 1), ("b", 2), ("c", 3)]) == {"a": 1, "b": 2, "c": 3}

    def test_zero_and_negative_weights_get_nothing(self):
        shares = split_proportionally(5, [("a", 0), ("b", 10), ("c", -3)])
        assert shares == {"a": 0, "b": 5, "c": 0}

    def test_nothing_to_split(self):
        assert split_proportionally(0, [("a", 3), ("b", 0)]) == {"a": 0, "b": 0}
        assert split_proportionally(0, []) == {}

    @pytest.mark.parametrize("weights", [[], [("a", 0)], [("a", 0), ("b", -1)]])
    def test_a_positive_total_cannot_vanish_over_no_weight(self, weights):
        with pytest.raises(ValueError, match="zero weights"):
            split_proportionally(5, weights)


# --- properties ---------------------------------------------------------------------

micros = st.integers(min_value=0, max_value=MAX_AMOUNT_MICROS)
decimal_text = st.builds(
    lambda whole, fraction: f"{whole}.{fraction}" if fraction else str(whole),
    st.integers(min_value=0, max_value=1_000_000_000 - 1),
    st.text(alphabet="0123456789", max_size=6),
)


@given(micros)
def test_format_then_parse_round_trips(value):
    assert parse_amount(format_amount(value), allow_zero=True) == value


@given(decimal_text)
def test_parse_then_format_keeps_the_value_and_drops_only_trailing_zeros(text):
    formatted = format_amount(parse_amount(text, allow_zero=True))
    assert Decimal(formatted) == Decimal(text)
    assert parse_amount(formatted, allow_zero=True) == parse_amount(text, allow_zero=True)
    assert not ("." in formatted and formatted.endswith("0"))


weights = st.lists(
    st.tuples(st.text(alphabet="abcdefgh", min_size=1, max_size=4), st.integers(0, 10**12)),
    min_size=1,
    max_size=8,
    unique_by=lambda pair: pair[0],
).filter(lambda pairs: sum(w for _, w in pairs) > 0)


@given(weights, st.data())
def test_split_sums_to_the_total_and_never_exceeds_a_weight(pairs, data):
    total = data.draw(st.integers(min_value=0, max_value=sum(w for _, w in pairs)))
    shares = split_proportionally(total, pairs)
    assert set(shares) == {key for key, _ in pairs}
    assert sum(shares.values()) == total
    for key, weight in pairs:
        assert 0 <= shares[key] <= weight


@given(weights, st.data())
def test_split_is_deterministic_whatever_the_order_of_the_weights(pairs, data):
    total = data.draw(st.integers(min_value=0, max_value=sum(w for _, w in pairs)))
    shuffled = data.draw(st.permutations(pairs))
    assert split_proportionally(total, shuffled) == split_proportionally(total, pairs)

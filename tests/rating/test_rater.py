"""Rating rules, scenario by scenario, on price lists built in memory (no store needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tollgate.errors import InvalidRequest
from tollgate.rating.rater import (
    RatableEvent,
    RateCard,
    billed_seconds,
    divide_half_up,
    rate,
)
from tollgate.rating.rows import parse_rows

FR_MOBILE = "+33612345678"
FR_FIXED = "+33123456789"
FR_TOLL_FREE = "+33801234567"
IT_MOBILE = "+393123456789"
IT_FIXED = "+390212345678"
US_NUMBER = "+12015550123"  # NANP: fixed line or mobile, libphonenumber cannot tell
US_TOLL_FREE = "+18002345678"
GB_MOBILE = "+447400123456"


def card(*rows: dict, unit: str = "EUR", version: int = 1) -> RateCard:
    return RateCard(
        price_list_id="default",
        version=version,
        unit=unit,
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        rows=tuple(parse_rows(list(rows))),
    )


def voice(price: str, **fields) -> dict:
    return {"channel": "voice", "price": price, **fields}


def call(to: str = FR_MOBILE, seconds: int = 60, direction: str = "outbound") -> RatableEvent:
    return RatableEvent("voice", direction=direction, to=to, duration_seconds=seconds)


def unratable(excinfo) -> str:
    assert excinfo.value.code == "unratable"
    assert excinfo.value.status == 422
    return excinfo.value.message


class TestVoiceIncrements:
    @pytest.mark.parametrize(
        ("duration", "increment", "billed"),
        [
            (61, "60/60", 120),
            (60, "60/60", 60),
            (1, "60/60", 60),
            (61, "30/6", 66),
            (30, "30/6", 30),
            (31, "30/6", 36),
            (5, "30/6", 30),
            (61, "1/1", 61),
            (0, "60/60", 0),
            (0, "30/6", 0),
        ],
    )
    def test_billed_seconds_are_first_then_whole_next_increments(self, duration, increment, billed):
        rating = rate(card(voice("0.014", increment=increment)), call(seconds=duration))
        # The billed quantity (SPEC §6), not the raw duration.
        assert rating.quantity == billed
        assert rating.quantity_unit == "second"
        assert rating.billed_units == billed

    def test_a_61_second_call_at_60_60_costs_two_minutes(self):
        rating = rate(card(voice("0.014")), call(seconds=61))
        assert rating.cost == 28_000  # 2 × 0.014
        assert (rating.increment_first, rating.increment_next) == (60, 60)

    def test_increment_defaults_to_60_60_and_per_to_60(self):
        row = parse_rows([voice("0.014")])[0]
        assert (row.increment_first, row.increment_next, row.per) == (60, 60, 60)

    def test_billed_seconds_helper(self):
        assert billed_seconds(61, 60, 60) == 120
        assert billed_seconds(61, 30, 6) == 66
        assert billed_seconds(0, 30, 6) == 0
        assert billed_seconds(1, 1, 1) == 1


class TestConnectFee:
    def test_connect_fee_is_added_once_to_an_answered_call(self):
        rating = rate(card(voice("0.014", connect_fee="0.05")), call(seconds=61))
        assert rating.connect_fee == 50_000
        assert rating.cost == 28_000 + 50_000

    def test_a_zero_second_call_costs_nothing_not_even_the_connect_fee(self):
        rating = rate(card(voice("0.014", connect_fee="0.05")), call(seconds=0))
        assert (rating.billed_units, rating.cost, rating.connect_fee) == (0, 0, 0)

    def test_connect_fee_is_not_rounded_with_the_duration(self):
        rating = rate(
            card(voice("0.0001", per=60, increment="1/1", connect_fee="0.000001")), call(seconds=1)
        )
        # 1 × 0.0001 / 60 = 1.67 micros → 2, plus 1 micro of connect fee.
        assert rating.cost == 3


class TestRounding:
    def test_email_is_exact_per_message(self):
        rating = rate(
            card({"channel": "email", "price": "0.675", "per": 1000}), RatableEvent("email")
        )
        assert (rating.cost, rating.quantity, rating.quantity_unit) == (675, 1, "message")

    def test_email_count_multiplies_before_dividing(self):
        rates = card({"channel": "email", "price": "0.675", "per": 1000})
        assert rate(rates, RatableEvent("email", count=3)).cost == 2_025
        assert rate(rates, RatableEvent("email", count=1000)).cost == 675_000

    def test_half_up_once_per_event(self):
        # 0.000005 per 2 messages: one message costs 2.5 micros → 3; three cost 7.5 → 8
        # (not 3 × 3 = 9: rounding happens once, on the event's total).
        rates = card({"channel": "email", "price": "0.000005", "per": 2})
        assert rate(rates, RatableEvent("email", count=1)).cost == 3
        assert rate(rates, RatableEvent("email", count=3)).cost == 8

    def test_just_below_a_half_rounds_down(self):
        # 0.014 per minute, 1 second: 14000 / 60 = 233.33 micros → 233.
        rates = card(voice("0.014", increment="1/1"))
        assert rate(rates, call(seconds=1)).cost == 233
        # 0.000009 per minute, 10 s: 90 / 60 = 1.5 → 2.
        assert rate(card(voice("0.000009", increment="1/1")), call(seconds=10)).cost == 2

    def test_divide_half_up(self):
        assert [divide_half_up(n, 4) for n in (0, 1, 2, 3, 5, 6)] == [0, 0, 1, 1, 1, 2]

    def test_zero_price_rates_at_zero(self):
        rating = rate(
            card({"channel": "sms", "price": "0"}), RatableEvent("sms", to=FR_MOBILE, segments=3)
        )
        assert rating.cost == 0


class TestSms:
    def test_explicit_segments_are_charged_per_segment(self):
        rating = rate(
            card({"channel": "sms", "price": "0.0079"}),
            RatableEvent("sms", to=FR_MOBILE, segments=3),
        )
        assert (rating.quantity, rating.quantity_unit, rating.billed_units) == (3, "segment", 3)
        assert rating.cost == 23_700

    def test_segments_are_counted_from_the_text(self):
        rates = card({"channel": "sms", "price": "0.0079"})
        assert rate(rates, RatableEvent("sms", to=FR_MOBILE, text="a" * 160)).quantity == 1
        assert rate(rates, RatableEvent("sms", to=FR_MOBILE, text="a" * 161)).quantity == 2

    def test_sms_by_destination_country(self):
        rates = card(
            {"channel": "sms", "price": "0.0079"},
            {"channel": "sms", "destination": "IT", "price": "0.05"},
        )
        assert rate(rates, RatableEvent("sms", to=IT_MOBILE, segments=1)).cost == 50_000
        assert rate(rates, RatableEvent("sms", to=FR_MOBILE, segments=1)).cost == 7_900

    def test_an_sms_without_text_or_segments_is_refused(self):
        with pytest.raises(InvalidRequest):
            rate(card({"channel": "sms", "price": "0.0079"}), RatableEvent("sms", to=FR_MOBILE))


class TestSpecificity:
    def test_prefix_beats_country_beats_star(self):
        rates = card(
            voice("0.01"),
            voice("0.02", destination="IT"),
            voice("0.03", destination="+393"),
            voice("0.04", destination="+3931"),
        )
        assert rate(rates, call(IT_MOBILE)).row.destination == "+3931"
        assert rate(rates, call("+393401234567")).row.destination == "+393"
        assert rate(rates, call(IT_FIXED)).row.destination == "IT"
        assert rate(rates, call(FR_MOBILE)).row.destination == "*"

    def test_prefix_overrides_the_country_even_when_the_country_row_is_narrower(self):
        rates = card(
            voice("0.02", destination="IT", direction="outbound", number_type="mobile"),
            voice("0.03", destination="+39"),
        )
        assert rate(rates, call(IT_MOBILE)).row.destination == "+39"

    def test_destination_beats_direction(self):
        rates = card(
            voice("0.01", direction="outbound"),
            voice("0.02", destination="FR"),
        )
        assert rate(rates, call(FR_MOBILE)).row.destination == "FR"

    def test_direction_beats_number_type(self):
        rates = card(
            voice("0.01", destination="FR", number_type="mobile"),
            voice("0.02", destination="FR", direction="outbound"),
        )
        assert rate(rates, call(FR_MOBILE)).cost == 20_000

    def test_number_type_beats_star(self):
        rates = card(
            voice("0.01", destination="FR"),
            voice("0.02", destination="FR", number_type="mobile"),
            voice("0.022", destination="FR", number_type="toll_free"),
        )
        assert rate(rates, call(FR_MOBILE)).cost == 20_000
        assert rate(rates, call(FR_TOLL_FREE)).cost == 22_000
        assert rate(rates, call(FR_FIXED)).cost == 10_000

    def test_nanp_fixed_or_mobile_prefers_mobile_then_fixed_then_star(self):
        mobile = voice("0.03", destination="US", number_type="mobile")
        fixed = voice("0.02", destination="US", number_type="fixed")
        star = voice("0.01", destination="US")
        assert rate(card(star, fixed, mobile), call(US_NUMBER)).row.number_type == "mobile"
        assert rate(card(star, fixed), call(US_NUMBER)).row.number_type == "fixed"
        assert rate(card(star), call(US_NUMBER)).row.number_type == "*"

    def test_toll_free_and_premium_types(self):
        rates = card(
            voice("0.01", destination="US"),
            voice("0.022", destination="US", number_type="toll_free"),
            voice("0.5", destination="US", number_type="premium"),
        )
        assert rate(rates, call(US_TOLL_FREE)).cost == 22_000
        assert rate(rates, call("+19002345678")).cost == 500_000

    def test_numbers_are_normalised_before_matching(self):
        rates = card(voice("0.01"), voice("0.02", destination="+336"))
        assert rate(rates, call("+33 6 12 34 56 78")).row.destination == "+336"


class TestInbound:
    def test_inbound_is_priced_by_the_type_of_the_called_number(self):
        rates = card(
            voice("0.014", direction="outbound"),
            voice("0.0085", direction="inbound"),
            voice("0.022", direction="inbound", number_type="toll_free"),
        )
        assert rate(rates, call(FR_FIXED, direction="inbound")).cost == 8_500
        assert rate(rates, call(FR_TOLL_FREE, direction="inbound")).cost == 22_000
        assert rate(rates, call(FR_TOLL_FREE, direction="outbound")).cost == 14_000

    def test_direction_defaults_to_outbound(self):
        rates = card(voice("0.014", direction="outbound"), voice("0.0085", direction="inbound"))
        rating = rate(rates, RatableEvent("voice", to=FR_FIXED, duration_seconds=60))
        assert rating.cost == 14_000

    def test_star_direction_rates_both(self):
        rates = card(voice("0.01", direction="*"))
        assert rate(rates, call(direction="inbound")).cost == 10_000
        assert rate(rates, call(direction="outbound")).cost == 10_000


class TestWhatsappTemplates:
    def test_priced_per_message_by_country_and_category(self):
        rates = card(
            {
                "channel": "whatsapp_template",
                "destination": "FR",
                "category": "marketing",
                "price": "0.0859",
            },
            {
                "channel": "whatsapp_template",
                "destination": "FR",
                "category": "utility",
                "price": "0.0248",
            },
            {"channel": "whatsapp_template", "destination": "FR", "price": "0.03"},
            {
                "channel": "whatsapp_template",
                "destination": "IT",
                "category": "marketing",
                "price": "0.0691",
            },
        )

        def message(to: str, category: str | None, count: int | None = None):
            return RatableEvent("whatsapp_template", to=to, category=category, count=count)

        assert rate(rates, message(FR_MOBILE, "marketing")).cost == 85_900
        assert rate(rates, message(FR_MOBILE, "utility", 2)).cost == 49_600
        assert rate(rates, message(FR_MOBILE, "authentication")).cost == 30_000
        assert rate(rates, message(IT_MOBILE, "marketing")).quantity_unit == "message"
        with pytest.raises(InvalidRequest) as excinfo:
            rate(rates, message(IT_MOBILE, "utility"))
        assert "utility" in unratable(excinfo)


class TestDayPass:
    def test_agent_login_is_priced_by_the_day_pass_row(self):
        rates = card({"channel": "day_pass", "price": "3.5"})
        rating = rate(rates, RatableEvent("agent_login"))
        assert (rating.cost, rating.quantity, rating.quantity_unit) == (3_500_000, 1, "day")
        assert rating.channel == "agent_login"
        assert rating.row.channel == "day_pass"


class TestUnratable:
    def test_no_matching_row(self):
        rates = card(voice("0.01", destination="FR"))
        with pytest.raises(InvalidRequest) as excinfo:
            rate(rates, call(IT_MOBILE))
        message = unratable(excinfo)
        assert "+393123456789" in message and "IT" in message

    def test_a_channel_without_prices(self):
        with pytest.raises(InvalidRequest) as excinfo:
            rate(card(voice("0.01")), RatableEvent("email"))
        assert "email" in unratable(excinfo)

    @pytest.mark.parametrize("to", ["garbage", "33612345678", "+999", "+3361", ""])
    def test_an_unparseable_number(self, to):
        rates = card(voice("0.01"))
        with pytest.raises(InvalidRequest) as excinfo:
            rate(rates, call(to))
        if to:
            assert "E.164" in unratable(excinfo)

    def test_a_number_of_an_unknown_type_matches_star_rows_only(self):
        rates = card(voice("0.01", destination="FR", number_type="mobile"))
        with pytest.raises(InvalidRequest):
            rate(rates, call("+33712345678"))  # possible but unallocated: no type
        assert rate(card(voice("0.01", destination="FR")), call("+33712345678")).cost == 10_000

"""The hot path's fast encodings give exactly the text of the generic ones.

A usage event's fingerprint is stored and compared with every replay, and its
answer is stored as JSON text that a replay answers again: the faster code must
produce the very same bytes as before, for every input. The implementations the
fast code replaced are kept here, verbatim, as the reference.
"""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tollgate.ledger import Draw
from tollgate.money import MAX_AMOUNT_MICROS, MICROS_PER_UNIT, format_amount
from tollgate.usage import service
from tollgate.usage.service import UsageInput, answer_of, answer_of_with_json

# --- the reference: the code as it was before it was made faster ---------------------

_reference_json = json.JSONEncoder(separators=(",", ":")).encode
_FIELDS = (
    "id",
    "account_id",
    "channel",
    "occurred_at",
    "list_id",
    "user_id",
    "customer_id",
    "direction",
    "to",
    "from_",
    "duration_seconds",
    "text",
    "segments",
    "count",
    "category",
    "allow_debt",
)


def reference_fingerprint(event: UsageInput) -> str:
    content = [getattr(event, name) for name in _FIELDS]
    content[3] = event.occurred_at.isoformat()
    return hashlib.sha256(_reference_json(content).encode()).hexdigest()


def reference_format_amount(micros: int) -> str:
    if not isinstance(micros, int) or isinstance(micros, bool):
        raise TypeError(f"micros must be an int, got {type(micros).__name__}")
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS_PER_UNIT)
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:06d}".rstrip("0")


def reference_answer_of(
    *, event_id, unit, money, quantity, quantity_unit, draws, debt, total, reserved
) -> dict:
    format_amount = reference_format_amount
    return {
        "id": event_id,
        "cost": format_amount(money),
        "unit": unit,
        "quantity": quantity,
        "quantity_unit": quantity_unit,
        "paid_by": [
            {"lot_id": draw.lot_id, "unit": draw.unit, "amount": format_amount(draw.amount)}
            for draw in draws
        ],
        "debt": format_amount(debt),
        "balance": {"total": format_amount(total), "available": format_amount(total - reserved)},
    }


def outcome(function, *args, **kwargs):
    """What a call gives: its value, or the type and message of what it raised."""
    try:
        return ("value", function(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - comparing failures is the point
        return ("raised", type(exc), str(exc))


# --- odd but possible values ---------------------------------------------------------


class Text(str):
    pass


class Number(int):
    pass


class Level(enum.IntEnum):
    LOW = 1


# The (str, Enum) mixin on purpose, not StrEnum: its str() and format() differ from
# its value, which is what the encoder must see through.
class Word(str, enum.Enum):  # noqa: UP042
    HELLO = "hello"


class Skewed(int):
    """An int subclass whose operators lie: formatting must still go through them."""

    def __abs__(self):
        return Skewed(int(self) + 1)

    def __lt__(self, other):
        return True


AWKWARD_TEXT = [
    "",
    '"',
    "\\",
    '\\"',
    "\n\r\t\b\f",
    "\x00\x01\x1f\x7f",
    "é",
    "ß",
    "日本語",
    "😀",
    "👩‍👩‍👧",
    "\u2028\u2029",
    "\ud800",
    "\udfff",
    "\ufeff",
    "</script>",
    "a\"b'c",
    "+33612345678",
]

any_text = st.one_of(
    st.sampled_from(AWKWARD_TEXT),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=30),
    st.text(alphabet=st.sampled_from(['"', "\\", "\x00", "\x1f", "é", "😀", "a", "\u2028"])),
)
big_int = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(
        [
            0,
            1,
            -1,
            MICROS_PER_UNIT,
            -MICROS_PER_UNIT,
            MICROS_PER_UNIT - 1,
            -MICROS_PER_UNIT + 1,
            MAX_AMOUNT_MICROS,
            2**62,
            -(2**63),
            10**30,
        ]
    ),
)
odd_value = st.one_of(
    st.sampled_from(
        [
            True,
            False,
            None,
            0.5,
            -0.0,
            float("inf"),
            float("nan"),
            Level.LOW,
            Word.HELLO,
            Decimal("1.5"),
            b"bytes",
            (),
            [],
            {},
            [1, "a", None],
            {"k": "v"},
            {1: 2},
            ("t", 1),
            object(),
        ]
    ),
    st.builds(Text, any_text),
    st.builds(Number, big_int),
    st.floats(allow_nan=True, allow_infinity=True),
)
optional_text = st.one_of(st.none(), any_text)
optional_int = st.one_of(st.none(), big_int, st.booleans())
zones = st.one_of(
    st.timezones(),
    st.builds(
        lambda minutes, seconds, micros: timezone(
            timedelta(minutes=minutes, seconds=seconds, microseconds=micros)
        ),
        st.integers(-23 * 60 - 59, 23 * 60 + 59),
        st.sampled_from([0, 0, 0, 30]),
        st.sampled_from([0, 0, 0, 250]),
    ),
    st.just(UTC),
)
occurred = st.one_of(
    st.datetimes(timezones=zones),
    st.datetimes(),  # naive: refused at the edge, still fingerprinted the same
)


def maybe_odd(strategy):
    return st.one_of(strategy, strategy, strategy, odd_value)


usage_inputs = st.builds(
    UsageInput,
    id=maybe_odd(any_text),
    account_id=maybe_odd(any_text),
    channel=maybe_odd(
        st.one_of(st.sampled_from(["voice", "sms", "email", "agent_login"]), any_text)
    ),
    occurred_at=occurred,
    list_id=maybe_odd(optional_text),
    user_id=maybe_odd(optional_text),
    customer_id=maybe_odd(optional_text),
    direction=maybe_odd(st.one_of(st.none(), st.sampled_from(["inbound", "outbound"]))),
    to=maybe_odd(optional_text),
    from_=maybe_odd(optional_text),
    duration_seconds=maybe_odd(optional_int),
    text=maybe_odd(optional_text),
    segments=maybe_odd(optional_int),
    count=maybe_odd(optional_int),
    category=maybe_odd(optional_text),
    allow_debt=maybe_odd(st.one_of(st.booleans(), st.none(), big_int)),
)

REALISTIC = UsageInput(
    id="evt_01HZX3K9Q7M2N4P6R8T0V2W4Y6",
    account_id="acct_7f3a9c",
    channel="voice",
    occurred_at=datetime(2026, 1, 1, 12, 34, 56, 789000, tzinfo=UTC),
    list_id="support",
    user_id="agent-42",
    direction="outbound",
    to="+33612345678",
    from_="+33145678901",
    duration_seconds=125,
)

# --- fingerprints --------------------------------------------------------------------


def test_the_field_list_of_the_reference_is_the_events():
    assert tuple(service._FIELDS) == _FIELDS


def test_a_known_event_keeps_its_stored_digest():
    # Computed before the fast path existed: digests already stored must still match.
    digest = "f1d90fe89fd926d293807bbeacc1c37f7bed9f75859ccf1ecc350ebeb843ffb5"
    assert reference_fingerprint(REALISTIC) == digest
    assert REALISTIC.fingerprint() == digest


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(usage_inputs)
def test_fingerprint_is_the_reference_digest(event):
    assert outcome(event.fingerprint) == outcome(reference_fingerprint, event)


@given(usage_inputs)
def test_fingerprint_without_the_c_encoder_is_the_reference_digest(event):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service, "_ONE_SHOT", None)
        assert outcome(event.fingerprint) == outcome(reference_fingerprint, event)


def test_a_value_json_cannot_hold_fails_as_before():
    event = UsageInput(
        id="e", account_id="a", channel="sms", occurred_at=REALISTIC.occurred_at, text={1.5, 2}
    )  # type: ignore[arg-type]
    assert outcome(event.fingerprint)[:2] == ("raised", TypeError)
    assert outcome(event.fingerprint) == outcome(reference_fingerprint, event)


def test_a_circular_value_fails_as_before():
    loop: list = []
    loop.append(loop)
    event = UsageInput(
        id="e", account_id="a", channel="sms", occurred_at=REALISTIC.occurred_at, text=loop
    )  # type: ignore[arg-type]
    assert (
        outcome(event.fingerprint)
        == ("raised", ValueError, "Circular reference detected")
        == outcome(reference_fingerprint, event)
    )
    # ...and nothing is left behind: the next event is fingerprinted as ever.
    assert REALISTIC.fingerprint() == reference_fingerprint(REALISTIC)


def test_an_occurred_at_without_isoformat_fails_as_before():
    event = UsageInput(id="e", account_id="a", channel="sms", occurred_at="2026-01-01")  # type: ignore[arg-type]
    assert outcome(event.fingerprint)[:2] == ("raised", AttributeError)
    assert outcome(event.fingerprint) == outcome(reference_fingerprint, event)


@given(st.lists(st.one_of(odd_value, any_text, big_int), max_size=6), odd_value)
def test_the_fast_compact_json_is_the_generic_one(items, value):
    for thing in (items, value, {"k": items}, [value, items]):
        assert outcome(service._fast_compact_json, thing) == outcome(_reference_json, thing)


# --- answers -------------------------------------------------------------------------

amounts = st.one_of(big_int, st.integers(-(10**15), 10**15))
draws = st.builds(Draw, lot_id=st.integers(), unit=any_text, amount=amounts)
odd_draws = st.builds(
    Draw,
    lot_id=st.one_of(
        st.integers(),
        st.none(),
        st.builds(Number, st.integers()),
        st.just(True),
        st.just(1.5),
        any_text,
    ),
    unit=st.one_of(any_text, st.builds(Text, any_text), st.none(), st.just(Word.HELLO)),
    amount=st.one_of(amounts, st.builds(Number, amounts), st.just(Level.LOW)),
)
answer_arguments = st.fixed_dictionaries(
    {
        "event_id": any_text,
        "unit": st.one_of(st.sampled_from(["EUR", "USD", "SECONDS"]), any_text),
        "money": amounts,
        "quantity": big_int,
        "quantity_unit": st.one_of(st.sampled_from(["seconds", "segments", "messages"]), any_text),
        "draws": st.lists(draws, max_size=6),
        "debt": amounts,
        "total": amounts,
        "reserved": amounts,
    }
)
odd_answer_arguments = st.fixed_dictionaries(
    {
        "event_id": maybe_odd(any_text),
        "unit": maybe_odd(any_text),
        "money": st.one_of(amounts, st.builds(Number, amounts), st.just(Level.LOW)),
        "quantity": maybe_odd(big_int),
        "quantity_unit": maybe_odd(any_text),
        "draws": st.lists(st.one_of(draws, odd_draws), max_size=4),
        "debt": st.one_of(amounts, st.builds(Number, amounts)),
        "total": st.one_of(amounts, st.builds(Number, amounts)),
        "reserved": st.one_of(amounts, st.builds(Number, amounts)),
    }
)


def reference_answer_and_json(**arguments):
    answer = reference_answer_of(**arguments)
    return answer, _reference_json(answer)


def check_answer(arguments: dict, *, plain: bool = True) -> None:
    expected = outcome(reference_answer_and_json, **arguments)
    assert outcome(answer_of_with_json, **arguments) == expected
    # Draws may come as any iterable, read once.
    once = {**arguments, "draws": iter(arguments["draws"])}
    assert outcome(answer_of_with_json, **once) == expected
    # The plain answer_of is the same answer as ever.
    assert outcome(answer_of, **arguments) == outcome(reference_answer_of, **arguments)
    if plain:
        assert expected[0] == "value"
        answer, text = expected[1]
        assert json.loads(text) == answer
        assert list(json.loads(text)) == list(answer)  # key order as answer_of builds it


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(answer_arguments)
def test_answer_json_is_the_generic_encoding(arguments):
    check_answer(arguments)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(odd_answer_arguments)
def test_answer_json_of_odd_values_is_the_generic_encoding(arguments):
    check_answer(arguments, plain=False)


def test_a_realistic_answer():
    arguments = {
        "event_id": REALISTIC.id,
        "unit": "EUR",
        "money": 29_400,
        "quantity": 180,
        "quantity_unit": "seconds",
        "draws": [Draw(101, "EUR", 20_000), Draw(102, "EUR", 9_400)],
        "debt": 0,
        "total": 48_970_600,
        "reserved": 1_500_000,
    }
    _, text = answer_of_with_json(**arguments)
    assert text == (
        '{"id":"evt_01HZX3K9Q7M2N4P6R8T0V2W4Y6","cost":"0.0294","unit":"EUR","quantity":180,'
        '"quantity_unit":"seconds","paid_by":[{"lot_id":101,"unit":"EUR","amount":"0.02"},'
        '{"lot_id":102,"unit":"EUR","amount":"0.0094"}],"debt":"0",'
        '"balance":{"total":"48.9706","available":"47.4706"}}'
    )
    check_answer(arguments)


def test_an_answer_with_unicode_and_no_draws():
    check_answer(
        {
            "event_id": 'é"\\\n😀\ud800',
            "unit": "€",
            "money": -1,
            "quantity": -(10**40),
            "quantity_unit": "\x00",
            "draws": [],
            "debt": 10**40,
            "total": 0,
            "reserved": 10**25,
        }
    )


# --- format_amount -------------------------------------------------------------------


@settings(max_examples=3000)
@given(
    st.one_of(
        big_int,
        st.integers(-(10**8), 10**8),
        st.integers(-(10**6), 10**6).map(lambda n: n * MICROS_PER_UNIT),
    )
)
def test_format_amount_is_the_reference(micros):
    assert format_amount(micros) == reference_format_amount(micros)


@given(st.one_of(odd_value, st.builds(Skewed, big_int), st.builds(Number, big_int)))
def test_format_amount_of_anything_else_behaves_as_the_reference(value):
    assert outcome(format_amount, value) == outcome(reference_format_amount, value)


def test_format_amount_around_the_unit():
    for micros in range(-3 * MICROS_PER_UNIT - 20, 3 * MICROS_PER_UNIT + 20, 7):
        assert format_amount(micros) == reference_format_amount(micros)
    for micros in (10**k + d for k in range(25) for d in (-1, 0, 1)):
        assert format_amount(micros) == reference_format_amount(micros)
        assert format_amount(-micros) == reference_format_amount(-micros)


def test_format_amount_of_an_int_too_long_for_text_fails_as_before():
    for micros in (10**5000, 10**5000 + 1, -(10**5000), -(10**5000) - 1):
        assert outcome(format_amount, micros)[:2] == ("raised", ValueError)
        assert outcome(format_amount, micros) == outcome(reference_format_amount, micros)

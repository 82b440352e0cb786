"""The fast path of ``number_facts`` must answer exactly as the slow one (phonenumbers'
``parse`` and friends) for every input; these tests compare the two on many numbers."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from tollgate.rating.numbers import (
    _UNDECIDED,
    NumberFacts,
    _calling_code_plan,
    _number_facts_fast,
    _number_facts_slow,
    number_facts,
)

SEED = 20260509
# Variations per example number, for each count of replaced trailing digits (1..5).
VARIATIONS_PER_SIZE = 36


def assert_same(number: str) -> bool:
    """The fast path (when it decides) and the public entry equal the slow path.

    Returns whether the fast path decided."""
    expected = _number_facts_slow(number)
    fast = _number_facts_fast(number)
    decided = fast is not _UNDECIDED
    if decided:
        assert fast == expected, number
        if fast is not None:
            assert type(fast) is NumberFacts and type(fast.e164) is str, number
    assert number_facts.__wrapped__(number) == expected, number
    return decided


def example_numbers() -> list[str]:
    """Every region's (and non-geographic entity's) example number of every type, E.164."""
    numbers = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.add(phonenumbers.format_number(example, PhoneNumberFormat.E164))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            numbers.add(phonenumbers.format_number(example, PhoneNumberFormat.E164))
    return sorted(numbers)


def variations(number: str, rng: random.Random) -> list[str]:
    """``number`` with its last 1-5 digits replaced at random, one digit shorter and
    longer, and with a national prefix (0 or 1) after its calling code."""
    out = [number, number[:-1], number + str(rng.randrange(10))]
    for size in range(1, 6):
        for _ in range(VARIATIONS_PER_SIZE):
            tail = "".join(rng.choice("0123456789") for _ in range(size))
            out.append(number[:-size] + tail)
    parsed = phonenumbers.parse(number, None)
    code = str(parsed.country_code)
    rest = number[1 + len(code) :]
    out += ["+" + code + "0" + rest, "+" + code + "1" + rest, "+" + code + "00" + rest]
    return out


def test_examples_and_their_variations_match_the_slow_path() -> None:
    rng = random.Random(SEED)
    examples = example_numbers()
    assert len(examples) > 900
    checked = undecided = 0
    for example in examples:
        # The fast path decides every example number itself.
        assert _number_facts_fast(example) is not _UNDECIDED, example
        for number in variations(example, rng):
            decided = assert_same(number)
            checked += 1
            # The only shapes left to the slow path: too long, or a leading zero.
            if not decided:
                undecided += 1
                assert len(number) > 16 or number[1] == "0", number
    assert checked > 100_000
    assert undecided < checked // 20


@pytest.mark.parametrize("length", range(2, 18))
def test_random_digit_strings_match_the_slow_path(length: int) -> None:
    rng = random.Random(SEED + length)
    for _ in range(3000):
        assert_same("+" + "".join(rng.choice("0123456789") for _ in range(length)))


def test_every_calling_code_with_random_national_numbers() -> None:
    rng = random.Random(SEED)
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for _ in range(150):
            rest = "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 14)))
            assert_same(f"+{code}{rest}")


# Starts of numbers that meet the national prefix (and carrier code) patterns, most
# with a transform rule, which parse() applies even after a "+": San Marino,
# Norfolk Island, Madagascar, Brazil, Argentina, Japan, Gabon, the UK, Australia, NANP.
NATIONAL_PREFIX_STARTS = [
    "+3788", "+3789", "+3780", "+37805",
    "+6720", "+6721", "+6722", "+6723", "+6725", "+6728", "+6729",
    "+2610", "+2612", "+2613", "+2614", "+2619", "+26102",
    "+550", "+5501", "+55012", "+55014", "+55021", "+5590", "+559012", "+559099",
    "+540", "+5411", "+5415", "+54011", "+5401115", "+549", "+54911", "+540221",
    "+810", "+8100", "+810002", "+810005", "+81003768", "+8100037680",
    "+2410", "+24101", "+241011", "+241060", "+241065", "+241074",
    "+440", "+44180020", "+4401481", "+441481", "+441624", "+441534",
    "+610", "+611", "+6189", "+61891", "+6108",
    "+11", "+1268", "+11268", "+1684", "+1441", "+1721", "+1809", "+18001",
]  # fmt: skip


def test_national_prefix_forms_match_the_slow_path() -> None:
    rng = random.Random(SEED)
    generic = [f"+{code}{p}" for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE for p in "01"]
    for starts, tries in ((NATIONAL_PREFIX_STARTS, 25), (generic, 6)):
        for start in starts:
            for length in range(0, 17 - len(start)):
                for _ in range(tries):
                    assert_same(start + "".join(rng.choice("0123456789") for _ in range(length)))


ODD_INPUTS = [
    "",
    "+",
    "++",
    "+0",
    "+00",
    "+0033612345678",
    "+033612345678",
    "0033612345678",
    "00 33 6 12 34 56 78",
    "33612345678",
    "+33 6 12 34 56 78",
    " +33612345678",
    "+33612345678 ",
    "+33612345678\n",
    "\n+33612345678",
    "+33-6-12-34-56-78",
    "+33.612.345.678",
    "+33(0)612345678",
    "++33612345678",
    "+＋33612345678",
    "＋33612345678",
    "+３３６１２３４５６７８",  # full-width digits
    "+٣٣٦١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    "+۳۳۶۱۲۳۴۵۶۷۸",  # extended Arabic-Indic digits
    "+33६१२३४५६७८",  # Devanagari digits
    "+33612345678²",
    "+1800FLOWERS",
    "+1-800-FLOWERS",
    "+44abc7911123456",
    "+33612345678x12",
    "+33612345678;ext=12",
    "+33612345678#",
    "tel:+33612345678",
    "tel:612345678;phone-context=+33",
    "+33612345678;isub=12",
    "abc",
    "+abc",
    "+1",
    "+12",
    "+123",
    "+1234",
    "+999",
    "+9991234567",
    "+80012345678",
    "+8001234567",
    "+882123456789",
    "+1" * 40,
    "+" + "1" * 15,
    "+" + "1" * 16,
    "+" + "1" * 17,
    "+" + "4" * 249,
    "+" + "4" * 250,
    "+" + "4" * 300,
    "+33612345678" + "9" * 300,
    "+3" + "0" * 14,
    "+39" + "0" * 13,
    "+3900",
    "+39000",
    "+390",
    "+3906",
    "+5400000000000",
    "+55" + "0" * 13,
    "+5590211234567890",
    "+37889123",
    "+378891234",
    "+672312345",
    "+67212345",
    "+2610321234567",
    "+261321234567",
    "+1268 4641234",
    "+12684641234",
    "+14641234",
    "+1\u0660\u0661",
]


@pytest.mark.parametrize("number", ODD_INPUTS)
def test_odd_inputs_match_the_slow_path(number: str) -> None:
    assert_same(number)


@pytest.mark.parametrize(
    ("number", "country", "types"),
    [
        ("+33612345678", "FR", ("mobile",)),
        ("+14155550123", "US", ("mobile", "fixed")),  # NANP, several regions
        ("+447911123456", "GG", ("mobile",)),  # +44: the first region that knows it
        ("+390612345678", "IT", ("fixed",)),  # Italian leading zero
        ("+4930123456", "DE", ("fixed",)),
        ("+5491123456789", "AR", ("mobile",)),  # a national prefix pattern that always matches
        ("+80012345678", None, ("toll_free",)),  # non-geographic calling code
    ],
)
def test_fast_path_is_taken_for_normal_numbers(
    number: str, country: str | None, types: tuple[str, ...]
) -> None:
    facts = _number_facts_fast(number)
    assert facts == NumberFacts(number, country, types)
    assert facts == _number_facts_slow(number)


def test_fast_path_answers_none_itself_for_impossible_canonical_numbers() -> None:
    for number in ("+12", "+999123456", "+331", "+336123456789012"):
        assert _number_facts_fast(number) is None
        assert _number_facts_slow(number) is None


def test_fast_path_leaves_other_shapes_to_the_slow_path() -> None:
    for number in ("+0123456789", "33612345678", "+33 612345678", "+" + "1" * 16, "+３３6"):
        assert _number_facts_fast(number) is _UNDECIDED


def test_every_calling_code_has_a_fast_plan() -> None:
    # With today's metadata no calling code needs the slow path; a new metadata
    # release with a shape the fast path does not replay would only make it slower.
    missing = [
        code
        for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
        if _calling_code_plan(str(code)) is None
    ]
    assert missing == []


def test_number_facts_is_cached_and_equal_to_the_slow_path() -> None:
    number_facts.cache_clear()
    first = number_facts("+33612345678")
    assert first == _number_facts_slow("+33612345678")
    assert number_facts("+33612345678") is first
    assert number_facts("+0612345678") is None
    assert number_facts("+33 6 12 34 56 78") == first

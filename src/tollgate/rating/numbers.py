"""Phone numbers as rating sees them: their country and their number types.

:func:`number_facts` answers, for a ``to`` number, its E.164 form, its country and
the number types it matches (most specific first), exactly as libphonenumber's
public API would. Canonical E.164 strings (``+`` and digits, what nearly every
event sends) take a fast path that replays libphonenumber's own steps over its
metadata, with the patterns compiled once per calling code; anything else goes
through ``phonenumbers.parse``. ``tests/rating/test_number_facts_fast.py`` holds
the two paths to the same answers.

Pure and process-wide: no database, no prices. Imports only ``phonenumbers``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType, ValidationResult

# The number types a price row may name, in the words of the API.
NUMBER_TYPES = (
    "mobile",
    "fixed",
    "toll_free",
    "premium",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)

_TYPE_NAMES: dict[int, tuple[str, ...]] = {
    PhoneNumberType.FIXED_LINE: ("fixed",),
    PhoneNumberType.MOBILE: ("mobile",),
    # NANP numbers cannot be told apart: a mobile row is preferred, then a fixed one.
    PhoneNumberType.FIXED_LINE_OR_MOBILE: ("mobile", "fixed"),
    PhoneNumberType.TOLL_FREE: ("toll_free",),
    PhoneNumberType.PREMIUM_RATE: ("premium",),
    PhoneNumberType.SHARED_COST: ("shared_cost",),
    PhoneNumberType.VOIP: ("voip",),
    PhoneNumberType.PERSONAL_NUMBER: ("personal_number",),
    PhoneNumberType.PAGER: ("pager",),
    PhoneNumberType.UAN: ("uan",),
    PhoneNumberType.VOICEMAIL: ("voicemail",),
}


class NumberFacts(NamedTuple):
    """What rating needs to know about a phone number."""

    e164: str
    country: str | None
    # The number types it matches, most specific first; empty when unknown.
    types: tuple[str, ...]


@lru_cache(maxsize=262_144)
def number_facts(number: str) -> NumberFacts | None:
    """Country and number type of an E.164 number, or None if it is not one.

    Cached: the same numbers come back again and again. Canonical E.164 strings take
    a fast path over libphonenumber's metadata (:func:`_number_facts_fast`); anything
    else, and any case the fast path does not cover, goes through ``parse``.
    """
    facts = _number_facts_fast(number)
    if facts is _UNDECIDED:
        return _number_facts_slow(number)
    return facts  # type: ignore[return-value]


def _number_facts_slow(number: str) -> NumberFacts | None:
    """The reference: libphonenumber's public API. Tens of µs a number, hundreds when
    numbers span many countries (their patterns fall out of ``re``'s cache)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    # number_type is UNKNOWN exactly when the number is not valid, so one call tells
    # both. A number libphonenumber does not know can still match a prefix row, and a
    # country row when its calling code belongs to one country only.
    types = _TYPE_NAMES.get(phonenumbers.number_type(parsed), ())
    region = phonenumbers.region_code_for_number(parsed)
    if region in (None, "ZZ", "001"):
        region = None
    return NumberFacts(e164, region, types)


# The fast path replays, for a string "+<digits>", the steps the slow path takes:
# parse() (country calling code, national prefix stripping), is_possible_number(),
# region_code_for_number() and number_type(), reading the same metadata with its
# patterns compiled once per calling code. Its results must equal the slow path's for
# every input (tests/rating/test_number_facts_fast.py checks this).

# "The fast path cannot tell": the caller must use the slow path.
_UNDECIDED = object()
# "+", no leading zero, 2 to 15 ASCII digits: the only input the fast path handles.
_CANONICAL_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_CALLING_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_NON_GEO_REGION = "001"
# parse() refuses a national significant number longer than this.
_MAX_NSN_LENGTH = 17

_UNKNOWN_TYPE = PhoneNumberType.UNKNOWN
_FIXED_LINE_OR_MOBILE = PhoneNumberType.FIXED_LINE_OR_MOBILE
# ValidationResult values of a length test, as parse() and is_possible_number() use it.
_POSSIBLE = ValidationResult.IS_POSSIBLE
_POSSIBLE_LOCAL_ONLY = ValidationResult.IS_POSSIBLE_LOCAL_ONLY
_TOO_SHORT = ValidationResult.TOO_SHORT
_TOO_LONG = ValidationResult.TOO_LONG
_INVALID_LENGTH = ValidationResult.INVALID_LENGTH


def _number_facts_fast(number: str) -> NumberFacts | object | None:
    """``number_facts`` for canonical E.164 strings; ``_UNDECIDED`` for anything else."""
    if not isinstance(number, str) or _CANONICAL_E164.fullmatch(number) is None:
        return _UNDECIDED
    digits = number[1:]
    if len(digits) <= 2:
        return None  # parse(): not a viable number / too short after the "+"
    # The shortest prefix (1 to 3 digits) that is a known calling code, as parse() does.
    for size in (1, 2, 3):
        code = digits[:size]
        if code in _CALLING_CODES:
            break
    else:
        return None  # parse(): invalid country calling code
    plan = _calling_code_plan(code)
    if plan is None:
        return _UNDECIDED
    return plan.facts(digits[size:])


class _Desc(NamedTuple):
    """A PhoneNumberDesc reduced to what matching a number reads."""

    lengths: frozenset[int] | None  # None: any length (the desc lists none)
    fullmatch: Callable[[str], object]


def _desc(desc: Any) -> _Desc | None:
    """The compiled form of ``desc``, or None if no number can ever match it.

    Mirrors ``_is_number_matching_desc``: a listed length is required (a type that does
    not exist lists only -1), then a full match of the national number pattern.
    """
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = frozenset(desc.possible_length) if desc.possible_length else None
    return _Desc(lengths, re.compile(desc.national_number_pattern).fullmatch)


def _matches(desc: _Desc | None, nsn: str) -> bool:
    if desc is None:
        return False
    return (desc.lengths is None or len(nsn) in desc.lengths) and (desc.fullmatch(nsn) is not None)


class _Typer:
    """``_number_type_helper`` for one region's metadata."""

    __slots__ = ("fixed", "general", "mobile", "same_fixed_and_mobile", "specific")

    def __init__(self, metadata: Any) -> None:
        self.general = _desc(metadata.general_desc)
        # Checked in libphonenumber's order; descs that can never match are dropped.
        specific = (
            (PhoneNumberType.PREMIUM_RATE, metadata.premium_rate),
            (PhoneNumberType.TOLL_FREE, metadata.toll_free),
            (PhoneNumberType.SHARED_COST, metadata.shared_cost),
            (PhoneNumberType.VOIP, metadata.voip),
            (PhoneNumberType.PERSONAL_NUMBER, metadata.personal_number),
            (PhoneNumberType.PAGER, metadata.pager),
            (PhoneNumberType.UAN, metadata.uan),
            (PhoneNumberType.VOICEMAIL, metadata.voicemail),
        )
        self.specific = tuple(
            (kind, *compiled) for kind, desc in specific if (compiled := _desc(desc)) is not None
        )
        self.fixed = _desc(metadata.fixed_line)
        self.mobile = _desc(metadata.mobile)
        self.same_fixed_and_mobile = bool(metadata.same_mobile_and_fixed_line_pattern)

    def type_of(self, nsn: str) -> int:
        if not _matches(self.general, nsn):
            return _UNKNOWN_TYPE
        length = len(nsn)
        for kind, lengths, fullmatch in self.specific:  # _matches, inlined: the hot loop
            if (lengths is None or length in lengths) and fullmatch(nsn) is not None:
                return kind
        if _matches(self.fixed, nsn):
            if self.same_fixed_and_mobile or _matches(self.mobile, nsn):
                return _FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_fixed_and_mobile and _matches(self.mobile, nsn):
            return PhoneNumberType.MOBILE
        return _UNKNOWN_TYPE


class _CallingCodePlan:
    """Everything the fast path needs for one country calling code, built once."""

    __slots__ = (
        "code",
        "general_pattern",
        "length_results",
        "local_lengths",
        "max_length",
        "min_length",
        "other_lengths",
        "prefix",
        "regions",
        "single_region",
        "transform",
    )

    def __init__(
        self, code: str, metadata: Any, regions: tuple[tuple[str, Any], ...], *, single: bool
    ) -> None:
        self.code = code
        general = metadata.general_desc
        pattern = general.national_number_pattern
        # _match_national_number: the pattern alone, no length check.
        self.general_pattern = re.compile(pattern).fullmatch if pattern else None
        # _test_number_length with the general desc, tabulated by length.
        lengths = list(general.possible_length)
        self.min_length, self.max_length = lengths[0], lengths[-1]
        self.other_lengths = frozenset(lengths[1:])
        self.local_lengths = frozenset(general.possible_length_local_only)
        self.length_results = tuple(self._test_length(n) for n in range(_MAX_NSN_LENGTH + 1))
        # National prefix (and carrier code) stripping, which parse() applies even
        # after a "+".
        prefix: str | None = metadata.national_prefix_for_parsing
        self.prefix = re.compile(prefix) if prefix else None
        self.transform: str | None = metadata.national_prefix_transform_rule or None
        # (region, its leading digits or None, its typer), in the calling code's order.
        # A calling code of one region is that region's whatever the number.
        self.single_region = regions[0][0] if single else None
        self.regions = tuple(
            (
                region,
                re.compile(region_metadata.leading_digits).match
                if region_metadata.leading_digits is not None
                else None,
                _Typer(region_metadata),
            )
            for region, region_metadata in regions
        )

    def _test_length(self, length: int) -> int:
        """``_test_number_length`` for the UNKNOWN type, by length alone."""
        if length in self.local_lengths:
            return _POSSIBLE_LOCAL_ONLY
        if length == self.min_length:
            return _POSSIBLE
        if length < self.min_length:
            return _TOO_SHORT
        if length > self.max_length:
            return _TOO_LONG
        return _POSSIBLE if length in self.other_lengths else _INVALID_LENGTH

    def length_result(self, length: int) -> int:
        if length <= _MAX_NSN_LENGTH:
            return self.length_results[length]
        return self._test_length(length)

    def _general_match(self, nsn: str) -> bool:
        return self.general_pattern is not None and self.general_pattern(nsn) is not None

    def strip_national_prefix(self, nsn: str) -> str:
        """The national number parse() keeps: ``_maybe_strip_national_prefix_carrier_code``
        and then parse()'s own check that the stripped number has a usable length."""
        if self.prefix is None:
            return nsn
        match = self.prefix.match(nsn)
        if match is None:
            return nsn
        if self.transform is not None and match.groups()[-1] is not None:
            stripped = self.prefix.sub(self.transform, nsn, count=1)
        else:
            stripped = nsn[match.end() :]
        # Not stripped when that would turn a viable number into a non-viable one.
        if self._general_match(nsn) and not self._general_match(stripped):
            return nsn
        if self.length_result(len(stripped)) in (_TOO_SHORT, _POSSIBLE_LOCAL_ONLY, _INVALID_LENGTH):
            return nsn
        return stripped

    def region_and_type(self, nsn: str) -> tuple[str | None, int]:
        """``region_code_for_number`` and ``number_type`` in one pass."""
        if self.single_region is not None:
            return self.single_region, self.regions[0][2].type_of(nsn)
        # _region_code_for_number_from_list: the first region whose leading digits
        # start the number or, for a region without any, that finds it a type.
        for region, leading_digits, typer in self.regions:
            if leading_digits is not None:
                if leading_digits(nsn) is not None:
                    return region, typer.type_of(nsn)
            else:
                kind = typer.type_of(nsn)
                if kind != _UNKNOWN_TYPE:
                    return region, kind
        return None, _UNKNOWN_TYPE  # no region: number_type() finds no metadata

    def facts(self, nsn: str) -> NumberFacts | None:
        if len(nsn) < 2:
            return None  # parse(): national number too short
        nsn = self.strip_national_prefix(nsn)
        if not 2 <= len(nsn) <= _MAX_NSN_LENGTH:
            return None  # parse(): too short or too long
        # format_number() rebuilds the same digits from the parsed integer and its
        # Italian leading zeros, so the E.164 form is the code and this NSN.
        if self.length_result(len(nsn)) not in (_POSSIBLE, _POSSIBLE_LOCAL_ONLY):
            return None  # not is_possible_number()
        region, kind = self.region_and_type(nsn)
        if region == _NON_GEO_REGION:
            region = None
        return NumberFacts("+" + self.code + nsn, region, _TYPE_NAMES.get(kind, ()))


# Plans by calling code, built on first use; None where the fast path does not apply.
_plans: dict[str, _CallingCodePlan | None] = {}


def _calling_code_plan(code: str) -> _CallingCodePlan | None:
    try:
        return _plans[code]
    except KeyError:
        pass
    plan = _build_plan(code)
    _plans[code] = plan  # two threads may both build it: the same result
    return plan


def _build_plan(code: str) -> _CallingCodePlan | None:
    """The plan for ``code``, or None when its metadata has a shape the fast path does
    not replay (the slow path then answers for the whole calling code)."""
    number_code = int(code)
    region_codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[number_code]
    # parse() and is_possible_number() use the main (first) region's metadata.
    main = PhoneMetadata.metadata_for_region_or_calling_code(number_code, region_codes[0])
    if main is None or main.general_desc is None or not main.general_desc.possible_length:
        return None
    transform = main.national_prefix_transform_rule
    if (
        transform
        and main.national_prefix_for_parsing
        and re.compile(main.national_prefix_for_parsing).groups == 0
    ):
        return None  # libphonenumber would index a group that does not exist
    if len(region_codes) == 1:
        regions: tuple[tuple[str, PhoneMetadata], ...] = ((region_codes[0], main),)
    else:
        # _region_code_for_number_from_list skips regions without metadata.
        if _NON_GEO_REGION in region_codes:
            return None
        listed = tuple(
            (region, PhoneMetadata.metadata_for_region(region, None)) for region in region_codes
        )
        regions = tuple((region, metadata) for region, metadata in listed if metadata is not None)
        if not regions:
            return None
    return _CallingCodePlan(code, main, regions, single=len(region_codes) == 1)

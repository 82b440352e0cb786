"""How many SMS segments a text costs (3GPP TS 23.038 alphabets, TS 23.040 concatenation).

An SMS carries 140 octets of user data. A text written only in the GSM 7-bit
default alphabet packs 160 septets into them; the extension table (``€``, ``[``,
``{``, ``|``, form feed…) is reached through an escape, so each of those
characters costs two septets. Anything else goes as UCS-2: 70 UTF-16 code units.
A longer text is sent as concatenated parts, each losing 6 octets to the
concatenation header: 153 septets or 67 code units per part.

Parts are packed greedily, and a part never ends in the middle of an escape pair,
a surrogate pair or a grapheme cluster (``\\X``: a flag, an emoji ZWJ sequence, a
letter with its combining accents, CR LF): what does not fit in the rest of a part
starts the next one, so the recipient never sees half a character. The one
exception is a single grapheme cluster longer than a whole part, which no part
could hold: it is cut at code-point boundaries (never inside a surrogate pair),
filling each part, and the parts after it go on from its real end.

An empty text is one segment: carriers deliver, and bill, an SMS with no user data
like any other.

This is on the usage hot path, so the common cases (one part; or several parts of
plain GSM text or of BMP text in which no character can join the next into one
cluster) are answered from lengths alone; grapheme clusters are computed only
around the ends of parts that might split one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import regex

Encoding = Literal["GSM-7", "UCS-2"]

GSM7: Final = "GSM-7"
UCS2: Final = "UCS-2"

GSM7_SINGLE: Final = 160
GSM7_PART: Final = 153
UCS2_SINGLE: Final = 70
UCS2_PART: Final = 67

# The default alphabet in table order, less 0x1B (the escape itself). 0x09 is the
# capital Ç: a lowercase ç is not in it, and sends the text as UCS-2.
GSM7_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039eÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION: Final = "\f^{}\\[~]|€"

_ESC = "\x1b"
_find_non_basic = re.compile(f"[^{re.escape(GSM7_BASIC)}]").search
_is_gsm7 = re.compile(f"[{re.escape(GSM7_BASIC + GSM7_EXTENSION)}]*").fullmatch
_find_extension = re.compile(f"[{re.escape(GSM7_EXTENSION)}]").findall

_GRAPHEME = regex.compile(r"\X")
# Every character that can share a grapheme cluster with a neighbour (UAX #29): a
# text with none of these is one cluster per code point. Indic conjuncts (GB9c)
# need a virama, which is Extend; emoji sequences need Extend or ZWJ.
_CAN_JOIN = (
    r"[\r\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=Regional_Indicator}\p{GCB=Prepend}"
    r"\p{GCB=SpacingMark}\p{GCB=L}\p{GCB=V}\p{GCB=T}]"
)
_joins = regex.compile(_CAN_JOIN).match


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """What a text costs as SMS: ``units`` are septets (GSM-7) or UTF-16 code units (UCS-2)."""

    segments: int
    encoding: Encoding
    units: int


def count_segments(text: str) -> SegmentCount:
    """Count the SMS segments ``text`` is sent as; see the module docstring for the rules."""
    length = len(text)
    non_basic = _find_non_basic(text)
    if non_basic is None:
        if length <= GSM7_SINGLE:
            return SegmentCount(1, GSM7, length)
        if "\r" not in text:
            return SegmentCount(-(-length // GSM7_PART), GSM7, length)
        return SegmentCount(len(_gsm7_part_ends(text)), GSM7, length)
    if _is_gsm7(text, non_basic.start()):
        septets = length + len(_find_extension(text, non_basic.start()))
        if septets <= GSM7_SINGLE:
            return SegmentCount(1, GSM7, septets)
        return SegmentCount(len(_gsm7_part_ends(_spell_escapes(text))), GSM7, septets)
    units = _utf16_units(text)
    if units <= UCS2_SINGLE:
        return SegmentCount(1, UCS2, units)
    if units == length and _bmp_can_join()(text) is None:
        return SegmentCount(-(-units // UCS2_PART), UCS2, units)
    return SegmentCount(len(_ucs2_part_ends(text, units)), UCS2, units)


def split_parts(text: str) -> list[str]:
    """The parts ``text`` is sent as, in order; ``"".join(parts) == text``.

    For tests and for showing a sender where their text breaks: rating needs only
    :func:`count_segments`, which always agrees with ``len(split_parts(text))``.
    """
    if _is_gsm7(text):
        spelled = _spell_escapes(text)
        if len(spelled) <= GSM7_SINGLE:
            return [text]
        parts, start = [], 0
        for end in _gsm7_part_ends(spelled):
            parts.append(spelled[start:end].replace(_ESC, ""))
            start = end
        return parts
    units = _utf16_units(text)
    if units <= UCS2_SINGLE:
        return [text]
    parts, start = [], 0
    for end in _ucs2_part_ends(text, units):
        parts.append(text[start:end])
        start = end
    return parts


def _utf16_units(text: str) -> int:
    # surrogatepass: a lone surrogate (from sloppy JSON) is still one code unit on the air.
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


def _spell_escapes(text: str) -> str:
    """``text`` with ESC before each extension character: one character per septet.

    ESC itself is not in the alphabet, so in a GSM-7 text it marks escapes unambiguously.
    """
    for char in GSM7_EXTENSION:
        if char in text:
            text = text.replace(char, _ESC + char)
    return text


def _gsm7_part_ends(spelled: str) -> list[int]:
    """Where each part ends, as offsets into ``spelled`` (see :func:`_spell_escapes`)."""
    ends: list[int] = []
    start, total = 0, len(spelled)
    while total - start > GSM7_PART:
        end = start + GSM7_PART
        last = spelled[end - 1]
        if last == _ESC or (last == "\r" and spelled[end] == "\n"):
            end -= 1
        ends.append(end)
        start = end
    ends.append(total)
    return ends


@functools.cache
def _bmp_can_join() -> Callable[[str], re.Match[str] | None]:
    """A fast search for the BMP characters of ``_CAN_JOIN``, built on first use (~20 ms).

    ``regex``'s property classes are slow to match (~75 ns a character); a stdlib
    ``re`` class of the same characters is one bitmap lookup each. Texts beyond the
    BMP always take the cluster-aware path, so the BMP is all this needs to cover.
    """
    bmp = "".join(map(chr, range(0x10000)))
    runs = regex.finditer(_CAN_JOIN + "+", bmp)
    ranges = "".join(f"{re.escape(run[0][0])}-{re.escape(run[0][-1])}" for run in runs)
    return re.compile(f"[{ranges}]").search


def _ucs2_part_ends(text: str, units: int) -> list[int]:
    """Where each part ends, as code-point offsets into ``text``."""
    length = len(text)
    has_astral = units != length
    cut_anywhere = not has_astral and _bmp_can_join()(text) is None
    ends: list[int] = []
    # `boundary` is the first grapheme boundary at or after `start`; it runs ahead
    # of `start` only while an oversized cluster is being cut into parts.
    start = boundary = 0
    while True:
        end = _fill(text, start) if has_astral else start + UCS2_PART
        if end >= length:
            ends.append(length)
            return ends
        if cut_anywhere or boundary >= end:
            cut = end
        else:
            # UAX #29 never joins two characters neither of which can join, so walk
            # back to such a pair: a sure boundary, usually `end` itself.
            safe = end
            while safe > boundary and (_joins(text, safe) or _joins(text, safe - 1)):
                safe -= 1
            if safe == end:
                cut = end
            else:
                # \X from there finds the boundaries before `end`; the last cluster
                # it returns may be truncated at `end`, so look at that one whole.
                last_start = end - len(_GRAPHEME.findall(text, safe, end)[-1])
                cluster = _GRAPHEME.match(text, last_start)
                assert cluster is not None  # \X matches at every offset inside the text
                last_end = cluster.end()
                if last_end == end:
                    cut = end
                elif last_start > start:
                    cut = last_start
                else:
                    cut, boundary = end, last_end
        boundary = max(boundary, cut)
        ends.append(cut)
        start = cut


def _fill(text: str, start: int) -> int:
    """The furthest code-point offset from ``start`` whose UTF-16 length fits one part."""
    chunk = text[start : start + UCS2_PART]
    encoded = chunk.encode("utf-16-le", "surrogatepass")
    if len(encoded) <= 2 * UCS2_PART:
        return start + len(chunk)
    head = encoded[: 2 * UCS2_PART].decode("utf-16-le", "surrogatepass")
    fits = len(head)
    if head[-1] != chunk[fits - 1]:
        fits -= 1  # the part would end on the first half of a surrogate pair
    return start + fits

"""SMS segment counting: SPEC §5 (GSM-7 160/153, extension characters cost two;
UCS-2 70/67; no part splits an escape pair, a surrogate pair or a grapheme cluster)."""

from __future__ import annotations

from itertools import pairwise

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

from tollgate.rating.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SegmentCount,
    count_segments,
    split_parts,
)

EMOJI = "\U0001f600"  # 😀, one surrogate pair
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧, 8 units
FLAG_FR = "\U0001f1eb\U0001f1f7"  # 🇫🇷, 4 units
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # 👍🏽, 4 units
E_ACUTE_COMBINING = "e\u0301"  # é as two code points, 2 units


def septets(part: str) -> int:
    return sum(2 if c in GSM7_EXTENSION else 1 for c in part)


def utf16_units(part: str) -> int:
    return len(part.encode("utf-16-le", "surrogatepass")) // 2


def assert_consistent(text: str) -> list[str]:
    parts = split_parts(text)
    assert "".join(parts) == text
    assert len(parts) == count_segments(text).segments
    return parts


class TestCountSegmentsGsm7:
    @pytest.mark.parametrize(
        ("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)]
    )
    def test_160_in_one_segment_then_153_per_part(self, length: int, segments: int) -> None:
        text = ("Hello world 0123456789 " * 20)[:length]
        assert count_segments(text) == SegmentCount(segments, "GSM-7", length)
        assert_consistent(text)

    def test_every_character_of_the_default_alphabet_is_gsm7(self) -> None:
        assert count_segments(GSM7_BASIC) == SegmentCount(1, "GSM-7", 127)

    @pytest.mark.parametrize("char", list(GSM7_EXTENSION))
    def test_extension_characters_cost_two_septets(self, char: str) -> None:
        assert count_segments(char) == SegmentCount(1, "GSM-7", 2)
        assert count_segments(char * 80) == SegmentCount(1, "GSM-7", 160)
        assert count_segments(char * 81) == SegmentCount(2, "GSM-7", 162)

    def test_one_euro_sign_pushes_160_septets_over_one_segment(self) -> None:
        assert count_segments("a" * 159 + "€") == SegmentCount(2, "GSM-7", 161)

    def test_extension_character_straddling_153_moves_to_the_next_part(self) -> None:
        text = "a" * 152 + "€" + "b" * 10
        parts = assert_consistent(text)
        assert parts == ["a" * 152, "€" + "b" * 10]
        assert count_segments(text) == SegmentCount(2, "GSM-7", 164)

    def test_escape_pair_moving_over_can_cost_an_extra_part(self) -> None:
        # 152 + 2 + 152 = 306 septets would fit two full parts if the pair could split.
        text = "a" * 152 + "[" + "b" * 152
        assert count_segments(text) == SegmentCount(3, "GSM-7", 306)
        assert [septets(p) for p in assert_consistent(text)] == [152, 153, 1]

    def test_extension_character_ending_exactly_at_153_stays(self) -> None:
        text = "a" * 151 + "€" + "b" * 10
        assert split_parts(text) == ["a" * 151 + "€", "b" * 10]

    def test_crlf_is_not_split_across_parts(self) -> None:
        text = "a" * 152 + "\r\n" + "b" * 10
        assert split_parts(text) == ["a" * 152, "\r\n" + "b" * 10]

    def test_lone_cr_at_the_boundary_is_an_ordinary_septet(self) -> None:
        text = "a" * 152 + "\r" + "b" * 10
        assert split_parts(text) == ["a" * 152 + "\r", "b" * 10]

    def test_empty_text_is_one_segment(self) -> None:
        assert count_segments("") == SegmentCount(1, "GSM-7", 0)
        assert split_parts("") == [""]


class TestCountSegmentsUcs2:
    @pytest.mark.parametrize(
        ("length", "segments"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3)]
    )
    def test_70_units_in_one_segment_then_67_per_part(self, length: int, segments: int) -> None:
        text = ("Привет, мир! " * 20)[:length]
        assert count_segments(text) == SegmentCount(segments, "UCS-2", length)
        assert_consistent(text)

    @pytest.mark.parametrize("char", ["ç", "`", "\t", "\x1b", "ê", "中", EMOJI])
    def test_one_character_outside_gsm7_makes_the_whole_text_ucs2(self, char: str) -> None:
        text = "a" * 69 + char
        count = count_segments(text)
        assert count.encoding == "UCS-2"
        assert count.units == 69 + utf16_units(char)

    def test_mixed_text_that_fits_gsm7_in_one_part_needs_three_as_ucs2(self) -> None:
        assert count_segments("a" * 150).segments == 1
        assert count_segments("a" * 149 + "ç") == SegmentCount(3, "UCS-2", 150)

    def test_emoji_counts_two_units(self) -> None:
        assert count_segments(EMOJI * 35) == SegmentCount(1, "UCS-2", 70)
        assert count_segments(EMOJI * 36) == SegmentCount(2, "UCS-2", 72)

    def test_surrogate_pair_at_67_moves_to_the_next_part(self) -> None:
        text = "ç" * 66 + EMOJI + "ç" * 10
        parts = assert_consistent(text)
        assert parts == ["ç" * 66, EMOJI + "ç" * 10]

    def test_surrogate_pair_ending_exactly_at_67_stays(self) -> None:
        text = "ç" * 65 + EMOJI + "ç" * 10
        assert split_parts(text) == ["ç" * 65 + EMOJI, "ç" * 10]

    @pytest.mark.parametrize(
        "cluster", [FAMILY, FLAG_FR, THUMBS_UP_MEDIUM, E_ACUTE_COMBINING, "\r\n"]
    )
    def test_grapheme_cluster_straddling_67_moves_to_the_next_part(self, cluster: str) -> None:
        # The cluster starts 1 unit before the end of the first part.
        text = "ç" * 66 + cluster + "ç" * 10
        parts = assert_consistent(text)
        assert parts == ["ç" * 66, cluster + "ç" * 10]

    def test_zwj_family_fills_parts_eight_emoji_at_a_time(self) -> None:
        text = FAMILY * 30  # 240 units; 8 families (64 units) per part
        assert count_segments(text) == SegmentCount(4, "UCS-2", 240)
        assert [utf16_units(p) for p in split_parts(text)] == [64, 64, 64, 48]

    def test_flags_are_never_split_into_regional_indicators(self) -> None:
        text = "ç" + FLAG_FR * 20  # 81 units; a part holds 16 flags after the ç
        assert split_parts(text) == ["ç" + FLAG_FR * 16, FLAG_FR * 4]

    def test_combining_accents_stay_with_their_letter(self) -> None:
        text = "ç" * 65 + "e\u0301\u0302" + "ç" * 5
        assert split_parts(text) == ["ç" * 65, "e\u0301\u0302" + "ç" * 5]

    def test_precomposed_accent_is_one_unit(self) -> None:
        assert count_segments("ê" * 70) == SegmentCount(1, "UCS-2", 70)

    def test_lone_surrogate_counts_one_unit(self) -> None:
        assert count_segments("ç" + "\ud83d") == SegmentCount(1, "UCS-2", 2)

    def test_lone_surrogate_can_end_a_part(self) -> None:
        text = EMOJI + "ç" * 64 + "\ud83d" + "ç" * 5
        assert split_parts(text) == [EMOJI + "ç" * 64 + "\ud83d", "ç" * 5]

    def test_cluster_longer_than_a_part_is_cut_between_code_points(self) -> None:
        # Documented exception: no part could hold 1 + 100 combining marks whole.
        monster = "e" + "\u0301" * 100
        text = "ç" * 10 + monster + "ç" * 10
        parts = assert_consistent(text)
        assert parts == ["ç" * 10, monster[:67], monster[67:] + "ç" * 10]

    def test_oversized_cluster_is_never_cut_inside_a_surrogate_pair(self) -> None:
        monster = EMOJI + "\U0001f3fd" * 40  # one cluster of 41 astral code points
        parts = assert_consistent("ç" + monster)
        assert [utf16_units(p) for p in parts] == [1, 66, 16]


GSM7_CHARS = st.sampled_from(GSM7_BASIC + GSM7_EXTENSION)
TRICKY = st.sampled_from(
    [
        "ç", "ê", "中", EMOJI, FAMILY, FLAG_FR, "\U0001f1eb", THUMBS_UP_MEDIUM, "\u200d",
        "\u0301", "\ufe0f", "\r\n", "\u1100\u1161\u11a8", "\u0915\u094d\u0937", "\u0e33",
        "\ud83d",
    ]
)  # fmt: skip
GSM7_TEXTS = st.text(GSM7_CHARS, max_size=700)
MIXED_TEXTS = st.lists(
    st.one_of(GSM7_CHARS, TRICKY, st.characters(), st.just("\u0301" * 70)), max_size=300
).map("".join)


def reference_parts(text: str) -> list[str]:
    """The rules written as plainly as possible: greedy over grapheme clusters."""
    gsm7 = all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)
    cost = septets if gsm7 else utf16_units
    single, capacity = (160, 153) if gsm7 else (70, 67)
    if cost(text) <= single:
        return [text]
    parts, current = [], ""
    for cluster in regex.findall(r"\X", text):
        if cost(current + cluster) <= capacity:
            current += cluster
            continue
        if current:
            parts.append(current)
        current = ""
        if cost(cluster) <= capacity:
            current = cluster
            continue
        for code_point in cluster:
            if cost(current + code_point) > capacity:
                parts.append(current)
                current = ""
            current += code_point
    parts.append(current)
    return parts


class TestSegmentProperties:
    pytestmark = pytest.mark.slow

    @given(GSM7_TEXTS)
    def test_gsm7_parts_never_exceed_153_septets(self, text: str) -> None:
        count = count_segments(text)
        parts = assert_consistent(text)
        assert count.encoding == "GSM-7"
        assert count.segments >= 1
        assert count.units == septets(text)
        if count.segments > 1:
            assert all(0 < septets(p) <= 153 for p in parts)
            assert not any(p.endswith("\r") and q.startswith("\n") for p, q in pairwise(parts))

    @given(MIXED_TEXTS)
    def test_parts_are_the_greedy_packing_of_whole_clusters(self, text: str) -> None:
        count = count_segments(text)
        parts = assert_consistent(text)
        assert count.segments >= 1
        assert parts == reference_parts(text)
        if count.encoding == "UCS-2":
            assert count.units == utf16_units(text)
            if count.segments > 1:
                assert all(0 < utf16_units(p) <= 67 for p in parts)

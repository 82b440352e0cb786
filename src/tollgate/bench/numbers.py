"""The phone numbers the benchmark calls: distinct valid E.164 numbers in every
country of the workload, so that the number cache helps as little as it can."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneNumberFormat

from tollgate.bench import BenchError
from tollgate.bench.workload import COUNTRIES, NUMBER_KINDS


class _Template(NamedTuple):
    """A country's example number of one type, whose last digits get varied."""

    region: str
    kind: str
    example: phonenumbers.PhoneNumber
    national: int
    weight: int


@dataclass
class NumberPool:
    """Distinct valid E.164 numbers: all of them, shuffled, and by country and type."""

    outbound: list[str]
    by_kind: dict[tuple[str, str], list[str]]

    @property
    def regions(self) -> set[str]:
        return {region for region, _ in self.by_kind}

    @classmethod
    def generate(cls, rng: random.Random, size: int) -> NumberPool:
        """``size`` numbers: each country's example number of each type with its last
        digits varied, kept when libphonenumber says it is valid."""
        templates = _templates()
        weights = [template.weight for template in templates]
        seen: set[str] = set()
        by_kind: dict[tuple[str, str], list[str]] = {}
        attempts = 0
        while len(seen) < size:
            attempts += 1
            if attempts > 50 * size + 10_000:
                raise BenchError(f"could not generate {size} distinct valid numbers")
            region, kind, example, national, _ = rng.choices(templates, weights)[0]
            varied = 10 ** (5 if national >= 10**8 else 4)
            number = phonenumbers.PhoneNumber()
            number.merge_from(example)
            number.national_number = national - national % varied + rng.randrange(varied)
            e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
            if e164 in seen or not phonenumbers.is_valid_number(number):
                continue
            seen.add(e164)
            by_kind.setdefault((region, kind), []).append(e164)
        outbound = [e164 for numbers in by_kind.values() for e164 in numbers]
        rng.shuffle(outbound)
        return cls(outbound, by_kind)

    def cycle(self) -> Iterator[str]:
        """Every number once, then again: as few repeats as the pool allows."""
        while True:
            yield from self.outbound


def _templates() -> list[_Template]:
    """Every country's example number of every type libphonenumber has one for."""
    templates = []
    for region, *_ in COUNTRIES:
        for kind, number_type, weight in NUMBER_KINDS:
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None and example.national_number is not None:
                templates.append(_Template(region, kind, example, example.national_number, weight))
    return templates

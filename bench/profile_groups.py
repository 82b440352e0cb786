"""Group a py-spy profile of ``tollgate bench usage`` by where the time goes.

    py-spy record -r 200 -f raw -o usage.raw -- tollgate bench usage --events 100000 --batch 1000
    python bench/profile_groups.py usage.raw

Only samples taken inside the timed loop count (frames of ``record_events`` in
``tollgate/bench/recording.py``); each is put in the first group whose marker one of its
frames carries.
"""

from __future__ import annotations

import sys
from collections import Counter

TIMED = "record_events (tollgate/bench/recording.py"
GROUPS = (
    ("rating: phone numbers (phonenumbers)", ("number_facts (",)),
    ("rating: SMS segments", ("count_segments (",)),
    ("rating: price list lookup, voice maths", ("rate_for_account (",)),
    (
        "answers: fingerprint, JSON, amounts",
        ("fingerprint (", "JSONEncoder.encode (", "format_amount ("),
    ),
    ("SQL writes (executemany per table)", ("UsageRecorder._write (",)),
    ("SQL reads: lock accounts, load credit", ("lock_accounts (", "UsageRecorder._load (")),
    ("SQL reads: known ids, day passes", ("_load_known (", "_load_day_passes (")),
    ("commit", ("SessionTransaction.commit (", "Connection.commit (")),
    ("ledger logic: checks, draw-down, legs", ("UsageRecorder._record_one (",)),
)


def main(path: str, marker: str = TIMED) -> None:
    totals: Counter[str] = Counter()
    with open(path, encoding="utf-8") as samples:
        for line in samples:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if marker not in stack:
                continue
            group = next(
                (name for name, marks in GROUPS if any(m in stack for m in marks)),
                "other (transaction open/close, loop)",
            )
            totals[group] += int(count)
    everything = sum(totals.values()) or 1
    for group, samples in totals.most_common():
        print(f"{samples / everything:6.1%}  {group}")
    print(f"{everything} samples")


if __name__ == "__main__":
    main(*sys.argv[1:])

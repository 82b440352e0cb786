"""Rating: price lists and the prices of events. Knows nothing of balances.

Plain words first.

* A **price list** (rate card) belongs to the operator and has an id (``default``
  rates every account that names no other). It is **versioned**: each ``PUT`` (or
  CSV import) stores a new, immutable version with an ``effective_from``; an event
  is rated with the version in force at the event's own time, so older versions
  keep rating events dated before a newer one.
* A **row** says which events it matches (``channel``, ``direction``,
  ``destination``, ``number_type``, ``category``, each possibly ``*``) and what
  they cost: ``price`` micros for ``per`` units, voice in ``first/next`` second
  increments plus an optional ``connect_fee``.
* **Matching** reads the event's ``to`` number (for an inbound call, the
  account's own called number): libphonenumber gives its country and type. Among
  matching rows the most specific wins, compared in this order: destination
  (longest E.164 prefix, then country, then ``*``), direction, number type,
  category. No match is an ``unratable`` error, never a free event.
* **Cost** is exact integer arithmetic in micros, rounded half-up once per event:
  ``half_up(billed_units × price / per) + connect_fee``.

:mod:`~tollgate.rating.rater` is the pure part (matching and arithmetic), and
:mod:`~tollgate.rating.numbers` what a phone number is (country, number types);
:mod:`~tollgate.rating.rows` validates price list rows;
:mod:`~tollgate.rating.resolver` finds the version in force and keeps loaded versions;
:mod:`~tollgate.rating.service` stores versions and reads them back, with every query in
:mod:`~tollgate.rating.repository`;
:mod:`~tollgate.rating.csv` imports and exports price lists as CSV;
:mod:`~tollgate.rating.segments` counts SMS segments.
"""

"""The credit ledger: lots, buckets, reservations, the journal and expiry.

Plain words first, because this is money.

* A **lot** is one piece of credit that entered an account: a purchase, a grant, a
  plan allowance. It remembers how much came in (``amount``), how much is left
  (``remaining``), how much of that is held by reservations (``reserved``), when it
  expires, its ``priority`` and, optionally, which tags (channels) it may pay for.
  Lots answer *what kind of credit* is spent and *when it expires*.
* A **bucket** answers *who may spend it*. Every account has an unassigned pool per
  unit, and one allocation per list that was assigned credit. A list with an
  allocation spends only from it: the allocation is its spending limit.
* Lots and buckets are two views of the same credit: per account and unit, the
  lots' remaining sums to the buckets' balances, and the lots' reserved to the
  buckets' reserved. A charge lowers its bucket and, separately, the applicable lots
  in draw-down order: (priority, soonest expiry first and never-expiring last,
  created_at, id).
* A **reservation** holds credit (in its bucket and in lots) until it is captured
  (charged, the rest released), released, or it lapses.
* The **journal** records every movement of credit as an entry whose postings sum
  to zero per unit: customer-side ledger accounts (``pool``, ``list:<id>``,
  ``debt``) against system accounts (``system:grants``, ``system:breakage``,
  ``system:revenue:<tag>``…). Each posting on a customer account names the lot it
  moved, so paid and free credit stay traceable. The journal is append-only.
* **Expiry** removes a lot's unreserved remainder at ``expires_at``: first from the
  pool's available credit, the rest from the list allocations in proportion to
  their available credit (largest remainder, ties by ``list_id``). A held part of an
  expired lot expires when its reservation is released or lapses.

Every operation on an account first locks it (:func:`lock_account`) and catches up
on anything that fell due (:func:`settle`), so a charge never spends an expired lot
even if no job has run yet. The ledger knows nothing of channels, prices or HTTP.

The modules: :mod:`~tollgate.ledger.rules` (the debit rules, pure functions over
plain values), :mod:`~tollgate.ledger.balances` (buckets, lots and views),
:mod:`~tollgate.ledger.credit` (grants, allocations, charges),
:mod:`~tollgate.ledger.reservations`, :mod:`~tollgate.ledger.expiry` (locking and
catching up), :mod:`~tollgate.ledger.journal`, :mod:`~tollgate.ledger.batch` (many
debits in one transaction, through the driver: the usage hot path) and
:mod:`~tollgate.ledger.hooks` (what runs after every debit).
"""

from tollgate.ledger.balances import (
    BalanceView,
    BucketFigures,
    available_for,
    balance_view,
    buckets_of,
    find_bucket,
    money_totals,
    open_lots,
    open_pool,
    spending_bucket,
)
from tollgate.ledger.credit import charge, delete_allocation, grant, set_allocation
from tollgate.ledger.expiry import SettleReport, is_due, lock_account, lock_accounts, settle
from tollgate.ledger.invariants import check_invariants
from tollgate.ledger.journal import journal_page, post_entry
from tollgate.ledger.reservations import (
    HeldCharge,
    capture,
    capture_in_turn,
    get_reservation,
    holds_of,
    postpone_lapse,
    release,
    reservation_not_found,
    reserve,
)
from tollgate.ledger.rules import ChargeResult, Draw, refuse_if_blocked

__all__ = [
    "BalanceView",
    "BucketFigures",
    "ChargeResult",
    "Draw",
    "HeldCharge",
    "SettleReport",
    "available_for",
    "balance_view",
    "buckets_of",
    "capture",
    "capture_in_turn",
    "charge",
    "check_invariants",
    "delete_allocation",
    "find_bucket",
    "get_reservation",
    "grant",
    "holds_of",
    "is_due",
    "journal_page",
    "lock_account",
    "lock_accounts",
    "money_totals",
    "open_lots",
    "open_pool",
    "post_entry",
    "postpone_lapse",
    "refuse_if_blocked",
    "release",
    "reservation_not_found",
    "reserve",
    "set_allocation",
    "settle",
    "spending_bucket",
]

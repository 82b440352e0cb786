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
"""

from tollgate.ledger.invariants import check_invariants
from tollgate.ledger.service import (
    Draw,
    balance_view,
    capture,
    charge,
    delete_allocation,
    grant,
    lock_account,
    lock_accounts,
    postpone_lapse,
    release,
    reserve,
    set_allocation,
    settle,
)

__all__ = [
    "Draw",
    "balance_view",
    "capture",
    "charge",
    "check_invariants",
    "delete_allocation",
    "grant",
    "lock_account",
    "lock_accounts",
    "postpone_lapse",
    "release",
    "reserve",
    "set_allocation",
    "settle",
]

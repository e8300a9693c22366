"""Which source owns which field when two files describe the same order.

A seller has two kinds of sources: the Fulfillment API (``getOrders`` JSON), which knows every fact
of an order, and Seller Hub reports (CSV), which know the sale, the money, the lines, the buyer and
the paid and shipped dates — but, in the standard report, neither refunds nor cancellations. A
source that knows less must never erase what a richer one knew. Field by field:

==========================  ===========================================================================
field                       owner
==========================  ===========================================================================
refunded amount             a source that shows refunds (the API; a report with a refund column). A
                            report without one keeps the stored amount.
status cancelled/refunded   a source that shows cancellations (the API; a report with an "Order Status"
                            column). A report without one never turns a cancelled or refunded order
                            back into a shipped one (its dates only tell pending, paid or shipped).
status progress             the most recently changed copy (``updated_at``): pending, paid, shipped,
                            delivered.
total, currency, order      the most recently changed copy: both kinds of source state them exactly,
date, lines, buyer          and a later report reflects later changes.
==========================  ===========================================================================

An *older* copy changes nothing (an old export never undoes a newer state), except for facts that
never go back once true — a completed refund, a cancellation, a full refund: an older copy from a
source that knows them still adds them to a newer copy from one that did not (a getOrders page with
a refund imported after a newer Seller Hub report of the same order). See :func:`older_facts`.

``knows`` on :class:`~ebaydash.models.OrderRecord` names the facts a record vouches
for ("refunds", "cancellation"). The rules are pure functions on a record and what is stored; the
upsert calls :func:`reconcile` for every order it already holds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from ebaydash.models import OrderRecord

TERMINAL = ("cancelled", "refunded")


@dataclass(frozen=True)
class Stored:
    """What the database holds of an order, as far as precedence needs it (an order at most as
    new as the incoming copy)."""

    status: str
    refunded_amount: Decimal


def reconcile(incoming: OrderRecord, stored: Stored) -> OrderRecord:
    """The record to store for ``incoming``, a copy at least as new as the ``stored`` one: the
    incoming fields, except the facts its source does not know, which stay as stored."""
    knows_refunds = "refunds" in incoming.knows
    knows_cancellation = "cancellation" in incoming.knows
    status, refunded = incoming.status, incoming.refunded_amount
    if not knows_cancellation and stored.status in TERMINAL and incoming.status not in TERMINAL:
        status, refunded = stored.status, stored.refunded_amount
    elif not knows_refunds and incoming.status != "cancelled":
        refunded = stored.refunded_amount
    refunded = min(refunded, incoming.total_amount)
    if status == "refunded" and stored.status != "refunded" and not knows_refunds:
        refunded = incoming.refunded_amount  # a report's own "Refunded" status: the whole total
    if (status, refunded) == (incoming.status, incoming.refunded_amount):
        return incoming
    return dataclasses.replace(incoming, status=status, refunded_amount=refunded)


def older_facts(incoming: OrderRecord, stored: Stored) -> tuple[str, Decimal] | None:
    """What an *older* copy still adds to the stored order: (status, refunded amount), or ``None``.

    Completed refunds, cancellations and full refunds never go back, so a newer copy without them
    came from a source that did not know them: a cancelled or refunded status from a source that
    knows cancellations replaces a progress status, and a larger completed refund from a source
    that knows refunds replaces a smaller one.
    """
    if stored.status in TERMINAL:
        return None
    if "cancellation" in incoming.knows and incoming.status in TERMINAL:
        return incoming.status, incoming.refunded_amount
    if "refunds" in incoming.knows and incoming.refunded_amount > stored.refunded_amount:
        return stored.status, incoming.refunded_amount
    return None

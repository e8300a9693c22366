"""The upsert's plan, shared by both backends: each order of an import is classified against what
is stored before anything is written:

    new       not stored yet                                   -> inserted with its items
    changed   stored, and a field or an item differs           -> updated, its items replaced
    same      stored and identical                             -> not touched at all
    older     stored copy changed more recently than this one  -> kept (an old export never
              undoes a newer state, e.g. a refund)
    patched   older, but its source knows a fact that never    -> only the status and refunded
              goes back (a completed refund, a cancellation)      amount updated, items kept

A copy at least as new as the stored one from a source that knows less (a Seller Hub report
without refund or status columns) keeps the stored facts it does not know
(:func:`ebaydash.db.upsert.precedence.reconcile`) before it is compared.

The plan is made in Python from one read of the stored orders and their items (:class:`Stored`,
which each backend fills with values as it stores them); the backends differ only in how they
read and write.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from ebaydash.db.upsert import precedence
from ebaydash.models import FACTS_ALL, OrderRecord
from ebaydash.money import CENT

ORDER_FIELDS = (
    "customer_id",
    "status",
    "total_amount",
    "refunded_amount",
    "currency",
    "order_date",
    "updated_at",
)


@dataclass(frozen=True)
class UpsertCounts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0

    @property
    def total(self) -> int:
        return self.imported + self.updated + self.unchanged + self.older

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.imported + other.imported,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.older + other.older,
        )


def buyer_emails(records: Sequence[OrderRecord]) -> dict[str, str | None]:
    """Each buyer once, with the first email any of their orders gives."""
    emails: dict[str, str | None] = {}
    for r in records:
        if r.buyer is not None:
            emails[r.buyer] = emails.get(r.buyer) or r.buyer_email
    return emails


def newest_titles(records: Sequence[OrderRecord]) -> dict[str, str]:
    """Each SKU once, with its title in the newest order (the last one given) that sells it."""
    titles: dict[str, str] = {}
    for r in reversed(records):
        for line in r.lines:
            titles.setdefault(line.sku, line.title)
    return titles


class PlanRow(NamedTuple):
    action: str  # new, changed, same, older, or patched (older, but adds a refund or cancellation)
    order_id: int
    record: OrderRecord
    customer_id: int | None


class Storage(Protocol):
    """How one backend stores an order's fields and lines, for comparing with what it holds."""

    def order(self, r: OrderRecord, customer_id: int | None) -> tuple[Any, ...]: ...

    def lines(self, r: OrderRecord) -> Counter[tuple[Any, ...]]: ...


class Stored:
    """The stored orders of an import's eBay order ids, as the backend holds them."""

    def __init__(
        self,
        storage: Storage,
        orders: Mapping[str, tuple[Any, ...]],
        lines: Mapping[int, Counter[tuple[Any, ...]]],
        allocate: Callable[[int], Sequence[int]],
    ) -> None:
        self.storage = storage
        self.orders = orders  # eBay order id -> (id, *ORDER_FIELDS)
        self.lines = lines  # order id -> its lines as a multiset
        self.allocate = allocate  # n -> ids for n new orders


def make_plan(
    records: Sequence[OrderRecord], customer_ids: Mapping[str, int], stored: Stored
) -> list[PlanRow]:
    """Stored orders first, in the given order; then new ones with ids in date order, so that the
    primary key and the date indexes grow at one end instead of all over."""
    updated_at = ORDER_FIELDS.index("updated_at")
    plan: list[PlanRow] = []
    new: list[tuple[OrderRecord, int | None]] = []
    for r in records:
        customer_id = customer_ids.get(r.buyer) if r.buyer is not None else None
        found = stored.orders.get(r.ebay_order_id)
        if found is None:
            new.append((r, customer_id))
            continue
        order_id, values = int(found[0]), found[1:]
        mine = stored.storage.order(r, customer_id)
        if mine[updated_at] < values[updated_at]:
            action = "older"
            facts = precedence.older_facts(r, merge_view(values)) if r.knows else None
            if facts is not None:  # facts that never go back, from a source that knows them
                action = "patched"
                r = dataclasses.replace(r, status=facts[0], refunded_amount=facts[1])
        else:
            if r.knows != FACTS_ALL:  # a source that knows less keeps what is stored (upsert.precedence)
                r = precedence.reconcile(r, merge_view(values))
                mine = stored.storage.order(r, customer_id)
            if mine == values and stored.storage.lines(r) == stored.lines.get(order_id, Counter()):
                action = "same"
            else:
                action = "changed"
        plan.append(PlanRow(action, order_id, r, customer_id))
    new.sort(key=lambda pair: pair[0].order_date)
    plan.extend(
        PlanRow("new", order_id, r, customer_id)
        for order_id, (r, customer_id) in zip(stored.allocate(len(new)), new, strict=True)
    )
    return plan


def merge_view(values: tuple[Any, ...]) -> precedence.Stored:
    """The stored status and refunded amount, for field-level precedence. Postgres hands back a
    Decimal; SQLite integer cents (see db.types.Money)."""
    refunded = values[ORDER_FIELDS.index("refunded_amount")]
    if not isinstance(refunded, Decimal):
        refunded = (Decimal(int(refunded)) / 100).quantize(CENT)
    return precedence.Stored(status=str(values[ORDER_FIELDS.index("status")]), refunded_amount=refunded)


def to_patch(plan: Sequence[PlanRow]) -> list[PlanRow]:
    return [row for row in plan if row.action == "patched"]


def to_write(plan: Sequence[PlanRow]) -> list[PlanRow]:
    return [row for row in plan if row.action in ("new", "changed")]

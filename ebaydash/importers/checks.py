"""Rules that look across all files of one import: duplicates and one currency per account."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ebaydash.importers.records import ParsedFile, RowError
from ebaydash.models import OrderRecord


def deduplicate(orders: Sequence[OrderRecord]) -> tuple[list[OrderRecord], int]:
    """One record per eBay order id: the most recently changed one (on a tie, the later in the
    input — overlapping exports and re-fetched pages are normal). Returns the records in input
    order and how many copies were dropped."""
    best: dict[str, int] = {}
    for index, order in enumerate(orders):
        kept = best.get(order.ebay_order_id)
        if kept is None or order.updated_at >= orders[kept].updated_at:
            best[order.ebay_order_id] = index
    chosen = sorted(best.values())
    return [orders[i] for i in chosen], len(orders) - len(chosen)


def account_currency(orders: Sequence[OrderRecord], existing: str | None) -> str | None:
    """The account's currency: the existing account's, else the one most orders use (on a tie,
    the first seen). ``None`` when there is nothing to decide from."""
    if existing:
        return existing
    counts = Counter(o.currency for o in orders)
    if not counts:
        return None
    top = max(counts.values())
    return next(o.currency for o in orders if counts[o.currency] == top)


def currency_errors(
    orders: Sequence[OrderRecord], currency: str, account_name: str, *, existing: bool
) -> tuple[list[OrderRecord], list[RowError]]:
    """Split ``orders`` into those in ``currency`` and an error for each of the others: an account
    holds one currency, so its sums stay meaningful."""
    kept: list[OrderRecord] = []
    errors: list[RowError] = []
    why = "the account's currency" if existing else "the currency of most orders in this import"
    for order in orders:
        if order.currency == currency:
            kept.append(order)
            continue
        errors.append(
            RowError(
                order.source.file,
                order.source.line,
                "currency",
                f"the order is in {order.currency}, but {account_name!r} keeps its figures in {currency} "
                f"({why}); import it into an account of its own",
                order.ebay_order_id,
                order.source.raw,
            )
        )
    return kept, errors


def seller_warnings(orders: Sequence[OrderRecord], seller_ids: Sequence[str], ebay_user_id: str) -> list[str]:
    """Orders that name another eBay seller than the account's: likely the wrong account chosen."""
    named = {o.seller_id for o in orders if o.seller_id} | set(seller_ids)
    others = sorted(named - {ebay_user_id})
    if not others:
        return []
    return [
        f"The files name eBay seller {', '.join(repr(s) for s in others)}, but this account belongs to "
        f"{ebay_user_id!r}. Check that you chose the right account."
    ]


def completeness_warnings(files: Sequence[ParsedFile]) -> list[str]:
    """Files that say they hold more (or fewer) orders than were read: a cut-short Seller Hub
    export, or getOrders pages of a search that were not all imported."""
    warnings: list[str] = []
    pages: dict[int, list[ParsedFile]] = {}
    for parsed in files:
        if parsed.declared_total is None or not parsed.readable:
            continue
        if parsed.format == "seller-hub-csv" and parsed.declared_total != parsed.orders_found:
            warnings.append(
                f"{parsed.name}: the footer says {parsed.declared_total:,} record(s) were downloaded, "
                f"but the file holds {parsed.orders_found:,} orders. It may have been cut short or edited."
            )
        elif parsed.format == "fulfillment-json":
            pages.setdefault(parsed.declared_total, []).append(parsed)
    for total, group in sorted(pages.items()):
        found = sum(p.orders_found for p in group)
        if found < total:
            names = ", ".join(p.name for p in group)
            warnings.append(
                f"{names}: the search matched {total:,} orders but these pages hold {found:,}; "
                "import the other pages too to have them all."
            )
    return warnings

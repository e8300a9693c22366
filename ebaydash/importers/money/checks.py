"""Rules that look across the money files of one import: one record per eBay id, pages that are
missing, and payouts against the transactions paid out in them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ebaydash.importers.money.records import ZERO, MoneyFile, MoneyTransaction, Payout
from ebaydash.importers.money.sniff import TRANSACTIONS_JSON
from ebaydash.importers.records import RowError


def deduplicate(
    transactions: Sequence[MoneyTransaction],
) -> tuple[list[MoneyTransaction], int, list[RowError]]:
    """One record per transaction id: overlapping reports, re-fetched pages and the same sales
    from a report and from the API are normal.

    Copies that are equal (``==``: the same amounts, fees, currencies, order and payout) collapse
    into the first. A copy without a payout id gives way to one with it (eBay assigns the payout
    later). Copies that disagree otherwise are problems: both are refused, as neither can be
    trusted. Returns the kept records in input order, how many copies were dropped, and the
    problems.
    """
    kept: dict[str, int] = {}
    chosen: list[MoneyTransaction | None] = []
    problems: list[RowError] = []
    conflicted: set[str] = set()
    for transaction in transactions:
        index = kept.get(transaction.transaction_id)
        if index is None:
            kept[transaction.transaction_id] = len(chosen)
            chosen.append(transaction)
            continue
        first = chosen[index]
        chosen.append(None)
        if first is None or first == transaction:
            continue
        if dataclasses.replace(first, payout_id=None) == dataclasses.replace(transaction, payout_id=None):
            if first.payout_id is None:
                chosen[index] = transaction
            elif transaction.payout_id is not None:
                problems.append(
                    _conflict(transaction, first, "payout id", first.payout_id, transaction.payout_id)
                )
                conflicted.add(transaction.transaction_id)
            continue
        what, mine, theirs = _difference(first, transaction)
        problems.append(_conflict(transaction, first, what, mine, theirs))
        conflicted.add(transaction.transaction_id)
    result = [t for t in chosen if t is not None and t.transaction_id not in conflicted]
    return result, len(transactions) - len([t for t in chosen if t is not None]), problems


def _difference(first: MoneyTransaction, other: MoneyTransaction) -> tuple[str, object, object]:
    for item in dataclasses.fields(MoneyTransaction):
        if item.compare and getattr(first, item.name) != getattr(other, item.name):
            return item.name, getattr(first, item.name), getattr(other, item.name)
    return "", None, None  # pragma: no cover - only called for copies that differ


def _conflict(
    transaction: MoneyTransaction, first: MoneyTransaction, what: str, mine: object, theirs: object
) -> RowError:
    where = f"{first.source.file}, line {first.source.line}"
    return RowError(
        transaction.source.file,
        transaction.source.line,
        what,
        f"transaction {transaction.transaction_id} also appears in {where} with a different {what} "
        f"({mine} there, {theirs} here); neither copy is imported",
        transaction.order_id,
        transaction.source.raw,
    )


def completeness_warnings(files: Sequence[MoneyFile]) -> list[str]:
    """getTransactions pages of one search (same ``total``) that hold fewer transactions than
    the search matched: the other pages were not imported."""
    pages: dict[int, list[MoneyFile]] = {}
    for parsed in files:
        if parsed.format == TRANSACTIONS_JSON and parsed.readable and parsed.declared_total is not None:
            pages.setdefault(parsed.declared_total, []).append(parsed)
    warnings = []
    for total, group in sorted(pages.items()):
        found = sum(p.records_found for p in group)
        if found < total:
            warnings.append(
                f"{', '.join(p.name for p in group)}: the search matched {total:,} transactions but these "
                f"pages hold {found:,}; import the other pages too to have them all."
            )
    return warnings


@dataclass(frozen=True, slots=True)
class PayoutBalance:
    """A payout against the transactions that name it: ``difference = amount - transactions_net``
    (0 when they match; not 0 when transactions are missing from the import or eBay deducted
    something we were not shown)."""

    payout_id: str
    amount: Decimal
    currency: str
    transactions: int
    transactions_net: Decimal
    difference: Decimal
    other_currencies: tuple[str, ...]  # payout currencies of transactions that do not match


def payout_balances(
    payouts: Sequence[Payout], transactions: Sequence[MoneyTransaction]
) -> list[PayoutBalance]:
    """Each payout beside the sum of the net amounts paid out in it (in its currency)."""
    nets: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    currencies: dict[str, set[str]] = {}
    for transaction in transactions:
        if transaction.payout_id is None:
            continue
        currencies.setdefault(transaction.payout_id, set()).add(transaction.payout_currency)
        counts[transaction.payout_id] = counts.get(transaction.payout_id, 0) + 1
        nets[transaction.payout_id] = nets.get(transaction.payout_id, ZERO) + transaction.net
    balances = []
    for payout in payouts:
        others = tuple(sorted(currencies.get(payout.payout_id, set()) - {payout.currency}))
        net = nets.get(payout.payout_id, ZERO) if not others else ZERO
        balances.append(
            PayoutBalance(
                payout_id=payout.payout_id,
                amount=payout.amount,
                currency=payout.currency,
                transactions=counts.get(payout.payout_id, 0),
                transactions_net=net,
                difference=payout.amount - net,
                other_currencies=others,
            )
        )
    return balances

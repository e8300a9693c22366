"""Rules that look across all files of one import: one copy per order, one currency per account,
the seller's side of the data, and completeness.

An import reads its files twice (see :mod:`ebaydash.services.imports`): the first reading checks
every order and feeds an :class:`OrderIndex` — a few numbers per order, not the orders themselves,
so memory stays small for files of any size — which then decides which copy of each order is
written and which orders are refused for their currency; the second reading writes those.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ebaydash.importers import locales
from ebaydash.importers.records import ParsedFile, RowError
from ebaydash.models import OrderRecord


@dataclass
class Decision:
    """What the index decided: per file, which orders (by position) to write; the errors of orders
    in another currency; how many further copies were dropped."""

    chosen: list[bytearray]
    currency_errors: list[RowError] = field(default_factory=list)
    currency_rejected: int = 0
    duplicates: int = 0
    to_write: int = 0

    def wanted(self, file_index: int, position: int) -> bool:
        return bool(self.chosen[file_index][position])


class _File:
    """Per valid order of one file, by position: when it last changed, its currency, its line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.when = array("q")
        self.currency = array("B")
        self.line = array("q")


class OrderIndex:
    """The valid orders of an import, a few bytes each: per order id, the packed (file, position)
    of its copies; per file, arrays of their times, currencies and lines."""

    def __init__(self) -> None:
        self._copies: dict[str, int | list[int]] = {}
        self._files: list[_File] = []
        self._currency_codes: list[str] = []
        self.currencies: Counter[str] = Counter()
        self.seller_ids: set[str] = set()

    def start_file(self, name: str) -> int:
        self._files.append(_File(name))
        return len(self._files) - 1

    def add(self, file_index: int, record: OrderRecord) -> int:
        """Note one valid order; returns its position among the file's valid orders."""
        file = self._files[file_index]
        position = len(file.when)
        file.when.append(int(record.updated_at.timestamp() * 1_000_000))
        if record.currency not in self._currency_codes:
            self._currency_codes.append(record.currency)
        file.currency.append(self._currency_codes.index(record.currency))
        file.line.append(record.source.line or 0)
        copy = file_index << 32 | position
        found = self._copies.get(record.ebay_order_id)
        if found is None:
            self._copies[record.ebay_order_id] = copy
        elif isinstance(found, list):
            found.append(copy)
        else:
            self._copies[record.ebay_order_id] = [found, copy]
        self.currencies[record.currency] += 1
        if record.seller_id:
            self.seller_ids.add(record.seller_id)
        return position

    @property
    def valid(self) -> int:
        return sum(len(f.when) for f in self._files)

    def file_currencies(self, file_index: int) -> Counter[str]:
        """How many valid orders file ``file_index`` holds in each currency."""
        counts = Counter(self._files[file_index].currency)
        return Counter({self._currency_codes[code]: n for code, n in counts.items()})

    def decide(
        self, currency: str | None, account_name: str, *, existing: bool, keep_errors: int
    ) -> Decision:
        """Per eBay order id, the copy to write: the most recently changed one in ``currency`` (on a
        tie, the later in the input — overlapping exports and re-fetched pages are normal). Orders
        in another currency are refused (an account holds one currency, so its sums stay
        meaningful); at most ``keep_errors`` of their errors are kept, all are counted."""
        decision = Decision([bytearray(len(f.when)) for f in self._files])
        why = "the account's currency" if existing else "the currency of this seller's site"
        wanted = (
            None
            if currency is None or currency not in self._currency_codes
            else self._currency_codes.index(currency)
        )
        for order_id, found in self._copies.items():
            copies = found if isinstance(found, list) else [found]
            right: list[tuple[int, int, int]] = []
            for copy in copies:
                file_index, position = copy >> 32, copy & 0xFFFFFFFF
                file = self._files[file_index]
                if currency is None or file.currency[position] == wanted:
                    right.append((file.when[position], file_index, position))
                    continue
                decision.currency_rejected += 1
                if len(decision.currency_errors) < keep_errors:
                    other = self._currency_codes[file.currency[position]]
                    decision.currency_errors.append(
                        RowError(
                            file.name,
                            file.line[position] or None,
                            "currency",
                            f"the order is in {other}, but {account_name!r} keeps its figures in {currency} "
                            f"({why}); import it into an account of its own",
                            order_id,
                        )
                    )
            if not right:
                continue
            _when, file_index, position = max(right)
            decision.chosen[file_index][position] = 1
            decision.to_write += 1
            decision.duplicates += len(right) - 1
        return decision


def account_currency(files: Sequence[ParsedFile], index: OrderIndex, existing: str | None) -> str | None:
    """The account's currency: the existing account's; for a new one, the seller's — what the files
    say of the seller's side (the report's money and language, the API's listing site), weighted
    by the valid orders each file holds in that currency (``files`` in the order of the index's
    files); else the one most orders use. ``None`` when there is nothing to decide from."""
    if existing:
        return existing
    votes: Counter[str] = Counter()
    for file_index, parsed in enumerate(files):
        if parsed.currency and parsed.readable:
            # the file's valid orders in its (the seller's) currency, as the check counted them:
            # ``parsed.orders`` stays empty when files are read as streams
            held = index.file_currencies(file_index)[parsed.currency]
            votes[parsed.currency] += max(held, 1)
    if votes:
        return votes.most_common(1)[0][0]
    return index.currencies.most_common(1)[0][0] if index.currencies else None


def account_marketplace(files: Sequence[ParsedFile], currency: str | None) -> str:
    """The new account's eBay site: the seller's, as the files tell it (never a buyer's site), in
    the account's currency; ``EBAY_US`` when nothing tells."""
    votes: Counter[str] = Counter()
    for parsed in files:
        if parsed.marketplace and parsed.readable:
            votes[parsed.marketplace] += max(parsed.orders_found, 1)
    for site, _n in votes.most_common():
        if currency is None or locales.site_currency(site) in (currency, None):
            return site
    return locales.site_for(currency, None) or "EBAY_US"


def told_site(files: Sequence[ParsedFile], marketplace: str) -> locales.Site | None:
    """The new account's site (``marketplace``, from :func:`account_marketplace`) when a file says
    it comes from there — a report's money or headings, the API's listing site — and the site is
    in :data:`~ebaydash.importers.locales.SITES`; ``None`` when the site was only assumed."""
    if not any(parsed.readable and parsed.marketplace == marketplace for parsed in files):
        return None
    return locales.SITES.get(marketplace)


def seller_warnings(seller_ids: set[str], ebay_user_id: str | None) -> list[str]:
    """Orders that name another eBay seller than the account's: likely the wrong account chosen.
    For a new account (``ebay_user_id`` None, nobody's yet): files that name several sellers.

    A second account of one seller is given the seller's id with a number (``shop-2``, see
    ebaydash.db.upsert.create_account): its own seller's files are no surprise to it."""
    if ebay_user_id is None:
        if len(seller_ids) < 2:
            return []
        named = ", ".join(repr(s) for s in sorted(seller_ids))
        return [
            f"The files name {len(seller_ids)} eBay sellers ({named}), and an account holds one "
            "seller's orders. Check that these files belong together."
        ]
    own = re.sub(r"-\d+$", "", ebay_user_id)
    others = sorted(s for s in seller_ids if s not in (ebay_user_id, own))
    if not others:
        return []
    return [
        f"The files name eBay seller {', '.join(repr(s) for s in others)}, but this account belongs to "
        f"{ebay_user_id!r}. Check that you chose the right account."
    ]


def completeness_warnings(files: Sequence[ParsedFile]) -> list[str]:
    """getOrders pages of a search that were not all imported. (A Seller Hub report's footer count
    is checked by its parser.)"""
    warnings: list[str] = []
    pages: dict[int, list[ParsedFile]] = {}
    for parsed in files:
        if parsed.declared_total is None or not parsed.readable:
            continue
        if parsed.format == "fulfillment-json":
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

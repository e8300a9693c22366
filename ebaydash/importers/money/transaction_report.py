"""Seller Hub **Transaction report** (Payments → Reports → Transaction report), CSV.

What the report looks like, and what we assume where eBay does not say:

- A preamble of a few lines (the title, the date range, the seller) before the header row; the
  header is the first row naming the date, type and net-amount columns (:func:`sniff.find_header`),
  with commas, semicolons (German exports) or tabs between cells. A preamble line such as
  ``Seller ID: retro_records_us`` names the seller. Blank lines are skipped; a line after the
  header with a single cell is a note, listed in the warnings.
- Column wordings differ by site and by the columns the seller picked; they are matched through
  :data:`~ebaydash.importers.money.wordings.ALIASES`. Required: date, type, order number, net
  amount, gross transaction amount. ``--`` is an empty cell.
- One row per transaction, except that an order's sale and a multi-line refund come as one row
  per order line: rows of the same type and transaction id become one transaction with a
  :class:`~ebaydash.importers.money.records.MoneyLine` per row.
- The transaction id is the order number for "Order" rows (``getTransactions`` gives a SALE the
  order's id) and the "Reference ID" for the others. A row with neither gets an id derived from
  its contents (``report-…``), the same each time the same report is read, and a note saying so.
- "Net amount" is in the payout currency; "Gross transaction amount" and the fee columns are in
  the transaction currency, the fees negative when charged and positive when credited back;
  "Exchange rate" converts transaction into payout currency. So ``net = gross + Σ fee columns``
  (converted when the currencies differ); a row where that does not hold is a problem (often a
  fee column left out of the download).
- "Other fee" rows (Promoted Listings and the like) show their amount as gross and net, with no
  fee column; the amount becomes one fee whose type the "Description" names, and the gross 0, as
  ``getTransactions`` reports a NON_SALE_CHARGE.
- "Payout" rows become :class:`~ebaydash.importers.money.records.Payout` records (their net is
  the money leaving the eBay balance; the payout amount is its size).
- Dates are calendar days (sometimes with a time) in the seller's time zone ``zone``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from ebaydash.importers import values
from ebaydash.importers.money import fees as fee_types
from ebaydash.importers.money import sniff, wordings
from ebaydash.importers.money.records import (
    ZERO,
    MoneyFile,
    MoneyLine,
    MoneyTransaction,
    Payout,
    fee_tuple,
)
from ebaydash.importers.money.text import checked_text
from ebaydash.importers.records import RowError
from ebaydash.importers.values import ValueProblem
from ebaydash.models import Source

FORMAT = sniff.TRANSACTION_REPORT
CENT = Decimal("0.01")
_CSV_ERROR = "\x00csv-error"
_SELLER = re.compile(
    r"^\s*(?:seller(?:\s+id|\s+name)?|verk(?:ä|ae|a)ufer(?:-id|name)?|vendeur|venditore|vendedor)"
    r"\s*[:\-]?\s*(?P<id>[^\s,;\"]+)",
    re.IGNORECASE,
)
_AMOUNT_FIELDS = (
    "net",
    "gross",
    "item_subtotal",
    "shipping",
    "seller_tax",
    "ebay_tax",
    *fee_types.FEE_COLUMNS,
)
_LIMITS = {
    "order_id": (64, "order number"),
    "legacy_order_id": (64, "legacy order id"),
    "reference_id": (64, "reference id"),
    "line_item_id": (64, "transaction id"),
    "payout_id": (64, "payout id"),
    "item_id": (40, "item id"),
    "sku": (80, "custom label (SKU)"),
    "title": (300, "item title"),
    "buyer": (128, "buyer username"),
    "description": (1000, "description"),
    "hold_reason": (1000, "reason for hold"),
    "payout_method": (200, "payout method"),
    "payout_status": (100, "payout status"),
}


@dataclass
class _Context:
    file: str
    zone: ZoneInfo
    default_currency: str
    decimal_mark: str
    month_first: bool
    columns: set[str]  # canonical fields the report has


@dataclass
class _Row:
    """One data row: its line, its cells as read, its non-empty values by canonical field."""

    line: int
    cells: list[str]
    values: dict[str, str]
    delimiter: str = ","

    @classmethod
    def read(cls, line: int, cells: list[str], columns: dict[int, str], delimiter: str) -> _Row:
        width = len(cells)
        found = {key: cells[i].strip() for i, key in columns.items() if i < width}
        return cls(line, cells, {k: v for k, v in found.items() if not wordings.is_empty(v)}, delimiter)

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    @property
    def raw(self) -> str:
        return _raw(self.cells, self.delimiter)


@dataclass
class _Read:
    """One row's values, read and checked."""

    row: _Row
    kind: str  # a MONEY_TYPES value or "payout"
    ebay_type: str
    key: str  # the transaction id (or payout id)
    when: wordings.When
    net: Decimal
    gross: Decimal
    fees: dict[str, Decimal]  # this row's fees, + = cost
    synthetic_fee: bool  # the row's whole amount became one fee ("Other fee")
    currency: str
    payout_currency: str
    rate: Decimal | None
    texts: dict[str, str | None]
    quantity: int | None
    ebay_tax: Decimal | None
    payout_when: wordings.When | None
    notes: list[str] = field(default_factory=list)


class _Problems:
    """Problems of the rows, each naming the column as this report's header words it."""

    def __init__(self, file: str, shown: dict[str, str]) -> None:
        self.file = file
        self.shown = shown
        self.errors: list[RowError] = []

    def add(self, row: _Row, key: str | None, reason: str, order_id: str | None = None) -> None:
        shown = (self.shown.get(key) or wordings.SHOWN.get(key, key)) if key else None
        self.errors.append(RowError(self.file, row.line, shown, reason, order_id or None, row.raw))


def parse(name: str, text: str, *, zone: ZoneInfo, default_currency: str = "USD") -> MoneyFile:
    """Read one Transaction report; problems come back in the result, never as exceptions."""
    result = MoneyFile(name=name, format=FORMAT)
    found = sniff.find_header(text)
    if found is None:
        result.readable = False
        result.errors.append(
            RowError(
                name,
                None,
                None,
                "no header row naming the transaction date, type and net amount was found in the "
                f"first {sniff.HEADER_SEARCH_ROWS} lines",
            )
        )
        return result
    delimiter, header_index, header = found
    records = list(_records(text, delimiter))
    header_line = records[header_index][0]
    for _line, cells in records[:header_index]:
        match = _SELLER.match(" ".join(c for c in cells if c.strip()))
        if match and result.seller_id is None:
            result.seller_id = match["id"][:64]

    columns: dict[int, str] = {}
    languages: Counter[str] = Counter()
    for index, cell in enumerate(header):
        key, language = wordings.LOOKUP.get(wordings.normalise(cell), ("", ""))
        if key and key not in columns.values():  # the first of two alike wins
            columns[index] = key
            languages[language] += 1

    rows: list[_Row] = []
    for line, cells in records[header_index + 1 :]:
        if not any(cell.strip() for cell in cells):
            continue
        if cells[0] == _CSV_ERROR:
            result.rows_read += 1
            result.records_found += 1
            result.errors.append(RowError(name, line, None, f"this line is not readable CSV ({cells[1]})"))
            continue
        result.rows_read += 1
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            result.records_found += 1
            result.errors.append(
                RowError(
                    name,
                    line,
                    None,
                    f"the row has {len(cells)} fields but the header has {len(header)}",
                    raw=_raw(cells, delimiter),
                )
            )
            continue
        filled = [c for c in cells if c.strip()]
        if len(filled) == 1 and len(header) > 1:
            result.rows_read -= 1
            result.warnings.append(
                f"{name}, line {line}: a note, not a transaction, was skipped: {filled[0][:80]!r}"
            )
            continue
        rows.append(_Row.read(line, cells, columns, delimiter))

    missing = [key for key in wordings.REQUIRED if key not in columns.values()]
    if missing:
        result.readable = False
        result.records_found += len(rows)
        for key in missing:
            expected = ", ".join(wording for _, wording in wordings.ALIASES[key])
            result.errors.append(
                RowError(
                    name,
                    header_line,
                    wordings.SHOWN[key],
                    f"missing column for {wordings.REQUIRED[key]}; expected one of: {expected}",
                )
            )
        return result

    language = languages.most_common(1)[0][0] if languages else "en"
    samples = list(
        itertools.islice((row.values[k] for row in rows for k in _AMOUNT_FIELDS if k in row.values), 2000)
    )
    problems = _Problems(name, {key: header[i].strip() for i, key in columns.items()})
    try:
        order = wordings.slashed_order(
            [row.get("date") for row in rows] + [row.get("payout_date") for row in rows]
        )
    except ValueProblem as exc:
        order = None
        result.errors.append(RowError(name, header_line, wordings.SHOWN["date"], str(exc)))
    if order is None:
        order = language == "en"
        if any(wordings.SLASHED.fullmatch(row.get("date")) for row in rows):
            result.warnings.append(
                f"{name}: numeric dates were read as {'month/day/year' if order else 'day/month/year'}; "
                "no date in the file settles the order"
            )
    context = _Context(
        file=name,
        zone=zone,
        default_currency=default_currency,
        decimal_mark=wordings.decimal_mark_of(samples, language),
        month_first=order,
        columns=set(columns.values()),
    )

    groups: dict[tuple[str, str], list[_Read]] = {}
    rejected: set[tuple[str, str]] = set()
    seen_derived: Counter[str] = Counter()
    for row in rows:
        before = len(problems.errors)
        read = _read_row(context, row, problems, seen_derived)
        if read is None:
            result.records_found += 1
            continue
        group = (read.kind, read.key)
        if group not in groups:
            result.records_found += 1
            groups[group] = []
        groups[group].append(read)
        if len(problems.errors) > before:
            rejected.add(group)

    unknown: Counter[str] = Counter()
    for (kind, key), reads in groups.items():
        if (kind, key) in rejected:
            continue
        if kind == "payout":
            payout = _payout(context, reads, problems)
            if payout is not None:
                result.payouts.append(payout)
            continue
        transaction = _transaction(context, reads, problems)
        if transaction is not None:
            result.transactions.append(transaction)
            if kind == "other":
                unknown[transaction.ebay_type] += 1
    for word, count in sorted(unknown.items()):
        result.warnings.append(
            f"{name}: {count} transaction(s) of type {word!r}, a type ebaydash does not know, were kept "
            "as 'other' (they count in net proceeds, not in sales, fees or refunds)"
        )
    result.errors.extend(problems.errors)
    return result


# -- reading rows -------------------------------------------------------------------------------


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of every CSV record, blank lines included."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = reader.line_num
            yield start, [_CSV_ERROR, str(exc)]
            continue
        end = reader.line_num
        yield start, cells


def _raw(cells: list[str], delimiter: str = ",") -> str:
    """The row as the report wrote it (its own delimiter), for the rejects file."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _read_row(context: _Context, row: _Row, problems: _Problems, seen: Counter[str]) -> _Read | None:
    """The row's values, with a problem for each bad one; ``None`` when nothing identifies it."""
    texts: dict[str, str | None] = {}
    for name, (limit, what) in _LIMITS.items():
        text = row.get(name)
        try:
            texts[name] = checked_text(text, limit=limit, what=what) if text else None
        except ValueProblem as exc:
            problems.add(row, name, str(exc))
            texts[name] = None
    order_id = texts["order_id"]

    word = row.get("type")
    known = wordings.type_of(word) if word else None
    kind = known or "other"
    notes: list[str] = []
    if not word:
        problems.add(row, "type", "the transaction type is missing", order_id)
    elif known is None:
        notes.append(f"eBay's type {word!r} is not one ebaydash knows; kept as 'other'")

    when = _date(context, row, "date", problems, order_id, required=True)
    payout_when = _date(context, row, "payout_date", problems, order_id, required=False)

    symbols: dict[str, str] = {}

    def money(key: str, *, required: bool) -> Decimal | None:
        text = row.get(key)
        if not text:
            if required:
                problems.add(row, key, "the amount is missing", order_id)
            return None
        try:
            amount, symbol = wordings.amount(text, context.decimal_mark)
        except ValueProblem as exc:
            problems.add(row, key, str(exc), order_id)
            return None
        if symbol:
            symbols[key] = symbol
        return amount

    net = money("net", required=True)
    gross = money("gross", required=False)
    ebay_tax = money("ebay_tax", required=False)
    for column in ("item_subtotal", "shipping", "seller_tax"):
        money(column, required=False)
    row_fees: dict[str, Decimal] = {}
    for column, code in fee_types.FEE_COLUMNS.items():
        value = money(column, required=False)
        if value is not None and value != 0:
            row_fees[code] = row_fees.get(code, ZERO) - value  # charged fees are negative cells

    currency, payout_currency = _currencies(context, row, symbols, problems, order_id)
    rate = None
    if row.get("exchange_rate"):
        try:
            rate = wordings.rate(row.get("exchange_rate"), context.decimal_mark)
        except ValueProblem as exc:
            problems.add(row, "exchange_rate", str(exc), order_id)
    if currency == payout_currency and rate is not None:
        if rate != 1:
            problems.add(
                row,
                "exchange_rate",
                f"an exchange rate of {rate} for a transaction in {currency} paid out in {currency}",
                order_id,
            )
        rate = None
    quantity = _quantity(row, problems, order_id)

    key: str | None
    if kind == "payout":
        key = texts["payout_id"] or texts["reference_id"]
        if key is None:
            problems.add(row, "payout_id", "a payout row without a payout id", order_id)
            return None
    elif kind == "sale":
        key = order_id
        if key is None:
            problems.add(row, "order_id", "an Order row without an order number", order_id)
            return None
    else:
        key = texts["reference_id"]
    if key is None:
        basis = "|".join(
            [
                kind,
                row.get("date"),
                order_id or "",
                texts["line_item_id"] or "",
                texts["item_id"] or "",
                row.get("net"),
                row.get("gross"),
                texts["description"] or "",
                texts["payout_id"] or "",
            ]
        )
        digest = hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        seen[digest] += 1
        key = f"report-{digest}" + (f"-{seen[digest]}" if seen[digest] > 1 else "")
        notes.append("the report gives this row no reference id; its id is derived from its contents")

    def made(
        when: wordings.When, net: Decimal, gross: Decimal, fees: dict[str, Decimal], synthetic: bool
    ) -> _Read:
        return _Read(
            row=row,
            kind=kind,
            ebay_type=word,
            key=key,
            when=when,
            net=net,
            gross=gross,
            fees=fees,
            synthetic_fee=synthetic,
            currency=currency,
            payout_currency=payout_currency,
            rate=rate,
            texts=texts,
            quantity=quantity,
            ebay_tax=ebay_tax,
            payout_when=payout_when,
            notes=notes,
        )

    if when is None or net is None:  # a problem is recorded: the row only needs to be counted
        return made(_NO_DATE, ZERO, ZERO, {}, False)
    synthetic = False
    if gross is None:
        if row_fees or currency != payout_currency:
            problems.add(row, "gross", "the gross transaction amount is missing", order_id)
            gross = ZERO
        else:
            gross = net  # e.g. a payout or hold row: no fees, nothing converted
    if kind == "non_sale_charge" and not row_fees:
        fee_code = fee_types.fee_type_of_description(texts["description"])
        if fee_code is None:
            fee_code = fee_types.OTHER_FEES
            notes.append(
                f"the description {texts['description']!r} names no fee type we know; booked as OTHER_FEES"
            )
        row_fees = {fee_code: -gross}
        gross = ZERO
        synthetic = True
    if kind != "payout":
        _check_sum(context, row, problems, order_id, gross, row_fees, net, currency, payout_currency, rate)
    return made(when, net, gross, row_fees, synthetic)


# stands in for a date that could not be read; the row has a problem, so it is never used
_NO_DATE = wordings.When(dt.date(1970, 1, 1), dt.datetime(1970, 1, 1, tzinfo=dt.UTC), False)


def _date(
    context: _Context, row: _Row, key: str, problems: _Problems, order_id: str | None, *, required: bool
) -> wordings.When | None:
    text = row.get(key)
    if not text:
        if required:
            problems.add(row, key, "the date is missing", order_id)
        return None
    try:
        return wordings.when(text, context.zone, month_first=context.month_first)
    except ValueProblem as exc:
        problems.add(row, key, str(exc), order_id)
        return None


def _currencies(
    context: _Context, row: _Row, symbols: dict[str, str], problems: _Problems, order_id: str | None
) -> tuple[str, str]:
    """The transaction and payout currency, from their columns, else the amounts' symbols."""
    found: dict[str, str | None] = {}
    for key in ("currency", "payout_currency"):
        text = row.get(key)
        found[key] = None
        if text:
            try:
                found[key] = values.currency_code(text)
            except ValueProblem as exc:
                problems.add(row, key, str(exc), order_id)
    payout = found["payout_currency"] or symbols.get("net")
    transaction = found["currency"] or next(
        (symbols[k] for k in ("gross", *fee_types.FEE_COLUMNS, "item_subtotal") if k in symbols), None
    )
    transaction = transaction or payout or context.default_currency
    payout = payout or transaction
    for key, symbol in symbols.items():
        expected = payout if key == "net" else transaction
        if symbol != expected:
            problems.add(
                row, key, f"the amount is in {symbol}, but the row's currency is {expected}", order_id
            )
    return transaction, payout


def _quantity(row: _Row, problems: _Problems, order_id: str | None) -> int | None:
    text = row.get("quantity")
    if not text:
        return None
    if not re.fullmatch(r"-?\d{1,7}", text):
        problems.add(row, "quantity", f"{text[:40]!r} is not a whole number of units", order_id)
        return None
    number = int(text)
    if abs(number) > values.MAX_QUANTITY:
        problems.add(row, "quantity", f"the quantity {number:,} is implausibly large", order_id)
        return None
    return number


def _check_sum(
    context: _Context,
    row: _Row,
    problems: _Problems,
    order_id: str | None,
    gross: Decimal,
    row_fees: dict[str, Decimal],
    net: Decimal,
    currency: str,
    payout_currency: str,
    rate: Decimal | None,
) -> None:
    """``net == gross - fees`` (converted at the row's rate); a problem naming the fields if not."""
    fee_sum = sum(row_fees.values(), ZERO)
    expected = gross - fee_sum
    if currency == payout_currency:
        if expected == net:
            return
        detail = f"{gross} - fees {fee_sum} = {expected}, but the net amount is {net}"
    else:
        if rate is None:
            problems.add(
                row,
                "exchange_rate",
                f"the transaction is in {currency} and paid out in {payout_currency}, but the row has "
                "no exchange rate to check its amounts with",
                order_id,
            )
            return
        converted = (expected * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        # eBay converts the gross and each fee on its own, rounding each to the cent
        tolerance = CENT * (1 + len(row_fees))
        if abs(converted - net) <= tolerance:
            return
        detail = (
            f"({gross} - fees {fee_sum}) {currency} × {rate} = {converted} {payout_currency}, but the net "
            f"amount is {net} {payout_currency}"
        )
    absent = [wordings.SHOWN[k] for k in fee_types.FEE_COLUMNS if k not in context.columns]
    hint = (
        f"; the report has no column for {', '.join(absent)} — download it with all fee columns"
        if absent
        else ""
    )
    problems.add(row, "net", f"the amounts do not add up: gross {detail}{hint}", order_id)


# -- building records ---------------------------------------------------------------------------


def _transaction(context: _Context, reads: list[_Read], problems: _Problems) -> MoneyTransaction | None:
    head = reads[0]
    order_id = head.texts["order_id"]
    before = len(problems.errors)
    for read in reads[1:]:
        for what, mine, theirs in (
            ("date", read.when.day, head.when.day),
            ("payout_id", read.texts["payout_id"], head.texts["payout_id"]),
            ("currency", read.currency, head.currency),
            ("payout_currency", read.payout_currency, head.payout_currency),
            ("exchange_rate", read.rate, head.rate),
        ):
            if mine != theirs and not (what == "payout_id" and (mine is None or theirs is None)):
                problems.add(
                    read.row,
                    what,
                    f"rows of transaction {head.key} disagree: {mine} here, {theirs} on line {head.row.line}",
                    order_id,
                )
    if len(problems.errors) > before:
        return None
    total_fees: dict[str, Decimal] = {}
    lines: list[MoneyLine] = []
    for read in reads:
        for code, amount in read.fees.items():
            total_fees[code] = total_fees.get(code, ZERO) + amount
        if read.texts["line_item_id"] is not None or read.kind == "sale":
            lines.append(
                MoneyLine(
                    line_item_id=read.texts["line_item_id"],
                    fees=() if read.synthetic_fee else fee_tuple(read.fees),
                    item_id=read.texts["item_id"],
                    sku=read.texts["sku"],
                    title=read.texts["title"],
                    quantity=read.quantity,
                )
            )
    net = sum((r.net for r in reads), ZERO)
    item_ids = {r.texts["item_id"] for r in reads if r.texts["item_id"]}
    taxes = [r.ebay_tax for r in reads if r.ebay_tax is not None]
    notes = tuple(dict.fromkeys(note for r in reads for note in r.notes))
    return MoneyTransaction(
        transaction_id=head.key,
        type=head.kind,
        booking_entry="CREDIT" if net >= 0 else "DEBIT",
        booked_on=head.when.day,
        gross=sum((r.gross for r in reads), ZERO),
        fees=fee_tuple(total_fees),
        net=net,
        currency=head.currency,
        payout_currency=head.payout_currency,
        exchange_rate=head.rate,
        order_id=order_id,
        payout_id=next((r.texts["payout_id"] for r in reads if r.texts["payout_id"]), None),
        lines=tuple(sorted(lines, key=lambda li: li.line_item_id or "")),
        transaction_date=head.when.instant,
        time_known=head.when.time_known,
        ebay_type=head.ebay_type,
        status=next((r.texts["payout_status"] for r in reads if r.texts["payout_status"]), None),
        item_id=item_ids.pop() if len(item_ids) == 1 else None,
        buyer=next((r.texts["buyer"] for r in reads if r.texts["buyer"]), None),
        memo=next(
            (
                r.texts["description"] or r.texts["hold_reason"]
                for r in reads
                if r.texts["description"] or r.texts["hold_reason"]
            ),
            None,
        ),
        ebay_collected_tax=sum(taxes, ZERO) if taxes else None,
        notes=notes,
        source=Source(context.file, head.row.line),
    )


def _payout(context: _Context, reads: list[_Read], problems: _Problems) -> Payout | None:
    head = reads[0]
    for read in reads[1:]:
        if read.net != head.net or read.payout_currency != head.payout_currency:
            problems.add(
                read.row,
                "payout_id",
                f"payout {head.key} appears twice with different amounts (also on line {head.row.line})",
            )
            return None
    when = head.payout_when or head.when
    word = head.texts["payout_status"]
    status = wordings.payout_status_of(word) if word else None
    return Payout(
        payout_id=head.key,
        amount=abs(head.net),
        currency=head.payout_currency,
        paid_on=when.day,
        status=status or (word.upper()[:32] if word else None),
        payout_date=when.instant,
        time_known=when.time_known,
        instrument=head.texts["payout_method"],
        source=Source(context.file, head.row.line),
    )

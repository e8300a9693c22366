"""Seller Hub "Orders" report CSV.

What the export looks like, and what we assume where eBay does not say:

- An optional blank line before the header; footer lines after the data such as
  ``12 record(s) downloaded, from Sep-01-26 00:00:00 to Sep-30-26 23:59:59`` and
  ``Seller ID : retro_records_us`` (the seller id is kept to name a new account).
- Header wording differs between exports and sites; columns are matched case-insensitively through
  :data:`ALIASES`. Columns we do not use are ignored.
- One row per line item, grouped into orders by "Sales Record Number" (or the order number when
  there is none). A multi-item order may also carry a summary row without item columns; it holds
  the order's total. Without a summary row the order's total is the sum of its rows' "Total Price"
  (each row's own total); without a "Total Price" column it is Σ "Sold For" × "Quantity" plus
  "Shipping And Handling".
- A line's product is named by its "Custom Label" (SKU), else its "Item Number", else its title
  (eBay titles are at most 80 characters, the length of a SKU).
- "Sold For" is the price of one unit. Money is written like ``$12.34``, ``£1,234.56`` or
  ``EUR 12,34``; its symbol gives the currency (rows without one use ``default_currency``).
- Dates like ``Sep-30-26 23:45:00`` are the seller's local time in ``zone``. The order's last
  change is the latest of its sale, paid and shipped dates.
- Status: the "Order Status" column when the export has one; otherwise shipped when "Shipped On
  Date" is set, paid when "Paid On Date" is set, else pending. The standard export does not show
  cancellations or refunds — import the Fulfillment API JSON for those.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from ebaydash.importers import statuses, values
from ebaydash.importers.records import ParsedFile, RowError
from ebaydash.importers.values import ValueProblem
from ebaydash.models import LineRecord, OrderRecord, Source

FORMAT = "seller-hub-csv"

# canonical field -> header wordings seen in exports (compared after _normalise)
ALIASES: dict[str, tuple[str, ...]] = {
    "sales_record": ("Sales Record Number", "Sales Record No", "Sales Record", "Record Number"),
    "order_id": ("Order Number", "Order ID", "Order No", "OrderID", "Order Nr"),
    "buyer": ("Buyer Username", "Buyer User ID", "Buyer User Name", "Buyer ID", "User ID", "Username"),
    "buyer_email": ("Buyer Email", "Buyer E-mail", "Buyer Email Address", "Email"),
    "item_number": ("Item Number", "Item ID", "Item No", "Item Nr"),
    "title": ("Item Title", "Title", "Item Name"),
    "sku": ("Custom Label", "Custom Label (SKU)", "SKU", "Custom SKU"),
    "quantity": ("Quantity", "Qty", "Quantity Sold"),
    "price": ("Sold For", "Item Price", "Sale Price", "Price", "Sold Price"),
    "shipping": ("Shipping And Handling", "Postage And Packaging", "Shipping", "Postage"),
    "total": ("Total Price", "Total", "Order Total", "Total Amount"),
    "sale_date": ("Sale Date", "Order Date", "Sold Date", "Date Sold", "Order Creation Date"),
    "paid_date": ("Paid On Date", "Paid Date", "Payment Date", "Paid On"),
    "shipped_date": ("Shipped On Date", "Dispatched On Date", "Posted On Date", "Shipped Date", "Shipped On"),
    "transaction_id": ("Transaction ID", "Line Item ID"),
    "status": ("Order Status", "Status"),
    "refunded": ("Refund Amount", "Refunded Amount", "Refunded", "Total Refunded"),
    "currency": ("Currency", "Currency Code"),
}
REQUIRED: dict[str, str] = {
    "order_id": "the eBay order number",
    "sale_date": "when the order was placed",
    "quantity": "how many units",
    "price": "the unit price",
}
ITEM_FIELDS = ("item_number", "title", "sku")
_FOOTER = re.compile(r"^\s*(\d[\d,.]*\s+record\(s\)\s+downloaded|seller\s+id\s*:)", re.IGNORECASE)
_RECORDS = re.compile(r"^\s*(?P<n>\d[\d,.]*)\s+record\(s\)", re.IGNORECASE)
_CSV_ERROR = "\x00csv-error"
_SELLER_ID = re.compile(r"^\s*seller\s+id\s*:\s*(?P<id>\S.*?)\s*$", re.IGNORECASE)


def _normalise(header: str) -> str:
    return " ".join(re.sub(r"[.:#_]", " ", header.replace("\ufeff", "")).lower().split())


_LOOKUP = {_normalise(alias): key for key, aliases in ALIASES.items() for alias in aliases}


def looks_like(text: str) -> bool:
    """True when the first non-blank line names an order-number column."""
    for row in csv.reader(io.StringIO(text[:65536], newline="")):
        if not any(cell.strip() for cell in row):
            continue
        return any(_LOOKUP.get(_normalise(cell)) in ("order_id", "sales_record") for cell in row)
    return False


class _Row:
    """One data row: its line, its non-empty values by canonical field, its cells as read."""

    __slots__ = ("cells", "has_item", "line", "values")

    def __init__(self, line: int, cells: list[str], columns: dict[int, str]) -> None:
        self.line = line
        self.cells = cells
        width = len(cells)
        self.values = {key: value for i, key in columns.items() if i < width and (value := cells[i].strip())}
        self.has_item = any(k in self.values for k in ITEM_FIELDS)

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    @property
    def raw(self) -> str:
        return _raw(self.cells)


@dataclass
class _Group:
    key: str
    rows: list[_Row] = field(default_factory=list)


def parse(name: str, text: str, *, zone: ZoneInfo, default_currency: str = "USD") -> ParsedFile:
    result = ParsedFile(name=name, format=FORMAT)
    rows = _records(text)
    header: list[str] | None = None
    header_line = 0
    groups: dict[str, _Group] = {}
    loose: list[_Row] = []  # rows that cannot be grouped (no order number, no record number)
    columns: dict[int, str] = {}
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if cells[0] == _CSV_ERROR:
            result.orders_found += 1
            result.errors.append(RowError(name, line, None, f"this line is not readable CSV ({cells[1]})"))
            continue
        if _FOOTER.match(cells[0]):
            seller = _SELLER_ID.match(cells[0])
            if seller:
                result.seller_id = seller["id"]
            declared = _RECORDS.match(cells[0])
            if declared:
                result.declared_total = int(re.sub(r"[,.]", "", declared["n"]))
            continue
        if header is None:
            header, header_line = cells, line
            columns = _map_columns(name, line, cells, result)
            continue
        result.rows_read += 1
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            result.orders_found += 1
            result.errors.append(
                RowError(
                    name,
                    line,
                    None,
                    f"the row has {len(cells)} fields but the header has {len(header)}",
                    raw=_raw(cells),
                )
            )
            continue
        row = _Row(line, cells, columns)
        key = row.get("sales_record") or row.get("order_id")
        if not key:
            loose.append(row)
            continue
        groups.setdefault(key, _Group(key)).rows.append(row)
    if header is None:
        result.readable = False
        result.errors.append(RowError(name, None, None, "the file is empty: no header row and no orders"))
        return result
    missing = [key for key in REQUIRED if key not in columns.values()]
    if not any(key in columns.values() for key in ITEM_FIELDS):
        missing.append("item")
    if missing:
        result.readable = False
        result.orders_found += len(groups) + len(loose)
        for key in missing:
            expected = ALIASES["title"] + ALIASES["sku"] if key == "item" else ALIASES[key]
            what = "the item (title, SKU or item number)" if key == "item" else REQUIRED[key]
            result.errors.append(
                RowError(
                    name,
                    header_line,
                    key,
                    f"missing column for {what}; expected one of: {', '.join(expected)}",
                )
            )
        return result
    for row in loose:
        result.orders_found += 1
        result.errors.append(
            RowError(
                name,
                row.line,
                "Order Number",
                "the row has no order number (nor sales record number)",
                raw=row.raw,
            )
        )
    for group in groups.values():
        result.orders_found += 1
        record, errors = _parse_group(name, group, zone, default_currency)
        if record is not None:
            result.orders.append(record)
        result.errors.extend(errors)
    return result


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of every CSV record, blank lines included."""
    reader = csv.reader(io.StringIO(text, newline=""))
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


def _raw(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _map_columns(name: str, line: int, cells: list[str], result: ParsedFile) -> dict[int, str]:
    columns: dict[int, str] = {}
    seen: set[str] = set()
    for index, cell in enumerate(cells):
        key = _LOOKUP.get(_normalise(cell))
        if key is None or key in seen:
            continue  # columns we do not use; the first of two alike wins
        seen.add(key)
        columns[index] = key
    return columns


# -- one order ----------------------------------------------------------------------------------


class _Problems:
    def __init__(self, file: str, order_id: str | None) -> None:
        self.file = file
        self.order_id = order_id
        self.errors: list[RowError] = []

    def add(self, row: _Row, column: str, reason: str) -> None:
        self.errors.append(RowError(self.file, row.line, column, reason, self.order_id, row.raw))


# the header wording used in error messages, per canonical field
_SHOWN = {key: aliases[0] for key, aliases in ALIASES.items()}


def _parse_group(
    file: str, group: _Group, zone: ZoneInfo, default_currency: str
) -> tuple[OrderRecord | None, list[RowError]]:
    rows = group.rows
    summary = next((r for r in rows if not r.has_item), None)
    items = [r for r in rows if r.has_item]
    head = summary or rows[0]
    order_id = next((r.get("order_id") for r in rows if r.get("order_id")), None)
    problems = _Problems(file, order_id)
    if len(rows) > 1 and len([r for r in rows if not r.has_item]) > 1:
        problems.add(
            rows[1], _SHOWN["sales_record"], f"sales record {group.key} has more than one summary row"
        )
    for row in rows:
        other = row.get("order_id")
        if other and order_id and other != order_id:
            problems.add(
                row,
                _SHOWN["order_id"],
                f"rows of sales record {group.key} name different orders ({order_id} and {other})",
            )
    if order_id is None:
        problems.add(head, _SHOWN["order_id"], "the order number is missing")
    elif len(order_id) > 64:
        problems.add(head, _SHOWN["order_id"], "the order number is longer than 64 characters")
    if not items:
        problems.add(head, _SHOWN["title"], "the order has no item rows (no item title, SKU or item number)")

    currencies: set[str] = set()

    def amount(row: _Row, key: str, *, required: bool) -> Decimal | None:
        text = row.get(key)
        if not text:
            if required:
                problems.add(row, _SHOWN[key], "the amount is missing")
            return None
        try:
            value, currency = values.money_text(text)
            values.non_negative(value, _SHOWN[key])
        except ValueProblem as exc:
            problems.add(row, _SHOWN[key], str(exc))
            return None
        if currency:
            currencies.add(currency)
        return value

    def date(row: _Row, key: str, *, required: bool) -> dt.datetime | None:
        row = row if row.get(key) else next((r for r in rows if r.get(key)), row)
        text = row.get(key)
        if not text:
            if required:
                problems.add(row, _SHOWN[key], "the date is missing")
            return None
        try:
            return values.local_instant(text, zone)
        except ValueProblem as exc:
            problems.add(row, _SHOWN[key], str(exc))
            return None

    sale = date(head, "sale_date", required=True)
    paid = date(head, "paid_date", required=False)
    shipped = date(head, "shipped_date", required=False)

    lines: list[LineRecord] = []
    line_totals: list[Decimal | None] = []
    computed = Decimal("0.00")
    for row in items:
        before = len(problems.errors)
        try:
            quantity = values.quantity(row.get("quantity"))
        except ValueProblem as exc:
            problems.add(
                row, _SHOWN["quantity"], str(exc) if row.get("quantity") else "the quantity is missing"
            )
            quantity = None
        price = amount(row, "price", required=True)
        shipping = amount(row, "shipping", required=False)
        line_totals.append(amount(row, "total", required=False))
        # eBay titles are at most 80 characters, so a title can name a product when nothing else does
        sku = row.get("sku") or row.get("item_number") or row.get("title")
        title = row.get("title") or sku
        if sku and len(sku) > 80:
            problems.add(row, _SHOWN["sku"], "the SKU is longer than 80 characters")
        if title and len(title) > 300:
            problems.add(row, _SHOWN["title"], "the title is longer than 300 characters")
        if not sku:
            problems.add(
                row, _SHOWN["sku"], "nothing names the product (no Custom Label, Item Number or title)"
            )
        transaction = row.get("transaction_id") or None
        if len(problems.errors) == before and quantity and price is not None and sku and title:
            lines.append(
                LineRecord(
                    sku=sku, title=title, quantity=quantity, unit_price=price, line_item_id=transaction
                )
            )
            computed += price * quantity + (shipping or 0)

    total: Decimal | None
    if summary is not None and summary.get("total"):
        total = amount(summary, "total", required=True)
    elif all(t is not None for t in line_totals) and line_totals:
        total = sum((t for t in line_totals if t is not None), Decimal("0.00"))
    elif any(t is not None for t in line_totals):
        missing_at = next(r for r, t in zip(items, line_totals, strict=True) if t is None)
        problems.add(
            missing_at, _SHOWN["total"], "the total price is missing on this row but given on others"
        )
        total = None
    else:
        total = computed

    status_word = _first(rows, "status", prefer=head)
    status = statuses.from_seller_hub(status_word or None, paid=paid is not None, shipped=shipped is not None)
    if status is None:
        known = ", ".join(sorted(set(statuses.SELLER_HUB_STATUS_WORDS)))
        problems.add(head, _SHOWN["status"], f"unknown order status {status_word!r}; known: {known}")
    refunded = Decimal("0.00")
    refund_row = next((r for r in rows if r.get("refunded")), None)
    if refund_row is not None:
        refunded = amount(refund_row, "refunded", required=False) or Decimal("0.00")
    elif status == "refunded" and total is not None:
        refunded = total
    if status == "cancelled":
        refunded = Decimal("0.00")

    currency_text = _first(rows, "currency", prefer=head)
    if currency_text:
        try:
            currencies.add(values.currency_code(currency_text))
        except ValueProblem as exc:
            problems.add(head, _SHOWN["currency"], str(exc))
    if len(currencies) > 1:
        problems.add(
            head,
            _SHOWN["price"],
            f"amounts in one order use different currencies ({', '.join(sorted(currencies))})",
        )
    if total is not None and refunded > total:
        problems.add(head, _SHOWN["refunded"], f"the refund of {refunded} exceeds the order total of {total}")

    buyer = _first(rows, "buyer", prefer=head) or None
    email = _first(rows, "buyer_email", prefer=head) or None
    if buyer and len(buyer) > 128:
        problems.add(head, _SHOWN["buyer"], "the buyer username is longer than 128 characters")
    if email and len(email) > 255:
        email = None

    if problems.errors or sale is None or total is None or status is None or order_id is None or not lines:
        return None, problems.errors
    updated = max(d for d in (sale, paid, shipped) if d is not None)
    return (
        OrderRecord(
            ebay_order_id=order_id,
            status=status,
            total_amount=total,
            refunded_amount=refunded,
            currency=currencies.pop() if currencies else default_currency,
            order_date=sale,
            updated_at=updated,
            lines=tuple(lines),
            buyer=buyer,
            buyer_email=email,
            source=Source(file, rows[0].line),
        ),
        [],
    )


def _first(rows: list[_Row], key: str, *, prefer: _Row) -> str:
    """The value of ``key`` on ``prefer`` (the summary row), else on the first row that has it."""
    return prefer.get(key) or next((r.get(key) for r in rows if r.get(key)), "")

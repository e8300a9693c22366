"""Seller Hub "Orders" report CSV, read as a stream.

What the export looks like, and what we assume where eBay does not say:

- Any separator (``,`` from eBay, ``;`` or tab from Excel; see :mod:`~ebaydash.importers.dialect`)
  and encoding (see :mod:`~ebaydash.importers.encoding`). Blank lines, a ``sep=`` line and other
  lines before the header are skipped; the header is the first row naming an order-number column.
- Rows that are not orders are recognised in any cell layout and listed as such, never as errors:
  footers (``12 record(s) downloaded, from … to …``, the count quoted, in a cell of its own, or
  absent), ``Seller ID : …`` lines (the id is kept to name a new account), unpaid "commitments"
  (the buyer never checked out, so the row has no order number) and summary lines without one.
  The footer's count is compared with the sales records read.
- Header wordings of eBay's sites are matched through :mod:`~ebaydash.importers.headers`; their
  language picks the month names and the decimal mark (``1.116,99 €``, ``10-Dez-25``).
- One row per line item, grouped into orders by "Sales Record Number" (or the order number when
  there is none). A multi-item order may also carry a summary row without item columns; it holds
  the order's total. Without a summary row the order's total is the sum of its rows' "Total Price";
  without a "Total Price" column it is Σ "Sold For" × "Quantity" plus "Shipping And Handling".
- A line's product is named by its "Custom Label" (SKU), else its "Item Number", else its title.
  Item numbers, order numbers and transaction ids that Excel turned into numbers (``1.23457E+11``)
  are refused; a SKU or item number with two different titles is reported.
- "Sold For" is the price of one unit; the money symbol gives the currency.
- Dates are local times in ``zone`` (unless they name their own zone, see
  :func:`~ebaydash.importers.values.local_instant`); the order's last change is the latest of its
  sale, paid and shipped dates. The report does not say its zone, which is its site's local time:
  the import names it (the one chosen, the account's, or for a new account its site's, from
  :data:`~ebaydash.importers.locales.SITES`). A date more than a day after ``now``, or before eBay
  opened (1995), is a problem of its row: mostly a two-digit year misread.
- Numeric dates with slashes (``09/03/2026``, as Excel re-saves dates in the machine's locale) have
  one order, day or month first, for the whole file: the first date whose first part is above 12
  (day first) or whose second is (month first) settles it, and a later date of the other order is
  a problem of its row. When none settles it, the file is read in the convention of the eBay site
  it comes from (month first on ebay.com, day first elsewhere), with a warning saying so. Finding
  the settling date takes a reading of its own, done only when a file has such dates.
- The report's site (``info.marketplace``) is told by its headings' language and its money
  (``EUR`` and German is ebay.de, ``£`` is ebay.co.uk, ``AU $`` ebay.com.au); Seller Hub reports
  have no column naming it. Bare amounts under English headings tell none.
- Status: the "Order Status" column when the export has one; otherwise shipped when "Shipped On
  Date" is set, paid when "Paid On Date" is set, else pending. The standard export shows no
  cancellations or refunds, so its records do not claim to know them (``OrderRecord.knows``).
- A quote inside a field that the export did not double (``"12" single"``) is reported as an
  unbalanced quote at the line and column where the broken field starts; the lines it swallowed
  are read again as rows of their own.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from ebaydash.importers import dialect, headers, locales, statuses, values
from ebaydash.importers.encoding import TextSource, Unreadable
from ebaydash.importers.records import NotOrder, ParsedFile, Rejected, RowError
from ebaydash.importers.values import ValueProblem
from ebaydash.models import FACTS_ALL, LineRecord, OrderRecord, Source

FORMAT = "seller-hub-csv"
Item = OrderRecord | Rejected | NotOrder

REQUIRED: dict[str, str] = {
    "order_id": "the eBay order number",
    "sale_date": "when the order was placed",
    "quantity": "how many units",
    "price": "the unit price",
}
ITEM_FIELDS = ("item_number", "title", "sku")
DATE_FIELDS = ("sale_date", "paid_date", "shipped_date")
MONEY_FIELDS = ("price", "total", "shipping", "refunded")
ID_FIELDS = {"order_id": "order number", "item_number": "item number", "transaction_id": "transaction id"}
MAX_OPEN_GROUPS = 2_000  # orders whose rows are not all read yet; exports keep an order's rows together
MAX_TITLE_WARNINGS = 20

# footers in eBay's languages: "12 record(s) downloaded", "12 Datensätze heruntergeladen", …
_RECORDS = re.compile(
    r"^\s*(?P<n>\d[\d,.\s]*)?\s*(?:record\(s\)|records?|datens[äa]tze?|enregistrements?(?:\(s\))?|registros?)"
    r"\s+(?:downloaded|heruntergeladen|t[ée]l[ée]charg[ée]s?(?:\(s\))?|scaricati|descargados?)",
    re.IGNORECASE,
)
_SELLER_ID = re.compile(
    r"^\s*(?:seller\s*id|verk[äa]ufer[-\s]?id|verk[äa]ufername|id\s+(?:du\s+)?vendeur|id\s+venditore"
    r"|id\s+del\s+vendedor)\s*:?\s*(?P<id>.*?)\s*$",
    re.IGNORECASE,
)


def looks_like(sample: str) -> bool:
    """True when one of the first rows names an order-number column, whatever the separator."""
    return any(dialect.header_score(sample, d) > 0 for d in dialect.CANDIDATES)


# -- physical lines -----------------------------------------------------------------------------


class _Lines:
    """The file's lines for the csv reader, numbered, with the lines of the current record kept
    (for its raw text and for diagnosing it) and a way to hand lines back to be read again."""

    def __init__(self, source: TextSource) -> None:
        self._source = iter(source.lines())
        self._number = 0
        self._again: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []
        self.ended = False  # the file's last line has been read past: a record open now is cut off

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            number, line = self._again.popleft()
        else:
            try:
                line = next(self._source)
            except StopIteration:
                self.ended = True
                raise
            self._number += 1
            number = self._number
        self.taken.append((number, line))
        return line

    def take(self) -> list[tuple[int, str]]:
        taken, self.taken = self.taken, []
        return taken

    def again(self, lines: list[tuple[int, str]]) -> None:
        self._again.extendleft(reversed(lines))


def _raw(lines: list[tuple[int, str]]) -> str:
    return "".join(line for _n, line in lines).rstrip("\r\n")


# -- quotes -------------------------------------------------------------------------------------


NEVER_CLOSED = "its opening quote is never closed"


def diagnose_quotes(lines: list[tuple[int, str]], delimiter: str) -> tuple[int, int, str] | None:
    """Where a record's quoting breaks: (line, 0-based column, what is wrong), or ``None``.

    A field that starts with ``"`` must end with ``"`` just before a separator or the end of the
    line, with every ``"`` inside it doubled. The column named is the one where the broken field
    starts, whatever the csv reader made of the rest.
    """
    text = "".join(line for _n, line in lines)
    first_line = lines[0][0] if lines else 0
    line, column, i, n = first_line, 0, 0, len(text)
    at_start = True
    while i < n:
        char = text[i]
        if at_start and char == '"':
            start_line, start_column = line, column
            i += 1
            while True:
                if i >= n:
                    return start_line, start_column, NEVER_CLOSED
                char = text[i]
                if char == '"':
                    if text[i + 1 : i + 2] == '"':
                        i += 2
                        continue
                    after = text[i + 1 : i + 2]
                    if after in (delimiter, "\r", "\n", ""):
                        i += 1
                        break
                    return (
                        start_line,
                        start_column,
                        f"a quote inside it is not doubled (the text goes on with {after!r} after it)",
                    )
                if char == "\n" or (char == "\r" and text[i + 1 : i + 2] != "\n"):
                    line += 1
                i += 1
            if line != start_line:
                return start_line, start_column, f"its quotes run over {line - start_line + 1} lines"
            at_start = False
            continue
        if char == delimiter:
            column += 1
            at_start = True
        elif char in "\r\n":
            break
        else:
            at_start = False
        i += 1
    return None


# -- rows ---------------------------------------------------------------------------------------


class _Row:
    """One data row: its line, its non-empty values by field, its raw text."""

    __slots__ = ("has_item", "line", "raw", "values")

    def __init__(self, line: int, raw: str, row_values: dict[str, str]) -> None:
        self.line = line
        self.raw = raw
        self.values = row_values
        self.has_item = any(k in row_values for k in ITEM_FIELDS)

    def get(self, key: str) -> str:
        return self.values.get(key, "")


class _Columns:
    """The header: which column holds which field, under which heading, in which language."""

    def __init__(self, cells: list[str]) -> None:
        self.width = len(cells)
        self.index: dict[int, str] = {}
        self.heading: dict[str, str] = {}
        for i, cell in enumerate(cells):
            key = headers.field_of(cell)
            if key is None or key in self.heading:
                continue  # columns we do not use; the first of two alike wins
            self.index[i] = key
            self.heading[key] = " ".join(cell.replace("\ufeff", "").split())
        self.language = headers.language_of(cells)
        if self.language in (None, "en"):
            self.locale = headers.english_variant(cells)
        else:
            self.locale = {"de": "de_DE", "fr": "fr_FR", "it": "it_IT", "es": "es_ES"}[self.language]
        self.decimal_mark = locales.decimal_mark(self.locale)

    def shown(self, key: str) -> str:
        return self.heading.get(key) or headers.shown(key, self.language)

    def at(self, index: int) -> str:
        key = self.index.get(index)
        return self.shown(key) if key else f"column {index + 1}"


# -- the file -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _DateOrder:
    """How a file's slashed dates are read: day first or month first, and the date that settled
    it as (line, field, text), or ``None`` when the site's convention was assumed."""

    day_first: bool
    settled_by: tuple[int, str, str] | None


@dataclass(slots=True)
class _SlashEvidence:
    """What a reading of a file's date columns found: the first date that settles the order of its
    slashed dates (line, field, text, day first), the first that could be read either way (line,
    field, text), and the first currency its money names."""

    settled: tuple[int, str, str, bool] | None = None
    ambiguous: tuple[int, str, str] | None = None
    currency: str | None = None


class _Reader:
    def __init__(
        self,
        name: str,
        source: TextSource,
        info: ParsedFile,
        zone: ZoneInfo,
        default_currency: str,
        opener: Callable[[], BinaryIO],
        now: dt.datetime,
    ) -> None:
        self.name = name
        self.source = source
        self.info = info
        self.zone = zone
        self.default_currency = default_currency
        self.opener = opener
        self.now = now
        self.date_order: _DateOrder | None = None  # decided at the first slashed date
        self.delimiter = dialect.detect(source.sample)
        info.delimiter = self.delimiter
        self.columns: _Columns | None = None
        self.header_line = 0
        self.groups: OrderedDict[str, list[_Row]] = OrderedDict()
        # orders already read, by the hash of their key: a few bytes each, whatever the file's size
        self.closed: set[int] = set()
        self.sales_records = 0
        self.data_rows = 0
        self.currencies: Counter[str] = Counter()
        self.currency_written = False  # some order's money names its currency (a symbol, a code)
        # (field, id) hash -> (title hash << 32 | the line it was first seen on)
        self.titles: dict[int, int] = {}
        self.tainted: dict[str, list[RowError]] = {}
        self.rounding: dict[
            str, tuple[int, int]
        ] = {}  # id column -> (values seen, looking rounded)  # orders with a broken row -> its problems
        self.title_warnings = 0

    # -- the stream

    def items(self) -> Iterator[Item]:
        lines = _Lines(self.source)
        reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
        pending: list[Item] = []
        while True:
            try:
                cells = next(reader)
                taken = lines.take()
                problem = None
            except StopIteration:
                break
            except csv.Error as exc:
                taken = lines.take()
                cells = []
                problem = str(exc)
            if not taken:
                continue
            pending.clear()
            self._record(taken, cells, problem, lines, pending)
            yield from pending
        yield from self._flush(everything=True)
        self._finish()

    def _record(
        self,
        taken: list[tuple[int, str]],
        cells: list[str],
        problem: str | None,
        lines: _Lines,
        out: list[Item],
    ) -> None:
        line = taken[0][0]
        if problem is None and not any(c.strip() for c in cells):
            return
        if problem is None and self._footer(cells, line, taken, out):
            return
        if self.columns is None:
            if problem is None and dialect.excel_separator(self.delimiter.join(cells)) is not None:
                return
            if problem is None and any(headers.field_of(c) in ("order_id", "sales_record") for c in cells):
                self._header(cells, line)
            elif line > dialect.HEADER_SEARCH_ROWS * 4:
                raise _NoHeader
            return
        width = self.columns.width
        wrong_width = problem is None and (
            (len(cells) > width and any(c.strip() for c in cells[width:])) or len(cells) < width
        )
        if problem is not None or wrong_width:
            self._broken(taken, cells, problem, lines, out)
            return
        self.data_rows += 1
        self.info.rows_read += 1
        raw = _raw(taken)
        row_values: dict[str, str] = {}
        bad: list[RowError] = []
        for index, key in self.columns.index.items():
            value = cells[index].strip()
            if not value:
                continue
            trouble = values.text_problem(value, "value")
            if trouble:
                bad.append(RowError(self.name, line, self.columns.at(index), trouble, raw=raw))
                continue
            row_values[key] = value
        row = _Row(line, raw, row_values)
        if bad:
            self.info.orders_found += 1
            out.append(
                Rejected(
                    tuple(
                        RowError(e.file, e.line, e.field, e.reason, row.get("order_id") or None, e.raw)
                        for e in bad
                    )
                )
            )
            return
        key = row.get("sales_record") or row.get("order_id")
        if not key:
            out.append(NotOrder(self.name, line, self._not_order_reason(row), raw))
            return
        group = self.groups.get(key)
        if group is not None:
            group.append(row)
            self.groups.move_to_end(key)
            return
        if hash(key) in self.closed:
            self.info.orders_found += 1
            out.append(
                Rejected(
                    (
                        RowError(
                            self.name,
                            line,
                            self.columns.shown("sales_record" if row.get("sales_record") else "order_id"),
                            f"this row belongs to {key}, whose other rows end far above: the report "
                            "looks re-sorted; sort it by "
                            f"{self.columns.shown('sales_record')} and import it again",
                            row.get("order_id") or None,
                            raw,
                        ),
                    )
                )
            )
            return
        self.groups[key] = [row]
        if len(self.groups) > MAX_OPEN_GROUPS:
            out.extend(self._flush(everything=False))

    def _header(self, cells: list[str], line: int) -> None:
        self.columns = columns = _Columns(cells)
        self.header_line = line
        missing = [key for key in REQUIRED if key not in columns.heading]
        if not any(key in columns.heading for key in ITEM_FIELDS):
            missing.append("item")
        if missing:
            self.info.readable = False
            for key in missing:
                if key == "item":
                    expected = headers.HEADERS["title"]["en"] + headers.HEADERS["sku"]["en"]
                    what = "the item (title, SKU or item number)"
                else:
                    expected = headers.HEADERS[key]["en"]
                    what = REQUIRED[key]
                if columns.language not in (None, "en") and key != "item":
                    expected = headers.HEADERS[key][columns.language] + expected
                self.info.errors.append(
                    RowError(
                        self.name,
                        line,
                        key,
                        f"missing column for {what}; expected one of: {', '.join(expected)}",
                    )
                )
            raise _MissingColumns

    def _footer(self, cells: list[str], line: int, taken: list[tuple[int, str]], out: list[Item]) -> bool:
        filled = [c for c in cells if c and not c.isspace()]
        if len(filled) > 4:
            return False  # footers fill one to three cells; data rows many more
        text = " ".join(" ".join(c.split()) for c in filled)
        declared = _RECORDS.match(text)
        if declared:
            if declared["n"]:
                digits = re.sub(r"\D", "", declared["n"])
                if len(digits) <= 12:
                    self.info.declared_total = (self.info.declared_total or 0) + int(digits)
            out.append(NotOrder(self.name, line, "the report's footer (its count of records)", _raw(taken)))
            return True
        seller = _SELLER_ID.match(text)
        if seller and (self.columns is None or not any(seller["id"] == c.strip() for c in cells[1:])):
            if seller["id"].lstrip(":").strip():
                self.info.seller_id = seller["id"].lstrip(":").strip()[:64]
            out.append(NotOrder(self.name, line, "the report's Seller ID line", _raw(taken)))
            return True
        return False

    def _not_order_reason(self, row: _Row) -> str:
        if row.has_item or row.get("buyer"):
            return (
                "an unpaid commitment to buy: it has no order number (the buyer has not paid, so eBay "
                "has not made it an order yet)"
            )
        return "a line without an order number or sales record (a summary or a note), not an order"

    def _broken(
        self,
        taken: list[tuple[int, str]],
        cells: list[str],
        problem: str | None,
        lines: _Lines,
        out: list[Item],
    ) -> None:
        assert self.columns is not None
        line = taken[0][0]
        found = diagnose_quotes(taken, self.delimiter)
        if found is not None:
            where, column, why = found
            raw = _raw([t for t in taken if t[0] == where])
            rest = [t for t in taken if t[0] > where]
            if why == NEVER_CLOSED and lines.ended and not rest:
                # a download cut short stops mid-value: its last quote is unbalanced through no
                # fault of the seller's quoting, so blaming the quoting would send them astray
                reason = (
                    f"the file ends inside a quoted value: the value of {self.columns.at(column)} on "
                    f"line {where} starts with a quote that is never closed. Was the download cut off? "
                    "Download the report again and import the whole file"
                )
            elif why == NEVER_CLOSED and lines.ended:
                reason = (
                    f"the value of {self.columns.at(column)} starts with a quote that is never closed: it "
                    f"runs over the {len(rest) + 1} lines to the end of the file. Either the download was "
                    "cut off (download the report again), or a quote inside a value was not written "
                    'twice ("")'
                )
            else:
                reason = (
                    f"unbalanced quote: the value of {self.columns.at(column)} starts with a quote, but "
                    f'{why}; a quote inside a value must be written twice ("")'
                )
            error = RowError(self.name, where, self.columns.at(column), reason, raw=raw)
            # the lines after the broken one were swallowed into it: read them again as rows
            if rest:
                lines.again(rest)
        elif problem is not None:
            error = RowError(
                self.name, line, None, f"this line is not readable CSV ({problem})", raw=_raw(taken)
            )
        else:
            error = RowError(
                self.name,
                line,
                None,
                f"the row has {len(cells)} fields but the header has {self.columns.width} "
                f"(fields are separated by {_separator_name(self.delimiter)})",
                raw=_raw(taken),
            )
        self.info.rows_read += 1
        key = self._key_before(taken[0][1], found[1] if found is not None else None)
        if key is not None and hash(key) not in self.closed:
            # the row belongs to an order: that whole order is refused, never imported without it
            self.tainted.setdefault(key, []).append(error)
            if key not in self.groups:
                self.groups[key] = []
            return
        self.info.orders_found += 1
        out.append(Rejected((error,)))

    def _key_before(self, first_line: str, broken_column: int | None) -> str | None:
        """The sales record (or order number) of a broken row, when it lies before the damage."""
        assert self.columns is not None
        try:
            cells = next(csv.reader([first_line], delimiter=self.delimiter))
        except (csv.Error, StopIteration):
            return None
        for index, key in self.columns.index.items():
            if key not in ("sales_record", "order_id"):
                continue
            if broken_column is not None and index >= broken_column:
                continue
            value = cells[index].strip() if index < len(cells) else ""
            if value and not value.startswith('"'):
                return value
        return None

    def _flush(self, *, everything: bool) -> Iterator[Item]:
        while self.groups and (everything or len(self.groups) > MAX_OPEN_GROUPS // 2):
            key, rows = self.groups.popitem(last=False)
            self.sales_records += 1
            tainted = self.tainted.pop(key, None)
            if tainted is not None:
                self.closed.add(hash(key))
                self.info.orders_found += 1
                order_id = next((r.get("order_id") for r in rows if r.get("order_id")), None)
                yield Rejected(
                    tuple(RowError(e.file, e.line, e.field, e.reason, order_id, e.raw) for e in tainted)
                )
                continue
            self.closed.add(hash(key))
            if not any(r.get("order_id") for r in rows):
                yield NotOrder(self.name, rows[0].line, self._not_order_reason(rows[0]), rows[0].raw)
                continue
            self.info.orders_found += 1
            record, errors = self._order(key, rows)
            if record is not None:
                yield record
            else:
                yield Rejected(tuple(errors))

    def _finish(self) -> None:
        if self.currencies:
            self.info.currency = self.currencies.most_common(1)[0][0]
        elif self.columns is not None and self.columns.language in ("de", "fr", "it", "es"):
            self.info.currency = "EUR"
        language = self.columns.language if self.columns else None
        # A currency we assumed (the account's, or USD) tells nothing of the site: bare amounts
        # under English headings may come from any English-speaking site. Other languages name
        # their sites' currency, the euro.
        if self.currency_written or language not in (None, "en"):
            self.info.marketplace = locales.site_for(self.info.currency, language)
        declared = self.info.declared_total
        if declared is not None and declared not in (
            self.sales_records,
            self.data_rows,
            self.info.orders_found,
        ):
            self.info.warnings.append(
                f"{self.name}: the footer says {declared:,} record(s) were downloaded, but the file holds "
                f"{self.sales_records:,} sales records ({self.info.orders_found:,} orders). It may have "
                "been cut short or edited."
            )

    # -- one order

    def _order(self, key: str, rows: list[_Row]) -> tuple[OrderRecord | None, list[RowError]]:
        assert self.columns is not None
        columns = self.columns
        name = self.name
        summary = next((r for r in rows if not r.has_item), None)
        items = [r for r in rows if r.has_item]
        head = summary or rows[0]
        order_id = next((r.get("order_id") for r in rows if r.get("order_id")), None)
        errors: list[RowError] = []

        def add(row: _Row, key: str, reason: str) -> None:
            errors.append(RowError(name, row.line, columns.shown(key), reason, order_id, row.raw))

        if len(rows) > 1 and len([r for r in rows if not r.has_item]) > 1:
            add(rows[1], "sales_record", f"sales record {key} has more than one summary row")
        for row in rows:
            other = row.get("order_id")
            if other and order_id and other != order_id:
                add(
                    row,
                    "order_id",
                    f"rows of sales record {key} name different orders ({order_id} and {other})",
                )
        if order_id is not None:
            try:
                values.identifier(order_id, "order number")
            except ValueProblem as exc:
                add(head, "order_id", str(exc))
            if self._rounded("order_id", order_id):
                add(head, "order_id", values.rounded_problem(order_id, "order number"))
            if len(order_id) > 64:
                add(head, "order_id", "the order number is longer than 64 characters")
        if not items:
            add(head, "title", "the order has no item rows (no item title, SKU or item number)")

        currencies: set[str] = set()

        def amount(row: _Row, key: str, *, required: bool) -> Decimal | None:
            text = row.get(key)
            if not text:
                if required:
                    add(row, key, "the amount is missing")
                return None
            try:
                value, currency = values.money_text(text, columns.decimal_mark)
                values.non_negative(value, columns.shown(key))
            except ValueProblem as exc:
                add(row, key, str(exc))
                return None
            if currency:
                currencies.add(currency)
            return value

        def date(row: _Row, key: str, *, required: bool) -> dt.datetime | None:
            row = row if row.get(key) else next((r for r in rows if r.get(key)), row)
            text = row.get(key)
            if not text:
                if required:
                    add(row, key, "the date is missing")
                return None
            try:
                return self._date(text)
            except ValueProblem as exc:
                add(row, key, str(exc))
                return None

        sale = date(head, "sale_date", required=True)
        paid = date(head, "paid_date", required=False)
        shipped = date(head, "shipped_date", required=False)

        lines: list[LineRecord] = []
        line_totals: list[Decimal | None] = []
        computed = Decimal("0.00")
        for row in items:
            before = len(errors)
            for id_key, what in ID_FIELDS.items():
                if id_key != "order_id" and row.get(id_key):
                    try:
                        values.identifier(row.get(id_key), what)
                    except ValueProblem as exc:
                        add(row, id_key, str(exc))
                    if self._rounded(id_key, row.get(id_key)):
                        add(row, id_key, values.rounded_problem(row.get(id_key), what))
            try:
                quantity = values.quantity(row.get("quantity"))
            except ValueProblem as exc:
                add(row, "quantity", str(exc) if row.get("quantity") else "the quantity is missing")
                quantity = None
            price = amount(row, "price", required=True)
            shipping = amount(row, "shipping", required=False)
            line_totals.append(amount(row, "total", required=False))
            # eBay titles are at most 80 characters, so a title can name a product when nothing else does
            sku = row.get("sku") or row.get("item_number") or row.get("title")
            title = row.get("title") or sku
            if sku and len(sku) > 80:
                add(row, "sku", "the SKU is longer than 80 characters")
            if title and len(title) > 300:
                add(row, "title", "the title is longer than 300 characters")
            if not sku:
                add(row, "sku", "nothing names the product (no Custom Label, Item Number or title)")
            transaction = row.get("transaction_id") or None
            if transaction and len(transaction) > 64:
                add(row, "transaction_id", "the transaction id is longer than 64 characters")
            if row.get("title"):
                self._same_title(row, row.get("title"))
            if len(errors) == before and quantity and price is not None and sku and title:
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
            add(missing_at, "total", "the total price is missing on this row but given on others")
            total = None
        else:
            total = computed

        status_word = _first(rows, "status", prefer=head)
        status = statuses.from_seller_hub(
            status_word or None, paid=paid is not None, shipped=shipped is not None
        )
        if status is None:
            known = ", ".join(sorted(set(statuses.SELLER_HUB_STATUS_WORDS)))
            add(head, "status", f"unknown order status {status_word!r}; known: {known}")
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
                add(head, "currency", str(exc))
        if len(currencies) > 1:
            add(
                head,
                "price",
                f"amounts in one order use different currencies ({', '.join(sorted(currencies))})",
            )
        if total is not None and refunded > total:
            add(head, "refunded", f"the refund of {refunded} exceeds the order total of {total}")

        buyer = _first(rows, "buyer", prefer=head) or None
        email = _first(rows, "buyer_email", prefer=head) or None
        if buyer and len(buyer) > 128:
            add(head, "buyer", "the buyer username is longer than 128 characters")
        if email and len(email) > 255:
            email = None

        if errors or sale is None or total is None or status is None or order_id is None or not lines:
            return None, errors
        tells_site = bool(currencies) or columns.language not in (None, "en")  # as in _finish
        self.currency_written = self.currency_written or bool(currencies)
        currency = currencies.pop() if currencies else self._implied_currency()
        self.currencies[currency] += 1
        knows = FACTS_ALL
        if "refunded" not in columns.heading:
            knows = knows - {"refunds"}
        if "status" not in columns.heading:
            knows = knows - {"cancellation"}
        updated = max(d for d in (sale, paid, shipped) if d is not None)
        return (
            OrderRecord(
                ebay_order_id=order_id,
                status=status,
                total_amount=total,
                refunded_amount=refunded,
                currency=currency,
                order_date=sale,
                updated_at=updated,
                lines=tuple(lines),
                buyer=buyer,
                buyer_email=email,
                marketplace=locales.site_for(currency, columns.language) if tells_site else None,
                source=Source(name, rows[0].line),
                knows=knows,
            ),
            [],
        )

    def _date(self, text: str) -> dt.datetime:
        """A date of the file as UTC, its slashes read in the file's order; raises
        :class:`ValueProblem` for a date that is none, contradicts that order, or cannot be an
        order's (see :func:`~ebaydash.importers.values.plausible_order_date`)."""
        day_first = False
        parts = values.slashed(text)
        if parts is not None:
            order = self.date_order or self._decide_date_order()
            day_first = order.day_first
            must = values.slash_order(*parts)
            if must is not None and must != day_first:
                raise ValueProblem(self._contradiction(text, parts, must, order))
        instant = values.local_instant(text, self.zone, day_first)
        return values.plausible_order_date(instant, self.now, text, self.zone)

    def _contradiction(self, text: str, parts: tuple[int, int], must: bool, order: _DateOrder) -> str:
        assert self.columns is not None
        its, files = ("day", "month") if must else ("month", "day")
        no_month = parts[0] if must else parts[1]
        if order.settled_by is not None:
            line, key, settling = order.settled_by
            because = f"line {line} settled that ({self.columns.shown(key)} {settling!r})"
        else:
            because = "as its other dates are read"
        return (
            f"{text!r} is {its} first ({no_month} is no month), but this file's dates are {files} "
            f"first: {because}. The dates of one file are all in one order; check this one"
        )

    def _decide_date_order(self) -> _DateOrder:
        """The order of the file's slashed dates: the first date that settles it, else the
        convention of the file's eBay site (a warning says which was assumed, and why)."""
        assert self.columns is not None
        evidence = self._slash_evidence()
        if evidence.settled is not None:
            line, key, text, day_first = evidence.settled
            self.date_order = _DateOrder(day_first, (line, key, text))
            return self.date_order
        day_first, convention = self._date_convention(evidence.currency)
        self.date_order = _DateOrder(day_first, None)
        if evidence.ambiguous is not None:
            line, key, text = evidence.ambiguous
            try:
                day = values.local_instant(text, self.zone, day_first).astimezone(self.zone).date()
                read_as = f" ({text} as {day.day} {day:%B} {day.year})"
            except ValueProblem:
                read_as = ""
            self.info.warnings.append(
                f"{self.name}: no date in the file shows whether its dates are day or month first "
                f"(none has a part above 12, e.g. line {line}, {self.columns.shown(key)} {text!r}); "
                f"they were read {'day' if day_first else 'month'} first{read_as}, {convention}. "
                "If that is wrong, so are the orders' dates"
            )
        return self.date_order

    def _date_convention(self, currency: str | None) -> tuple[bool, str]:
        """Whether the file's eBay site writes dates day first, and which site that is, in words."""
        assert self.columns is not None
        language = self.columns.language
        if currency is not None or language not in (None, "en"):
            # as _finish tells the file's site: its money, else the euro of its language
            site = locales.site_for(currency or "EUR", language)
            if site is not None:
                told = f"its amounts are in {currency}" if currency else "its headings' language"
                return _day_first_site(site), (
                    f"the convention of {locales.SITES[site].domain}, the eBay site the file comes from "
                    f"({told})"
                )
        if self.columns.locale == "en_GB":
            return True, (
                "the convention of eBay's UK, Australian and Irish sites, whose wording its headings "
                "use (postage, dispatched)"
            )
        site = locales.site_for(self.default_currency, "en") or "EBAY_US"
        return _day_first_site(site), (
            f"the convention of {locales.SITES[site].domain}: the file does not say its eBay site, and "
            f"amounts without a currency symbol are read as {self.default_currency}"
        )

    def _slash_evidence(self) -> _SlashEvidence:
        """A reading of the file's date and money columns, from the header on, until a slashed
        date settles the order (so a file read through once more only when none does)."""
        assert self.columns is not None
        columns = self.columns
        found = _SlashEvidence()
        dates = [(i, k) for i, k in columns.index.items() if k in DATE_FIELDS]
        money = [(i, k) for i, k in columns.index.items() if k in MONEY_FIELDS]
        currency_at = next((i for i, k in columns.index.items() if k == "currency"), None)
        try:
            with self.opener() as stream:
                lines = _Lines(TextSource(stream))
                reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
                while True:
                    try:
                        cells = next(reader)
                    except StopIteration:
                        break
                    except csv.Error:
                        lines.take()  # a broken row is reported by the reading proper
                        continue
                    taken = lines.take()
                    if not taken or taken[0][0] <= self.header_line or len(cells) != columns.width:
                        continue
                    line = taken[0][0]
                    for index, key in dates:
                        parts = values.slashed(cells[index])
                        if parts is None:
                            continue
                        must = values.slash_order(*parts)
                        if must is not None:
                            found.settled = (line, key, cells[index].strip(), must)
                            return found
                        if found.ambiguous is None and parts[0] != parts[1]:
                            found.ambiguous = (line, key, cells[index].strip())
                    if found.currency is None:
                        found.currency = self._named_currency(cells, money, currency_at)
        except (Unreadable, UnicodeDecodeError, OSError):
            pass  # the reading proper reports why the file cannot be read
        return found

    def _named_currency(
        self, cells: list[str], money: list[tuple[int, str]], currency_at: int | None
    ) -> str | None:
        assert self.columns is not None
        if currency_at is not None:
            try:
                return values.currency_code(cells[currency_at])
            except ValueProblem:
                pass
        for index, _key in money:
            try:
                _amount, currency = values.money_text(cells[index], self.columns.decimal_mark)
            except ValueProblem:
                continue
            if currency is not None:
                return currency
        return None

    def _rounded(self, key: str, value: str) -> bool:
        """Whether ``value`` lost digits to Excel: it looks rounded, and so do most values of its
        column so far (Excel damages a whole column, never one cell)."""
        seen, rounded = self.rounding.get(key, (0, 0))
        looks = values.looks_rounded(value)
        seen, rounded = seen + 1, rounded + looks
        self.rounding[key] = (seen, rounded)
        return looks and 2 * rounded >= seen

    def _implied_currency(self) -> str:
        """The currency of amounts written without a symbol: the report's site's (a German, French,
        Italian or Spanish header means euros), else the account's or the default."""
        if self.columns is not None and self.columns.language in ("de", "fr", "it", "es"):
            return "EUR"
        return self.default_currency

    def _same_title(self, row: _Row, title: str) -> None:
        """Report a SKU or item number that names two different titles in this file."""
        assert self.columns is not None
        mine = (hash(title) & 0xFFFFFFFF) << 32 | row.line
        for key in ("sku", "item_number"):
            ident = row.get(key)
            if not ident:
                continue
            slot = hash((key, ident))
            seen = self.titles.setdefault(slot, mine)
            if seen >> 32 != mine >> 32:
                self.titles[slot] = mine
                if self.title_warnings < MAX_TITLE_WARNINGS:
                    self.title_warnings += 1
                    self.info.warnings.append(
                        f"{self.name}, line {row.line}: {self.columns.shown(key)} {ident} has two different "
                        f"titles in this file (another on line {seen & 0xFFFFFFFF}, {title!r} here); if they "
                        "are different items, the report was damaged (e.g. by Excel) and they would be "
                        "counted as one product"
                    )


class _NoHeader(Exception):
    pass


class _MissingColumns(Exception):
    pass


def _separator_name(delimiter: str) -> str:
    return {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars"}.get(delimiter, repr(delimiter))


def _day_first_site(site: str) -> bool:
    return locales.SITES[site].locale != "en_US"  # ebay.com writes month/day/year; the others day first


def _first(rows: list[_Row], key: str, *, prefer: _Row) -> str:
    """The value of ``key`` on ``prefer`` (the summary row), else on the first row that has it."""
    return prefer.get(key) or next((r.get(key) for r in rows if r.get(key)), "")


def scan(
    name: str,
    source: TextSource,
    info: ParsedFile,
    *,
    zone: ZoneInfo,
    opener: Callable[[], BinaryIO],
    default_currency: str = "USD",
    now: dt.datetime | None = None,
) -> Iterator[Item]:
    """The file's orders, rejected orders and rows that are not orders, in file order. File-level
    facts (errors, warnings, counts, seller id, currency, site) are filled into ``info`` as the
    stream is read; they are complete when it ends.

    ``opener`` opens the file again (a new binary stream), for the reading that decides the order
    of its slashed dates; ``now`` (default: the current time, UTC) is what a date may not be more
    than a day after."""
    info.format = FORMAT
    reader = _Reader(name, source, info, zone, default_currency, opener, now or dt.datetime.now(dt.UTC))
    try:
        yield from reader.items()
    except _MissingColumns:
        # count what the file holds, so nothing vanishes silently
        info.orders_found += _count_orders(reader)
        return
    except _NoHeader:
        pass
    if reader.columns is None:
        info.readable = False
        info.errors.append(
            RowError(
                name,
                None,
                None,
                "the file has no header row naming an order number column "
                f"(expected one of: {', '.join(headers.HEADERS['order_id']['en'])})",
            )
        )


def _count_orders(reader: _Reader) -> int:
    """Distinct order keys in the rest of a file that cannot be imported."""
    keys: set[str] = set()
    columns = reader.columns
    assert columns is not None
    positions = [i for i, k in columns.index.items() if k in ("sales_record", "order_id")]
    lines = _Lines(reader.source)
    for cells in csv.reader(lines, delimiter=reader.delimiter):
        lines.take()
        if not any(c.strip() for c in cells):
            continue
        text = " ".join(c for c in cells if c.strip())
        if _RECORDS.match(text) or _SELLER_ID.match(text):
            continue
        key = next((cells[i].strip() for i in positions if i < len(cells) and cells[i].strip()), "")
        if key:
            keys.add(key)
    return len(keys)


def _unused(*_args: Any) -> None:  # pragma: no cover - keeps typing of Any import honest
    return None

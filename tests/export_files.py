"""Seller Hub reports written the way eBay's sites and Excel write them, from orders we choose: the
generator behind the property tests of the importers (any site, separator, encoding, quoting and
footer layout). Money and month names come from Babel, like a real export's locale would."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

from babel.dates import get_month_names
from babel.numbers import format_currency, format_decimal

from ebaydash.importers.headers import HEADERS


@dataclass(frozen=True)
class Site:
    code: str
    language: str
    locale: str
    currency: str
    marketplace: str
    british: bool = False
    prefix: str | None = None  # eBay's own symbol where CLDR's differs: "AU $", "C $"

    def money(self, amount: Decimal) -> str:
        if self.prefix is not None:
            return f"{self.prefix}{format_decimal(amount, format='#,##0.00', locale='en_US')}"
        return format_currency(amount, self.currency, locale=self.locale)

    def date(self, when: dt.datetime) -> str:
        months = get_month_names("abbreviated", "stand-alone", self.locale)
        month = months[when.month].rstrip(".")
        clock = when.strftime("%H:%M:%S")
        if self.locale == "en_US":
            return f"{month}-{when.day:02d}-{when:%y} {clock}"
        return f"{when.day:02d}-{month}-{when:%y} {clock}"


SITES = {
    "US": Site("US", "en", "en_US", "USD", "EBAY_US"),
    "UK": Site("UK", "en", "en_GB", "GBP", "EBAY_GB", british=True),
    "AU": Site("AU", "en", "en_AU", "AUD", "EBAY_AU", british=True, prefix="AU $"),
    "CA": Site("CA", "en", "en_CA", "CAD", "EBAY_CA", prefix="C $"),
    "DE": Site("DE", "de", "de_DE", "EUR", "EBAY_DE"),
    "FR": Site("FR", "fr", "fr_FR", "EUR", "EBAY_FR"),
    "IT": Site("IT", "it", "it_IT", "EUR", "EBAY_IT"),
    "ES": Site("ES", "es", "es_ES", "EUR", "EBAY_ES"),
}
COLUMNS = (
    "sales_record",
    "order_id",
    "buyer",
    "item_number",
    "title",
    "sku",
    "quantity",
    "price",
    "shipping",
    "total",
    "sale_date",
    "paid_date",
    "shipped_date",
)
_BRITISH = {"shipping": "Postage And Packaging", "shipped_date": "Dispatched On Date"}


@dataclass(frozen=True)
class Line:
    sku: str
    title: str
    item_number: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Order:
    record: int
    order_id: str
    buyer: str
    lines: tuple[Line, ...]
    shipping: Decimal
    sale: dt.datetime  # naive, the seller's local time
    paid: dt.datetime | None = None
    shipped: dt.datetime | None = None

    @property
    def total(self) -> Decimal:
        return sum((li.unit_price * li.quantity for li in self.lines), self.shipping)


@dataclass
class Layout:
    """How the file around the rows looks."""

    delimiter: str = ","
    encoding: str = "utf-8-sig"
    quote_all: bool = True
    blank_first: bool = True
    footer: str = "joined"  # joined | own-cell | quoted | none | bare
    seller_line: str = "Seller ID : shop_seller"
    extra_rows: list[list[str]] = field(default_factory=list)  # appended before the footer
    count: int | None = None  # the footer's count; default: the orders written


def heading(key: str, site: Site) -> str:
    if site.british and key in _BRITISH:
        return _BRITISH[key]
    return HEADERS[key][site.language][0]


def rows(orders: list[Order], site: Site) -> list[list[str]]:
    """One row per line; a multi-line order gets a summary row holding its total first."""
    out: list[list[str]] = []
    for order in orders:
        common = {
            "sales_record": str(order.record),
            "order_id": order.order_id,
            "buyer": order.buyer,
            "sale_date": site.date(order.sale),
            "paid_date": site.date(order.paid) if order.paid else "",
            "shipped_date": site.date(order.shipped) if order.shipped else "",
        }
        if len(order.lines) > 1:
            summary = {**common, "shipping": site.money(order.shipping), "total": site.money(order.total)}
            out.append([summary.get(k, "") for k in COLUMNS])
        for n, line in enumerate(order.lines):
            values = {
                **common,
                "item_number": line.item_number,
                "title": line.title,
                "sku": line.sku,
                "quantity": str(line.quantity),
                "price": site.money(line.unit_price),
            }
            if len(order.lines) == 1:
                values["shipping"] = site.money(order.shipping)
                values["total"] = site.money(order.total)
            elif n:
                values = {
                    k: v
                    for k, v in values.items()
                    if k not in ("buyer", "sale_date", "paid_date", "shipped_date")
                }
            out.append([values.get(k, "") for k in COLUMNS])
    return out


def render(orders: list[Order], site: Site, layout: Layout | None = None) -> bytes:
    layout = layout or Layout()
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer,
        delimiter=layout.delimiter,
        quoting=csv.QUOTE_ALL if layout.quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\r\n",
    )
    width = len(COLUMNS)
    if layout.blank_first:
        buffer.write("\r\n")
    writer.writerow([heading(k, site) for k in COLUMNS])
    for row in rows(orders, site):
        writer.writerow(row)
    for row in layout.extra_rows:
        writer.writerow(row)
    count = len(orders) if layout.count is None else layout.count
    span = "from Sep-01-26 00:00:00 to Sep-30-26 23:59:59"
    if layout.footer == "joined":
        writer.writerow([f"{count} record(s) downloaded, {span}"])
    elif layout.footer == "own-cell":
        writer.writerow([str(count), "record(s) downloaded", span] + [""] * (width - 3))
    elif layout.footer == "quoted":
        buffer.write(f'"{count} record(s) downloaded, {span}"\r\n')
    elif layout.footer == "bare":
        buffer.write(f"{count} record(s) downloaded{layout.delimiter}{span}\r\n")
    if layout.footer != "none" and layout.seller_line:
        writer.writerow([layout.seller_line])
    text = buffer.getvalue()
    if layout.encoding == "cp1252":
        text = text.replace("\u202f", "\xa0")  # Excel writes the narrow space as a no-break space
    return text.encode(layout.encoding)

"""Sell Fulfillment API ``getOrders`` responses: one JSON file per page (``orders[]``, ``total``,
``next`` …), or a single order as ``getOrder`` returns it.

The page is read as a stream, one order at a time (the standard library's JSON decoder on a moving
window of the text, so memory does not grow with the file), and every order knows the line it
starts on (errors name it). A file cut short still yields the orders before the cut (reported,
never silently dropped). Numbers are parsed as ``Decimal``, never float; numbers too long to
convert safely, ``NaN`` and ``Infinity`` become problems of their order.

Refunds follow eBay's Fulfillment API reference: order-level refunds (``paymentSummary.refunds``,
type ``OrderRefund``) carry a ``refundStatus`` and count when it is ``REFUNDED``; line-level refunds
(``lineItems[].refunds``, type ``LineItemRefund``) carry no status, and eBay returns their
``refundDate`` only once the refund has been issued, so they count when they have one. The same
refund may appear at both levels: refunds are de-duplicated by ``refundId`` (the order-level copy,
which has the status, wins), and, without an id, by date and amount.

The seller's site is the line items' ``listingMarketplaceId`` (where the item was listed);
``purchaseMarketplaceId`` is the buyer's site and never names the account's.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from ebaydash.importers import locales, statuses, values
from ebaydash.importers.encoding import TextSource
from ebaydash.importers.records import ParsedFile, Rejected, RowError
from ebaydash.importers.values import HugeNumber, ValueProblem
from ebaydash.models import LineRecord, OrderRecord, Source

FORMAT = "fulfillment-json"
CHUNK_CHARS = 1 << 20
MAX_ORDER_CHARS = 16 << 20  # one order of getOrders is a few KB; more is a damaged file
T = TypeVar("T")
_UTC = ZoneInfo("UTC")  # getOrders dates are UTC; a problem shows them so
Item = OrderRecord | Rejected


def _parse_int(text: str) -> int | HugeNumber:
    return int(text) if len(text) <= values.MAX_NUMBER_CHARS else HugeNumber(text)


def _parse_float(text: str) -> Decimal | HugeNumber:
    if len(text) > values.MAX_NUMBER_CHARS:
        return HugeNumber(text)
    try:
        return Decimal(text)
    except InvalidOperation:
        return HugeNumber(text)


_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_int=_parse_int, parse_constant=HugeNumber)
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _Broken(Exception):
    """The JSON text itself is malformed at ``offset`` (an absolute character offset)."""

    def __init__(self, offset: int, reason: str, *, syntax: bool = True) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason
        self.syntax = syntax  # False: valid JSON, but not shaped like a getOrders page


def looks_like(sample: str) -> bool:
    return sample.lstrip()[:1] in ("{", "[")


# -- reading the page ---------------------------------------------------------------------------


class _Window:
    """A moving window on the file's text: positions are absolute character offsets; text before
    the current order is dropped as the reading moves on, and line numbers are counted as it goes."""

    def __init__(self, source: TextSource) -> None:
        self.source = source
        self.text = ""
        self.base = 0  # absolute offset of text[0]
        self.base_line = 1  # line number at text[0]
        self.eof = False
        self._counted_to = 0  # absolute offset up to which lines are counted ...
        self._counted_line = 1  # ... and the line number there

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.source.read(CHUNK_CHARS)
        if not chunk:
            self.eof = True
            return False
        self.text += chunk
        return True

    def char(self, pos: int) -> str:
        while pos - self.base >= len(self.text):
            if not self.more():
                return ""
        return self.text[pos - self.base]

    def skip(self, pos: int) -> int:
        while True:
            rel = pos - self.base
            match = _WHITESPACE.match(self.text, rel)
            end = match.end() if match else rel
            if end < len(self.text) or not self.more():
                return end + self.base

    def decode(self, pos: int) -> tuple[Any, int]:
        while True:
            rel = pos - self.base
            try:
                value, end = _DECODER.raw_decode(self.text, rel)
                return value, end + self.base
            except json.JSONDecodeError as exc:
                # the value may just go on past the window: read more and try again
                if len(self.text) - rel < MAX_ORDER_CHARS and self.more():
                    continue
                raise _Broken(exc.pos + self.base, exc.msg.lower()) from None
            except RecursionError:
                raise _Broken(pos, "too deeply nested") from None

    def release(self, pos: int) -> None:
        """Forget the text before ``pos``: it has been read."""
        rel = pos - self.base
        if rel > CHUNK_CHARS:
            self.line_of(pos)
            self.text = self.text[rel:]
            self.base = pos

    def line_of(self, pos: int) -> int:
        if pos < self._counted_to:
            return self._counted_line - self.text.count("\n", pos - self.base, self._counted_to - self.base)
        self._counted_line += self.text.count("\n", self._counted_to - self.base, pos - self.base)
        self._counted_to = pos
        return self._counted_line

    def position(self, pos: int) -> tuple[int, int]:
        line = self.line_of(max(pos, self.base))
        start = self.text.rfind("\n", 0, pos - self.base) + 1
        return line, pos - (start + self.base) + 1


def scan(
    name: str, source: TextSource, info: ParsedFile, *, now: dt.datetime | None = None
) -> Iterator[Item]:
    """The page's orders (valid or rejected) in file order; file-level facts go into ``info``.
    An order created more than a day after ``now`` (default: the current time) or before eBay
    opened is rejected (:func:`~ebaydash.importers.values.plausible_order_date`)."""
    info.format = FORMAT
    now = now or dt.datetime.now(dt.UTC)
    window = _Window(source)
    header: dict[str, Any] = {}
    read = 0
    marketplaces: Counter[str] = Counter()
    currencies: Counter[str] = Counter()
    try:
        for start, raw in _orders(window, header):
            read += 1
            info.orders_found += 1
            info.rows_read += 1
            item = _parse_order(name, window.line_of(start), read - 1, raw, now)
            window.release(start)
            if isinstance(item, OrderRecord):
                if item.marketplace:
                    marketplaces[item.marketplace] += 1
                currencies[item.currency] += 1
                if item.seller_id:
                    info.seller_id = info.seller_id or item.seller_id
            yield item
    except _Broken as exc:
        line, column = window.position(exc.offset)
        if read == 0 and not header.get("_orders_seen"):
            info.readable = False
            reason = (
                f"this is not valid JSON ({exc.reason} at column {column})"
                if exc.syntax
                else f"this JSON is not a getOrders page: {exc.reason}"
            )
            info.errors.append(RowError(name, line, None, reason))
            return
        info.errors.append(
            RowError(
                name,
                line,
                None,
                f"the file ends early or is damaged ({exc.reason} at column {column}); "
                f"{read} complete order(s) were read before this point, "
                "any after it are missing — download the page again",
            )
        )
    total = header.get("total")
    if (
        isinstance(total, int)
        and not isinstance(total, bool)
        and total >= 0
        and not header.get("_single_order")
    ):
        info.declared_total = total
    if marketplaces:
        info.marketplace = marketplaces.most_common(1)[0][0]
    site_currency = locales.site_currency(info.marketplace) if info.marketplace else None
    if site_currency is not None and site_currency in currencies:
        info.currency = site_currency
    elif currencies:
        info.currency = currencies.most_common(1)[0][0]


def _orders(window: _Window, header: dict[str, Any]) -> Iterator[tuple[int, Any]]:
    """(offset, value) of every order; the page's other top-level fields go into ``header``."""
    pos = window.skip(0)
    if window.char(pos) != "{":
        raise _Broken(pos, 'expected a getOrders page: an object with an "orders" list', syntax=False)
    pos = window.skip(pos + 1)
    if window.char(pos) == "}":
        pos += 1
    else:
        while True:
            pos = window.skip(pos)
            if window.char(pos) != '"':
                raise _Broken(pos, "expected a field name in double quotes")
            key, pos = window.decode(pos)
            pos = window.skip(pos)
            if window.char(pos) != ":":
                raise _Broken(pos, "expected ':'")
            pos = window.skip(pos + 1)
            if key == "orders" and window.char(pos) == "[":
                header["_orders_seen"] = True
                pos = window.skip(pos + 1)
                if window.char(pos) == "]":
                    pos += 1
                else:
                    while True:
                        pos = window.skip(pos)
                        start = pos
                        value, pos = window.decode(pos)
                        yield start, value
                        pos = window.skip(pos)
                        char = window.char(pos)
                        if char == ",":
                            pos += 1
                        elif char == "]":
                            pos += 1
                            break
                        else:
                            raise _Broken(pos, "expected , or ] between orders")
            else:
                header[str(key)], pos = window.decode(pos)
            pos = window.skip(pos)
            char = window.char(pos)
            if char == ",":
                pos += 1
                continue
            if char == "}":
                pos += 1
                break
            raise _Broken(pos, "expected , or } after a field")
    pos = window.skip(pos)
    if window.char(pos) != "":
        raise _Broken(pos, "unexpected text after the end of the page")
    if not header.get("_orders_seen"):
        if "orderId" in header:  # a single order, as getOrder returns it
            single = {k: v for k, v in header.items() if not k.startswith("_")}
            header.clear()
            header["_single_order"] = True
            header["_orders_seen"] = True
            yield window.skip(0), single
            return
        raise _Broken(0, 'it has no "orders" list (nor an "orderId", as a single order would)', syntax=False)


# -- one order ----------------------------------------------------------------------------------


class _Order:
    """Collects every problem of one order instead of stopping at the first."""

    def __init__(self, file: str, line: int, index: int, raw: Any) -> None:
        self.file = file
        self.line = line
        self.prefix = f"orders[{index}]"
        self.raw = raw
        self.order_id: str | None = None
        self.errors: list[RowError] = []

    def fail(self, path: str, reason: str) -> None:
        self.errors.append(
            RowError(
                self.file, self.line, f"{self.prefix}.{path}" if path else self.prefix, reason, self.order_id
            )
        )

    def get(self, path: str, parse: Callable[[Any], T], value: Any) -> T | None:
        try:
            return parse(value)
        except ValueProblem as exc:
            self.fail(path, str(exc))
            return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _enum(allowed: tuple[str, ...], *, required: bool = True) -> Callable[[Any], str | None]:
    def parse(value: Any) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or value not in allowed:
            shown = values._show(value) if value is not None else "nothing"
            raise ValueProblem(f"expected one of {', '.join(allowed)}, got {shown}")
        return value

    return parse


def _amount(order: _Order, path: str, value: Any, *, required: bool = True) -> tuple[Decimal, str] | None:
    """An eBay Amount object: ``{"value": "12.34", "currency": "USD"}``."""
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        order.fail(
            path,
            'expected an amount object like {"value": "12.34", "currency": "USD"}, '
            f"got {values._show(value)}",
        )
        return None
    amount = order.get(f"{path}.value", values.money, value.get("value"))
    currency = order.get(f"{path}.currency", values.currency_code, value.get("currency"))
    if amount is None or currency is None:
        return None
    return amount, currency


def _parse_order(file: str, line: int, index: int, raw: Any, now: dt.datetime) -> Item:
    order = _Order(file, line, index, raw)
    if not isinstance(raw, dict):
        order.fail("", f"expected an order object, got {values._show(raw)}")
        return Rejected(tuple(_with_raw(order.errors, raw)))
    order.order_id = order.get("orderId", _order_id, raw.get("orderId"))

    def creation(value: Any) -> dt.datetime:
        return values.plausible_order_date(values.iso_instant(value), now, str(value), _UTC)

    created = order.get("creationDate", creation, raw.get("creationDate"))
    modified = None
    if raw.get("lastModifiedDate") is not None:
        modified = order.get("lastModifiedDate", values.iso_instant, raw.get("lastModifiedDate"))
    fulfillment = order.get(
        "orderFulfillmentStatus", _enum(statuses.FULFILLMENT_STATES), raw.get("orderFulfillmentStatus")
    )
    payment = order.get("orderPaymentStatus", _enum(statuses.PAYMENT_STATES), raw.get("orderPaymentStatus"))
    cancel = raw.get("cancelStatus")
    cancel_path = "cancelStatus"
    if isinstance(cancel, dict):
        cancel, cancel_path = cancel.get("cancelState"), "cancelStatus.cancelState"
    cancel_state = order.get(cancel_path, _enum(statuses.CANCEL_STATES, required=False), cancel)

    buyer, email = None, None
    if raw.get("buyer") is not None:
        if not isinstance(raw["buyer"], dict):
            order.fail("buyer", f"expected an object with a username, got {values._show(raw['buyer'])}")
        else:
            buyer = order.get(
                "buyer.username",
                lambda v: values.text_value(v, limit=128, what="buyer username", required=False),
                raw["buyer"].get("username"),
            )
            email = order.get(
                "buyer.buyerRegistrationAddress.email",
                lambda v: values.text_value(v, limit=255, what="buyer email", required=False),
                _obj(raw["buyer"].get("buyerRegistrationAddress")).get("email"),
            )
    seller = order.get(
        "sellerId",
        lambda v: values.text_value(v, limit=64, what="seller id", required=False),
        raw.get("sellerId"),
    )

    pricing = raw.get("pricingSummary")
    total = None
    if not isinstance(pricing, dict):
        order.fail("pricingSummary", "missing: the order has no pricingSummary with a total")
    else:
        total = _amount(order, "pricingSummary.total", pricing.get("total"))
        if total is not None and total[0] < 0:
            order.fail("pricingSummary.total.value", f"the total must not be negative, got {total[0]}")
    currency = total[1] if total else None

    lines, marketplace = _parse_lines(order, raw.get("lineItems"), currency)
    refunded, last_refund = _refunded(order, raw, currency, payment)

    if order.errors or total is None or created is None or fulfillment is None or payment is None:
        return Rejected(tuple(_with_raw(order.errors, raw)))
    assert order.order_id is not None and currency is not None
    status = statuses.from_fulfillment_api(fulfillment, payment, cancel_state)
    total_amount = total[0]
    if status == "refunded":
        refunded_amount = total_amount
    elif status == "cancelled":
        refunded_amount = Decimal("0.00")
    else:
        refunded_amount = refunded
    if refunded_amount > total_amount:
        order.fail(
            "paymentSummary.refunds",
            f"refunds of {refunded_amount} exceed the order total of {total_amount}",
        )
        return Rejected(tuple(_with_raw(order.errors, raw)))
    updated = max(d for d in (created, modified, last_refund) if d is not None)
    return OrderRecord(
        ebay_order_id=order.order_id,
        status=status,
        total_amount=total_amount,
        refunded_amount=refunded_amount,
        currency=currency,
        order_date=created,
        updated_at=updated,
        lines=tuple(lines),
        buyer=buyer,
        buyer_email=email,
        seller_id=seller,
        marketplace=marketplace,
        source=Source(file, line),
    )


def _order_id(value: Any) -> str:
    text = values.text_value(value, limit=64, what="order id")
    assert text is not None
    return text


def _parse_lines(order: _Order, raw_lines: Any, currency: str | None) -> tuple[list[LineRecord], str | None]:
    if not isinstance(raw_lines, list) or not raw_lines:
        order.fail(
            "lineItems", "the order has no line items" if not raw_lines else "expected a list of line items"
        )
        return [], None
    lines: list[LineRecord] = []
    marketplace = None
    for n, raw in enumerate(raw_lines):
        path = f"lineItems[{n}]"
        if not isinstance(raw, dict):
            order.fail(path, f"expected a line item object, got {values._show(raw)}")
            continue
        before = len(order.errors)
        line_id = order.get(
            f"{path}.lineItemId",
            lambda v: values.text_value(v, limit=64, what="line item id", required=False),
            raw.get("lineItemId"),
        )
        item_id = order.get(
            f"{path}.legacyItemId",
            lambda v: values.text_value(v, limit=40, what="item id", required=False),
            raw.get("legacyItemId"),
        )
        sku = order.get(
            f"{path}.sku",
            lambda v: values.text_value(v, limit=80, what="SKU", required=False),
            raw.get("sku"),
        )
        if sku is None and item_id is not None:
            # eBay does not require SKUs; the listing's item (and variation) id names the product then
            variation = raw.get("legacyVariationId")
            if (
                isinstance(variation, str | int)
                and not isinstance(variation, bool | HugeNumber)
                and str(variation)
            ):
                sku = f"{item_id}-{variation}"[:80]
            else:
                sku = item_id
        if sku is None and len(order.errors) == before:
            order.fail(f"{path}.sku", "the line has neither a sku nor a legacyItemId to name its product")
        title = order.get(
            f"{path}.title", lambda v: values.text_value(v, limit=300, what="title"), raw.get("title")
        )
        quantity = order.get(f"{path}.quantity", values.quantity, raw.get("quantity"))
        cost = _amount(order, f"{path}.lineItemCost", raw.get("lineItemCost"))
        _amount(order, f"{path}.total", raw.get("total"), required=False)
        shares: list[tuple[int, Decimal]] = []  # (units, unit price) adding up to the line cost
        if cost is not None:
            if cost[0] < 0:
                order.fail(f"{path}.lineItemCost.value", f"the line cost must not be negative, got {cost[0]}")
            elif currency is not None and cost[1] != currency:
                order.fail(
                    f"{path}.lineItemCost.currency",
                    f"{cost[1]} differs from the order's currency {currency}",
                )
            elif quantity is not None:
                shares = split_cost(cost[0], quantity)
        listed = raw.get("listingMarketplaceId")
        if isinstance(listed, str) and listed.strip() and values.text_problem(listed, "site") is None:
            marketplace = marketplace or listed.strip()[:32]
        if len(order.errors) == before and sku and title and quantity and shares:
            lines.extend(
                LineRecord(sku=sku, title=title, quantity=units, unit_price=price, line_item_id=line_id)
                for units, price in shares
            )
    return lines, marketplace


def split_cost(cost: Decimal, quantity: int) -> list[tuple[int, Decimal]]:
    """A line's cost as (units, whole-cent unit price) parts that add up to it exactly.

    eBay's ``lineItemCost`` is the line's total; 10.00 for 3 units has no whole-cent unit price.
    Such a line is stored as two parts of one line item (same ``lineItemId``): 2 × 3.33 and
    1 × 3.34, so units and money stay exact to the cent without a column of its own for line
    totals (which needs a schema migration; see the report of issue 12).
    """
    cents = int(cost * 100)
    unit, rest = divmod(cents, quantity)
    parts = [(quantity - rest, Decimal(unit) / 100), (rest, Decimal(unit + 1) / 100)]
    return [(units, price.quantize(Decimal("0.01"))) for units, price in parts if units]


def _refunded(
    order: _Order, raw: dict[str, Any], currency: str | None, payment: str | None
) -> tuple[Decimal, dt.datetime | None]:
    """Completed refunds of both levels, each once; and when the latest of them was issued.

    A line-level refund without a ``refundDate`` still counts when the order says it was refunded
    (``orderPaymentStatus`` PARTIALLY_REFUNDED or FULLY_REFUNDED) and lists no order-level refunds
    that could say otherwise: the line items' refunds are then all the order tells of it.
    """
    given: list[tuple[str, Any, bool]] = []  # (path, refunds, order level)
    order_level = _obj(raw.get("paymentSummary")).get("refunds")
    undated_lines_count = not order_level and payment in ("PARTIALLY_REFUNDED", "FULLY_REFUNDED")
    if order_level:
        given.append(("paymentSummary.refunds", order_level, True))
    for n, item in enumerate(raw.get("lineItems") or []):
        if isinstance(item, dict) and item.get("refunds"):
            given.append((f"lineItems[{n}].refunds", item["refunds"], False))
    counted: dict[Any, Decimal] = {}
    latest: dt.datetime | None = None
    for path, refunds, is_order_level in given:
        if not isinstance(refunds, list):
            order.fail(path, "expected a list of refunds")
            continue
        for n, refund in enumerate(refunds):
            where = f"{path}[{n}]"
            if not isinstance(refund, dict):
                order.fail(where, "expected a refund object")
                continue
            status = refund.get("refundStatus") if is_order_level else None
            if status is not None and status not in statuses.REFUND_STATES:
                order.fail(
                    f"{where}.refundStatus",
                    f"expected one of {', '.join(statuses.REFUND_STATES)}, got {values._show(status)}",
                )
                continue
            date = None
            if refund.get("refundDate") is not None:
                date = order.get(f"{where}.refundDate", values.iso_instant, refund.get("refundDate"))
            refund_id = refund.get("refundId")
            if isinstance(refund_id, str) and refund_id.strip():
                key: Any = ("id", refund_id.strip())
            elif date is not None:
                key = ("date", date, json.dumps(refund.get("amount"), sort_keys=True, default=str))
            else:
                key = ("position", path, n)
            if key in counted:
                continue  # the same refund, listed again (order-level copies come first)
            if status is not None:
                done = status == "REFUNDED"
            else:
                done = date is not None or (not is_order_level and undated_lines_count)
            if not done:
                counted[key] = Decimal("0.00")  # pending or failed: not money back (yet)
                continue
            amount = _amount(order, f"{where}.amount", refund.get("amount"))
            if amount is None:
                continue
            if currency is not None and amount[1] != currency:
                order.fail(
                    f"{where}.amount.currency", f"{amount[1]} differs from the order's currency {currency}"
                )
            elif amount[0] < 0:
                order.fail(f"{where}.amount.value", f"a refund must not be negative, got {amount[0]}")
            else:
                counted[key] = amount[0]
                if date is not None and (latest is None or date > latest):
                    latest = date
    return sum(counted.values(), Decimal("0.00")), latest


def _with_raw(errors: list[RowError], raw: Any) -> list[RowError]:
    """Attach the order's JSON to its first error, for the rejects file."""
    if not errors:
        return errors
    text = json.dumps(raw, default=str, ensure_ascii=False, separators=(",", ":"))
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > 20_000:
        text = text[:20_000] + "…"
    first = errors[0]
    return [
        RowError(first.file, first.line, first.field, first.reason, first.order_id, text),
        *errors[1:],
    ]

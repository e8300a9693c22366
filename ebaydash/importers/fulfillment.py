"""Sell Fulfillment API ``getOrders`` responses: one JSON file per page (``orders[]``, ``total``,
``next`` …), or a single order as ``getOrder`` returns it.

The page is read element by element, so every order knows the line it starts on (errors name it)
and a file cut short still yields the orders before the cut (reported, never silently dropped).
Numbers are parsed as ``Decimal``, never float.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from ebaydash.importers import statuses, values
from ebaydash.importers.records import ParsedFile, RowError
from ebaydash.importers.values import ValueProblem
from ebaydash.models import LineRecord, OrderRecord, Source

FORMAT = "fulfillment-json"
_DECODER = json.JSONDecoder(parse_float=Decimal)
_WHITESPACE = re.compile(r"[ \t\n\r]*")
T = TypeVar("T")


class _Broken(Exception):
    """The JSON text itself is malformed at ``offset``."""

    def __init__(self, offset: int, reason: str, *, syntax: bool = True) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason
        self.syntax = syntax  # False: valid JSON, but not shaped like a getOrders page


def looks_like(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


def parse(name: str, text: str) -> ParsedFile:
    result = ParsedFile(name=name, format=FORMAT)
    lines = _LineCounter(text)
    try:
        header, elements, broken = _read_page(text)
    except _Broken as exc:
        line, column = lines.position(exc.offset)
        result.readable = False
        reason = (
            f"this is not valid JSON ({exc.reason} at column {column})"
            if exc.syntax
            else f"this JSON is not a getOrders page: {exc.reason}"
        )
        result.errors.append(RowError(name, line, None, reason))
        return result
    if header.get("_single_order"):
        header = {}
    for offset, order in elements:
        result.orders_found += 1
        result.rows_read += 1
        line = lines.line_of(offset)
        record, errors = _parse_order(name, line, result.orders_found - 1, order)
        if record is not None:
            result.orders.append(record)
        result.errors.extend(errors)
    if broken is not None:
        line, column = lines.position(broken.offset)
        result.errors.append(
            RowError(
                name,
                line,
                None,
                f"the file ends early or is damaged ({broken.reason} at column {column}); "
                f"{len(elements)} complete order(s) were read before this point, "
                "any after it are missing — download the page again",
            )
        )
    _check_page_fields(name, header, result)
    sellers = {o.seller_id for o in result.orders if o.seller_id}
    if len(sellers) == 1:
        result.seller_id = sellers.pop()
    return result


def _check_page_fields(name: str, header: dict[str, Any], result: ParsedFile) -> None:
    total = header.get("total")
    if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
        result.declared_total = total


# -- reading the page ---------------------------------------------------------------------------


def _read_page(text: str) -> tuple[dict[str, Any], list[tuple[int, Any]], _Broken | None]:
    """The page's top-level fields, its orders with their offsets, and where it broke (if it did).

    Raises :class:`_Broken` when nothing usable could be read.
    """
    pos = _skip(text, 0)
    if text[pos : pos + 1] != "{":
        raise _Broken(pos, 'expected a getOrders page: an object with an "orders" list', syntax=False)
    header: dict[str, Any] = {}
    elements: list[tuple[int, Any]] = []
    saw_orders = False
    try:
        pos = _skip(text, pos + 1)
        if text[pos : pos + 1] == "}":
            pos += 1
        else:
            while True:
                pos = _skip(text, pos)
                if text[pos : pos + 1] != '"':
                    raise _Broken(pos, "expected a field name in double quotes")
                key, pos = _decode(text, pos)
                pos = _expect(text, pos, ":")
                if key == "orders" and text[pos : pos + 1] == "[":
                    saw_orders = True
                    pos = _read_orders(text, pos + 1, elements)
                else:
                    header[str(key)], pos = _decode(text, pos)
                pos = _skip(text, pos)
                char = text[pos : pos + 1]
                if char == ",":
                    pos += 1
                    continue
                if char == "}":
                    pos += 1
                    break
                raise _Broken(pos, "expected , or } after a field")
        pos = _skip(text, pos)
        if pos != len(text):
            raise _Broken(pos, "unexpected text after the end of the page")
    except _Broken as exc:
        if saw_orders or elements:
            return header, elements, exc
        raise
    if not saw_orders:
        if "orderId" in header:  # a single order, as getOrder returns it
            return {"_single_order": True}, [(_skip(text, 0), header)], None
        raise _Broken(0, 'it has no "orders" list (nor an "orderId", as a single order would)', syntax=False)
    return header, elements, None


def _read_orders(text: str, pos: int, elements: list[tuple[int, Any]]) -> int:
    pos = _skip(text, pos)
    if text[pos : pos + 1] == "]":
        return pos + 1
    while True:
        pos = _skip(text, pos)
        start = pos
        value, pos = _decode(text, pos)
        elements.append((start, value))
        pos = _skip(text, pos)
        char = text[pos : pos + 1]
        if char == ",":
            pos += 1
        elif char == "]":
            return pos + 1
        else:
            raise _Broken(pos, "expected , or ] between orders")


def _decode(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise _Broken(exc.pos, exc.msg.lower()) from None
    except RecursionError:
        raise _Broken(pos, "too deeply nested") from None


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _expect(text: str, pos: int, char: str) -> int:
    pos = _skip(text, pos)
    if text[pos : pos + 1] != char:
        raise _Broken(pos, f"expected {char!r}")
    return _skip(text, pos + 1)


class _LineCounter:
    """Line numbers of increasing offsets, counted incrementally (files can be large)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0
        self.line = 1

    def line_of(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line

    def position(self, offset: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, column


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
            shown = f"{value!r}" if value is not None else "nothing"
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


def _parse_order(file: str, line: int, index: int, raw: Any) -> tuple[OrderRecord | None, list[RowError]]:
    order = _Order(file, line, index, raw)
    if not isinstance(raw, dict):
        order.fail("", f"expected an order object, got {values._show(raw)}")
        return None, _with_raw(order.errors, raw)
    order.order_id = order.get("orderId", _order_id, raw.get("orderId"))
    created = order.get("creationDate", values.iso_instant, raw.get("creationDate"))
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
    refunded = _refunded(order, raw, currency)

    if order.errors or total is None or created is None or fulfillment is None or payment is None:
        return None, _with_raw(order.errors, raw)
    assert order.order_id is not None and currency is not None
    status = statuses.from_fulfillment_api(fulfillment, payment, cancel_state)
    total_amount = total[0]
    if status == "refunded":
        refunded_amount = total_amount
    elif status == "cancelled":
        refunded_amount = Decimal("0.00")
    elif payment == "PARTIALLY_REFUNDED":
        refunded_amount = refunded
    else:
        refunded_amount = Decimal("0.00")
    if refunded_amount > total_amount:
        order.fail(
            "paymentSummary.refunds",
            f"refunds of {refunded_amount} exceed the order total of {total_amount}",
        )
        return None, _with_raw(order.errors, raw)
    updated = max(created, modified) if modified else created
    return (
        OrderRecord(
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
        ),
        [],
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
            sku = f"{item_id}-{variation}" if isinstance(variation, str | int) and str(variation) else item_id
        if sku is None and len(order.errors) == before:
            order.fail(f"{path}.sku", "the line has neither a sku nor a legacyItemId to name its product")
        title = order.get(
            f"{path}.title", lambda v: values.text_value(v, limit=300, what="title"), raw.get("title")
        )
        quantity = order.get(f"{path}.quantity", values.quantity, raw.get("quantity"))
        cost = _amount(order, f"{path}.lineItemCost", raw.get("lineItemCost"))
        _amount(order, f"{path}.total", raw.get("total"), required=False)
        unit_price = None
        if cost is not None:
            if cost[0] < 0:
                order.fail(f"{path}.lineItemCost.value", f"the line cost must not be negative, got {cost[0]}")
            elif currency is not None and cost[1] != currency:
                order.fail(
                    f"{path}.lineItemCost.currency",
                    f"{cost[1]} differs from the order's currency {currency}",
                )
            elif quantity is not None:
                unit_price = (cost[0] / quantity).quantize(Decimal("0.01"))
                if unit_price * quantity != cost[0]:
                    order.fail(
                        f"{path}.lineItemCost.value",
                        f"{cost[0]} is not {quantity} × a whole-cent unit price",
                    )
                    unit_price = None
        market = raw.get("purchaseMarketplaceId") or raw.get("listingMarketplaceId")
        if isinstance(market, str) and market.strip():
            marketplace = marketplace or market.strip()[:32]
        if len(order.errors) == before and sku and title and quantity and unit_price is not None:
            lines.append(
                LineRecord(
                    sku=sku, title=title, quantity=quantity, unit_price=unit_price, line_item_id=line_id
                )
            )
    return lines, marketplace


def _refunded(order: _Order, raw: dict[str, Any], currency: str | None) -> Decimal:
    """Completed refunds: paymentSummary.refunds when present, else the line items' refunds."""
    payment_refunds = _obj(raw.get("paymentSummary")).get("refunds")
    if payment_refunds:
        sources: list[tuple[str, Any]] = [("paymentSummary.refunds", payment_refunds)]
    else:
        sources = [
            (f"lineItems[{n}].refunds", item.get("refunds"))
            for n, item in enumerate(raw.get("lineItems") or [])
            if isinstance(item, dict) and item.get("refunds")
        ]
    total = Decimal("0.00")
    for path, refunds in sources:
        if not isinstance(refunds, list):
            order.fail(path, "expected a list of refunds")
            continue
        for n, refund in enumerate(refunds):
            if not isinstance(refund, dict):
                order.fail(f"{path}[{n}]", "expected a refund object")
                continue
            if refund.get("refundStatus") not in statuses.REFUND_STATES_COUNTED:
                continue
            amount = _amount(order, f"{path}[{n}].amount", refund.get("amount"))
            if amount is None:
                continue
            if currency is not None and amount[1] != currency:
                order.fail(
                    f"{path}[{n}].amount.currency",
                    f"{amount[1]} differs from the order's currency {currency}",
                )
            elif amount[0] < 0:
                order.fail(f"{path}[{n}].amount.value", f"a refund must not be negative, got {amount[0]}")
            else:
                total += amount[0]
    return total


def _with_raw(errors: list[RowError], raw: Any) -> list[RowError]:
    """Attach the order's JSON to its first error, for the rejects file."""
    if not errors:
        return errors
    text = json.dumps(raw, default=str, ensure_ascii=False, separators=(",", ":"))
    first = errors[0]
    return [
        RowError(first.file, first.line, first.field, first.reason, first.order_id, text),
        *errors[1:],
    ]

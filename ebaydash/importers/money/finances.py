"""Finances API pages: ``getTransactions`` (``transactions[]``) and ``getPayouts`` (``payouts[]``,
or one payout as ``getPayout`` returns it), one JSON file per page.

Field meanings follow eBay's Finances API reference (``Transaction``, ``OrderLineItem``, ``Fee``,
``Amount``, ``Payout`` types); what we assume where it is silent:

- ``amount`` is the net amount, always given as a positive value; ``bookingEntry`` says whether
  it is a CREDIT to the seller or a DEBIT. Its ``currency`` is the payout currency; when eBay
  converted, ``convertedFromValue``/``convertedFromCurrency`` hold the amount in the transaction
  currency and ``exchangeRate`` the rate (``value = convertedFromValue × exchangeRate``).
- ``totalFeeBasisAmount`` is the gross (before fees, without eBay-collected tax) and
  ``totalFeeAmount`` the fees, so ``amount = totalFeeBasisAmount - totalFeeAmount``; the fees
  by type are the line items' ``marketplaceFees`` (their sum must equal ``totalFeeAmount``) and
  their ``donations`` (booked as ``CHARITY_DONATION``). On a SALE the gross is money in and the
  fees are costs, also when they exceed the gross and the sale is a DEBIT; on a REFUND the gross
  is money out and the fees are credits (fees eBay returns); other types point the way their
  ``bookingEntry`` does.
- A NON_SALE_CHARGE (Promoted Listings and other fees billed on their own) is one fee of its
  ``feeType``: the amount is the fee, the gross 0.
- A SALE's ``transactionId`` is its order's id (public parsers of real answers show them equal);
  other transactions name their order in ``orderId`` or in ``references[]`` (``ORDER_ID``), and a
  fee's listing in ``references[]`` (``ITEM_ID``).

Numbers are read as ``Decimal`` (never float); ``NaN``/``Infinity`` are refused. Every element
knows the line it starts on, and a page cut short keeps the elements before the cut (reported).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from ebaydash.importers import values
from ebaydash.importers.money import fees as fee_types
from ebaydash.importers.money import sniff
from ebaydash.importers.money.records import ZERO, MoneyFile, MoneyLine, MoneyTransaction, Payout, fee_tuple
from ebaydash.importers.money.text import checked_text
from ebaydash.importers.money.wordings import PAYOUT_STATES, api_rate
from ebaydash.importers.records import RowError
from ebaydash.importers.values import ValueProblem
from ebaydash.models import Source

T = TypeVar("T")
CENT = Decimal("0.01")

TRANSACTION_TYPES: dict[str, str] = {
    "SALE": "sale",
    "REFUND": "refund",
    "CREDIT": "credit",
    "DISPUTE": "dispute",
    "NON_SALE_CHARGE": "non_sale_charge",
    "SHIPPING_LABEL": "shipping_label",
    "TRANSFER": "transfer",
    "BALANCE_TRANSFER": "balance_transfer",
    "ADJUSTMENT": "adjustment",
    "WITHDRAWAL": "withdrawal",
    "LOAN_REPAYMENT": "loan_repayment",
    "PURCHASE": "purchase",
}
"""eBay's TransactionTypeEnum → our type (anything else is kept as ``other`` with a note)."""

DIRECTIONS: dict[str, int] = {"SALE": 1, "REFUND": -1}
"""The way a type's gross and line fees point (+1: gross in, fees costs), whatever its
``bookingEntry``; types not listed point the way their booking entry does."""


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _integer(text: str) -> int | Decimal:
    # Python refuses to turn more than 4,300 digits into an int; a Decimal takes them, and the
    # value checks then say the number is too large
    return int(text) if len(text) <= 30 else Decimal(text)


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=_integer, parse_constant=_no_constants)
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _Broken(Exception):
    def __init__(self, offset: int, reason: str, *, syntax: bool = True) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason
        self.syntax = syntax


def parse_transactions(name: str, text: str, *, zone: ZoneInfo) -> MoneyFile:
    """Read one ``getTransactions`` page; problems come back in the result."""
    return _parse(name, text, sniff.TRANSACTIONS_JSON, "transactions", zone)


def parse_payouts(name: str, text: str, *, zone: ZoneInfo) -> MoneyFile:
    """Read one ``getPayouts`` page (or one ``getPayout`` answer)."""
    return _parse(name, text, sniff.PAYOUTS_JSON, "payouts", zone)


def _parse(name: str, text: str, kind: str, key: str, zone: ZoneInfo) -> MoneyFile:
    result = MoneyFile(name=name, format=kind)
    lines = _LineCounter(text)
    try:
        header, elements, broken = _read_page(text, key)
    except _Broken as exc:
        line, column = lines.position(exc.offset)
        result.readable = False
        what = "getTransactions" if key == "transactions" else "getPayouts"
        reason = (
            f"this is not valid JSON ({exc.reason} at column {column})"
            if exc.syntax
            else f"this JSON is not a {what} page: {exc.reason}"
        )
        result.errors.append(RowError(name, line, None, reason))
        return result
    read = _transaction if key == "transactions" else _payout
    for index, (offset, element) in enumerate(elements):
        result.records_found += 1
        result.rows_read += 1
        element_errors: list[RowError] = []
        record = read(_Element(name, lines.line_of(offset), f"{key}[{index}]", element_errors), element, zone)
        if record is None or element_errors:
            result.errors.extend(_with_raw(element_errors, element))
        elif isinstance(record, MoneyTransaction):
            result.transactions.append(record)
        else:
            result.payouts.append(record)
    if broken is not None:
        line, column = lines.position(broken.offset)
        result.errors.append(
            RowError(
                name,
                line,
                None,
                f"the file ends early or is damaged ({broken.reason} at column {column}); "
                f"{len(elements)} complete element(s) were read before this point, any after it are "
                "missing — download the page again",
            )
        )
    total = header.get("total")
    if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
        result.declared_total = total
    unknown = sorted({t.ebay_type for t in result.transactions if t.type == "other"})
    for word in unknown:
        result.warnings.append(
            f"{name}: transactions of type {word!r}, a type ebaydash does not know, were kept as 'other'"
        )
    return result


# -- reading the page ---------------------------------------------------------------------------


def _read_page(text: str, key: str) -> tuple[dict[str, Any], list[tuple[int, Any]], _Broken | None]:
    """The page's other top-level fields, its ``key`` list's elements with their offsets, and
    where it broke. A lone payout object (``getPayout``) is one element."""
    pos = _skip(text, 0)
    if text[pos : pos + 1] != "{":
        raise _Broken(pos, f'expected an object with a "{key}" list', syntax=False)
    header: dict[str, Any] = {}
    elements: list[tuple[int, Any]] = []
    saw_list = False
    try:
        pos = _skip(text, pos + 1)
        if text[pos : pos + 1] == "}":
            pos += 1
        else:
            while True:
                pos = _skip(text, pos)
                if text[pos : pos + 1] != '"':
                    raise _Broken(pos, "expected a field name in double quotes")
                name, pos = _decode(text, pos)
                pos = _expect(text, pos, ":")
                if name == key and text[pos : pos + 1] == "[":
                    saw_list = True
                    pos = _read_list(text, pos + 1, elements)
                else:
                    header[str(name)], pos = _decode(text, pos)
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
        if saw_list or elements:
            return header, elements, exc
        raise
    if not saw_list:
        if key == "payouts" and "payoutId" in header:
            return {}, [(_skip(text, 0), header)], None
        raise _Broken(0, f'it has no "{key}" list', syntax=False)
    return header, elements, None


def _read_list(text: str, pos: int, elements: list[tuple[int, Any]]) -> int:
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
            raise _Broken(pos, "expected , or ] between elements")


def _decode(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise _Broken(exc.pos, exc.msg.lower()) from None
    except ValueError as exc:  # NaN/Infinity
        raise _Broken(pos, str(exc)) from None
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
    """Line numbers of increasing offsets, counted incrementally (pages can be large)."""

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


# -- one element --------------------------------------------------------------------------------


@dataclass
class _Element:
    """Collects every problem of one list element instead of stopping at the first."""

    file: str
    line: int
    prefix: str
    errors: list[RowError]
    order_id: str | None = None

    def fail(self, path: str, reason: str) -> None:
        where = f"{self.prefix}.{path}" if path else self.prefix
        self.errors.append(RowError(self.file, self.line, where, reason, self.order_id))

    def get(self, path: str, parse: Callable[[Any], T], value: Any) -> T | None:
        try:
            return parse(value)
        except ValueProblem as exc:
            self.fail(path, str(exc))
            return None

    def text(self, path: str, value: Any, *, limit: int, what: str, required: bool = False) -> str | None:
        return self.get(path, lambda v: checked_text(v, limit=limit, what=what, required=required), value)


@dataclass(frozen=True, slots=True)
class _Amount:
    """An eBay Amount: ``value`` in ``currency``, and the pre-conversion value when converted."""

    value: Decimal
    currency: str
    original: Decimal | None = None
    original_currency: str | None = None
    rate: Decimal | None = None

    def in_currency(self, currency: str) -> Decimal | None:
        if self.currency == currency:
            return self.value
        if self.original_currency == currency:
            return self.original
        return None


_PLAIN_NUMBER = re.compile(r"\s*-?\d{1,20}(\.\d{1,20})?\s*")


def _money(value: Any) -> Decimal:
    """:func:`values.money`, after refusing what it cannot take: exponents so large that the
    comparison with the largest amount overflows (``1e999999999``), and numbers longer than any
    amount."""
    if isinstance(value, Decimal) and (not value.is_finite() or value.adjusted() > 20):
        raise ValueProblem(f"{value} is larger than the largest amount supported ({values.MAX_MONEY:,})")
    if isinstance(value, str) and not _PLAIN_NUMBER.fullmatch(value):
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise ValueProblem(f'{shown!r} is not an amount (expected e.g. "12.34")')
    return values.money(value)


def _amount(element: _Element, path: str, raw: Any, *, required: bool) -> _Amount | None:
    if raw is None and not required:
        return None
    if not isinstance(raw, dict):
        element.fail(path, 'expected an amount object like {"value": "12.34", "currency": "USD"}' + _got(raw))
        return None
    value = element.get(f"{path}.value", _money, raw.get("value"))
    currency = element.get(f"{path}.currency", values.currency_code, raw.get("currency"))
    original = original_currency = rate = None
    if raw.get("convertedFromCurrency") is not None or raw.get("convertedFromValue") is not None:
        original = element.get(f"{path}.convertedFromValue", _money, raw.get("convertedFromValue"))
        original_currency = element.get(
            f"{path}.convertedFromCurrency", values.currency_code, raw.get("convertedFromCurrency")
        )
        if raw.get("exchangeRate") is not None:
            rate = element.get(f"{path}.exchangeRate", api_rate, raw.get("exchangeRate"))
    if value is None or currency is None:
        return None
    return _Amount(value, currency, original, original_currency, rate)


def _got(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "nothing"}
    return f", got {kinds.get(type(value), 'a number')}"


def _transaction(element: _Element, raw: Any, zone: ZoneInfo) -> MoneyTransaction | None:
    if not isinstance(raw, dict):
        element.fail("", "expected a transaction object" + _got(raw))
        return None
    transaction_id = element.text(
        "transactionId", raw.get("transactionId"), limit=64, what="transaction id", required=True
    )
    order_id = element.text("orderId", raw.get("orderId"), limit=64, what="order id")
    item_id = None
    references = raw.get("references")
    if references is not None and not isinstance(references, list):
        element.fail("references", "expected a list of references" + _got(references))
    for n, reference in enumerate(references if isinstance(references, list) else []):
        if not isinstance(reference, dict):
            element.fail(f"references[{n}]", "expected a reference object" + _got(reference))
            continue
        reference_type = reference.get("referenceType")
        ref = element.text(
            f"references[{n}].referenceId", reference.get("referenceId"), limit=64, what="reference id"
        )
        if reference_type == "ORDER_ID" and order_id is None:
            order_id = ref
        elif reference_type == "ITEM_ID" and item_id is None:
            item_id = ref
    element.order_id = order_id

    ebay_type = element.text(
        "transactionType", raw.get("transactionType"), limit=64, what="transaction type", required=True
    )
    notes: list[str] = []
    kind = TRANSACTION_TYPES.get(ebay_type or "")
    if kind is None:
        kind = "other"
        if ebay_type:
            notes.append(f"eBay's type {ebay_type!r} is not one ebaydash knows; kept as 'other'")
    booking = raw.get("bookingEntry")
    if booking not in ("CREDIT", "DEBIT"):
        element.fail(
            "bookingEntry",
            "expected CREDIT or DEBIT"
            + (_got(booking) if booking is None else f", got {str(booking)[:40]!r}"),
        )
    instant = element.get("transactionDate", values.iso_instant, raw.get("transactionDate"))
    payout_id = element.text("payoutId", raw.get("payoutId"), limit=64, what="payout id")
    status = element.text(
        "transactionStatus", raw.get("transactionStatus"), limit=64, what="transaction status"
    )
    memo = element.text("transactionMemo", raw.get("transactionMemo"), limit=1000, what="transaction memo")
    buyer = None
    if isinstance(raw.get("buyer"), dict):
        buyer = element.text("buyer.username", raw["buyer"].get("username"), limit=128, what="buyer username")

    amount = _amount(element, "amount", raw.get("amount"), required=True)
    basis = _amount(element, "totalFeeBasisAmount", raw.get("totalFeeBasisAmount"), required=False)
    total_fee = _amount(element, "totalFeeAmount", raw.get("totalFeeAmount"), required=False)
    tax_key = "eBayCollectedTaxAmount" if "eBayCollectedTaxAmount" in raw else "ebayCollectedTaxAmount"
    tax = _amount(element, tax_key, raw.get(tax_key), required=False)
    if (
        amount is None
        or instant is None
        or booking not in ("CREDIT", "DEBIT")
        or transaction_id is None
        or ebay_type is None
    ):
        _lines(element, raw.get("orderLineItems"), None, 1)  # still report the lines' problems
        return None

    payout_currency = amount.currency
    currency = amount.original_currency or amount.currency
    rate = amount.rate if amount.original_currency else None
    if amount.original_currency and rate is None:
        element.fail(
            "amount.exchangeRate", f"the amount was converted from {currency} but has no exchange rate"
        )
    sign = 1 if booking == "CREDIT" else -1
    # which way the gross and the line fees point: a sale's fees are costs even when they exceed
    # its gross (a DEBIT), a refund's are credits; for other types, the booking entry's way
    direction = DIRECTIONS.get(ebay_type or "", sign)
    net_in_transaction = amount.in_currency(currency)
    for path, given in (("amount.value", amount), ("totalFeeBasisAmount.value", basis)):
        if given is not None and given.value < 0:
            element.fail(
                path, f"expected a positive amount (bookingEntry gives the direction), got {given.value}"
            )

    def in_currency(path: str, money: _Amount | None) -> Decimal | None:
        if money is None:
            return None
        value = money.in_currency(currency)
        if value is None:
            element.fail(
                f"{path}.currency", f"{money.currency} differs from the transaction's currency {currency}"
            )
        return value

    lines, marketplace_total, donation_total = _lines(element, raw.get("orderLineItems"), currency, direction)
    total_fees: dict[str, Decimal] = {}
    for line in lines:
        for line_code, value in line.fees:
            total_fees[line_code] = total_fees.get(line_code, ZERO) + value
    fee_total = in_currency("totalFeeAmount", total_fee)
    gross_value = in_currency("totalFeeBasisAmount", basis)

    if kind == "non_sale_charge":
        code = raw.get("feeType")
        if isinstance(code, str) and fee_types.is_fee_code(code):
            pass
        elif code is None:
            code = fee_types.OTHER_FEES
            notes.append("eBay gave this charge no feeType; booked as OTHER_FEES")
        else:
            element.fail("feeType", "expected a fee type code such as AD_FEE" + _got(code))
            code = fee_types.OTHER_FEES
        if net_in_transaction is not None:
            total_fees[code] = total_fees.get(code, ZERO) - sign * net_in_transaction
        gross = ZERO
    else:
        if fee_total is not None and fee_total != 0 and not lines:
            total_fees[fee_types.UNITEMISED] = direction * fee_total
            notes.append("eBay gave a total fee without the fees by line; booked as UNITEMISED")
        elif fee_total is not None and fee_total not in (
            marketplace_total,
            marketplace_total + donation_total,
        ):
            element.fail(
                "totalFeeAmount.value",
                f"the total fee {fee_total} is not the lines' marketplaceFees summed ({marketplace_total})",
            )
        if gross_value is not None:
            gross = direction * gross_value
        elif net_in_transaction is not None:
            gross = sign * net_in_transaction + sum(total_fees.values(), ZERO)
        else:
            gross = ZERO
    fees = fee_tuple(total_fees)

    if net_in_transaction is not None and gross_value is not None:
        expected = gross - sum(total_fees.values(), ZERO)
        if expected != sign * net_in_transaction:
            element.fail(
                "amount.value",
                f"the amounts do not add up: totalFeeBasisAmount {gross_value} - fees "
                f"{sum(total_fees.values(), ZERO) * direction} = {expected * direction}, but the amount is "
                f"{net_in_transaction} {currency} ({booking})",
            )
    if rate is not None and net_in_transaction is not None:
        converted = (net_in_transaction * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        if abs(converted - amount.value) > CENT:
            element.fail(
                "amount.value",
                f"{net_in_transaction} {currency} × {rate} is {converted} {payout_currency}, but the amount "
                f"is {amount.value} {payout_currency}",
            )
    if element.errors:
        return None
    net = sign * amount.value
    return MoneyTransaction(
        transaction_id=transaction_id,
        type=kind,
        booking_entry=booking,
        booked_on=instant.astimezone(zone).date(),
        gross=gross,
        fees=fees,
        net=net,
        currency=currency,
        payout_currency=payout_currency,
        exchange_rate=rate,
        order_id=order_id,
        payout_id=payout_id,
        lines=tuple(sorted(lines, key=lambda li: li.line_item_id or "")),
        transaction_date=instant,
        time_known=True,
        ebay_type=ebay_type,
        status=status,
        item_id=item_id,
        buyer=buyer,
        memo=memo,
        ebay_collected_tax=tax.in_currency(currency) if tax is not None else None,
        notes=tuple(notes),
        source=Source(element.file, element.line),
    )


def _lines(
    element: _Element, raw_lines: Any, currency: str | None, direction: int
) -> tuple[list[MoneyLine], Decimal, Decimal]:
    """The order lines with their signed fees, and the unsigned sums of marketplace fees and of
    donations (to compare with ``totalFeeAmount``)."""
    if raw_lines is None:
        return [], ZERO, ZERO
    if not isinstance(raw_lines, list):
        element.fail("orderLineItems", "expected a list of order line items" + _got(raw_lines))
        return [], ZERO, ZERO
    lines: list[MoneyLine] = []
    marketplace = donations = ZERO
    for n, raw in enumerate(raw_lines):
        path = f"orderLineItems[{n}]"
        if not isinstance(raw, dict):
            element.fail(path, "expected an order line item object" + _got(raw))
            continue
        line_id = element.text(f"{path}.lineItemId", raw.get("lineItemId"), limit=64, what="line item id")
        fees: dict[str, Decimal] = {}
        for group in ("marketplaceFees", "donations"):
            entries = raw.get(group)
            if entries is None:
                continue
            if not isinstance(entries, list):
                element.fail(f"{path}.{group}", "expected a list of fees" + _got(entries))
                continue
            for m, fee in enumerate(entries):
                fee_path = f"{path}.{group}[{m}]"
                if not isinstance(fee, dict):
                    element.fail(fee_path, "expected a fee object" + _got(fee))
                    continue
                code = fee.get("feeType")
                if group == "donations":
                    code = fee_types.CHARITY_DONATION
                elif not isinstance(code, str) or not fee_types.is_fee_code(code):
                    element.fail(
                        f"{fee_path}.feeType", "expected a fee type code such as FINAL_VALUE_FEE" + _got(code)
                    )
                    continue
                money = _amount(element, f"{fee_path}.amount", fee.get("amount"), required=True)
                if money is None or currency is None:
                    continue
                value = money.in_currency(currency)
                if value is None:
                    element.fail(
                        f"{fee_path}.amount.currency",
                        f"{money.currency} differs from the transaction's currency {currency}",
                    )
                    continue
                fees[code] = fees.get(code, ZERO) + direction * value
                if group == "donations":
                    donations += value
                else:
                    marketplace += value
        lines.append(MoneyLine(line_item_id=line_id, fees=fee_tuple(fees)))
    return lines, marketplace, donations


def _payout(element: _Element, raw: Any, zone: ZoneInfo) -> Payout | None:
    if not isinstance(raw, dict):
        element.fail("", "expected a payout object" + _got(raw))
        return None
    payout_id = element.text("payoutId", raw.get("payoutId"), limit=64, what="payout id", required=True)
    status = raw.get("payoutStatus")
    if status is not None and status not in PAYOUT_STATES:
        element.fail("payoutStatus", f"expected one of {', '.join(PAYOUT_STATES)}" + _got(status))
    instant = element.get("payoutDate", values.iso_instant, raw.get("payoutDate"))
    amount = _amount(element, "amount", raw.get("amount"), required=True)
    if amount is not None and amount.value < 0:
        element.fail("amount.value", f"a payout cannot be negative, got {amount.value}")
    fee = _amount(element, "totalFee", raw.get("totalFee"), required=False)
    count = raw.get("transactionCount")
    if count is not None and (
        isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10**9
    ):
        element.fail("transactionCount", "expected a whole number of transactions" + _got(count))
        count = None
    instrument = None
    if isinstance(raw.get("payoutInstrument"), dict):
        parts = [
            element.text(f"payoutInstrument.{key}", raw["payoutInstrument"].get(key), limit=64, what=key)
            for key in ("instrumentType", "nickname", "accountLastFourDigits")
        ]
        if parts[2]:
            parts[2] = "••••" + parts[2]
        instrument = " ".join(p for p in parts if p) or None
    if element.errors or payout_id is None or instant is None or amount is None:
        return None
    return Payout(
        payout_id=payout_id,
        amount=amount.value,
        currency=amount.currency,
        paid_on=instant.astimezone(zone).date(),
        status=status,
        payout_date=instant,
        time_known=True,
        instrument=instrument,
        transaction_count=count,
        fee=fee.value if fee is not None else None,
        source=Source(element.file, element.line),
    )


def _with_raw(errors: list[RowError], raw: Any) -> list[RowError]:
    """Attach the element's JSON to its first error, for the rejects file."""
    if not errors:
        return errors
    text = json.dumps(raw, default=str, ensure_ascii=True, separators=(",", ":"))
    first = errors[0]
    return [RowError(first.file, first.line, first.field, first.reason, first.order_id, text), *errors[1:]]

"""eBay's order states mapped onto ours (:data:`~ebaydash.db.schema.ORDER_STATUSES`).

The Fulfillment API describes an order with three independent enums. We keep one status, chosen
in this order of precedence, and keep refunds as an amount (as the demo data does):

- ``cancelStatus.cancelState == CANCELED``             → ``cancelled`` (refunded amount 0: a
  cancelled order never counts as revenue, so its refund would be counted twice)
- ``orderPaymentStatus == FULLY_REFUNDED``             → ``refunded``, refunded amount = total
- ``orderFulfillmentStatus == FULFILLED``              → ``shipped`` (getOrders does not say
  whether a parcel arrived, so we never claim ``delivered``)
- ``orderFulfillmentStatus == IN_PROGRESS``            → ``paid`` (part of it has shipped)
- ``NOT_STARTED`` and ``orderPaymentStatus == PAID``   → ``paid``
- anything else (payment ``PENDING`` or ``FAILED``)    → ``pending``

``PARTIALLY_REFUNDED`` keeps the status from the fulfillment state (the buyer kept the order). Any
order that is neither cancelled nor fully refunded takes its refunded amount from the data: the
completed refunds of ``paymentSummary.refunds`` and ``lineItems[].refunds`` together, each refund
once (see :mod:`ebaydash.importers.fulfillment`).
"""

from __future__ import annotations

FULFILLMENT_STATES = ("FULFILLED", "IN_PROGRESS", "NOT_STARTED")
PAYMENT_STATES = ("PAID", "PENDING", "FAILED", "FULLY_REFUNDED", "PARTIALLY_REFUNDED")
CANCEL_STATES = ("CANCELED", "IN_PROGRESS", "NONE_REQUESTED")
# OrderRefund.refundStatus (RefundStatusEnum); only REFUNDED is money back to the buyer
REFUND_STATES = ("REFUNDED", "PENDING", "FAILED")


def from_fulfillment_api(fulfillment: str, payment: str, cancel_state: str | None) -> str:
    if cancel_state == "CANCELED":
        return "cancelled"
    if payment == "FULLY_REFUNDED":
        return "refunded"
    if fulfillment == "FULFILLED":
        return "shipped"
    if fulfillment == "IN_PROGRESS":
        return "paid"
    if payment in ("PAID", "PARTIALLY_REFUNDED"):
        return "paid"
    return "pending"


# Seller Hub's optional "Order Status" column, in the wordings eBay sites use (lower case).
SELLER_HUB_STATUS_WORDS = {
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "cancellation complete": "cancelled",
    "refunded": "refunded",
    "fully refunded": "refunded",
    "delivered": "delivered",
    "shipped": "shipped",
    "dispatched": "shipped",
    "posted": "shipped",
    "paid": "paid",
    "awaiting shipment": "paid",
    "awaiting dispatch": "paid",
    "awaiting postage": "paid",
    "paid - awaiting shipment": "paid",
    "awaiting payment": "pending",
    "unpaid": "pending",
    "pending": "pending",
}


def from_seller_hub(status_word: str | None, *, paid: bool, shipped: bool) -> str | None:
    """Our status for a Seller Hub order: from the "Order Status" column when the export has one
    (``None`` when the word is not known), else from which dates are filled in."""
    if status_word:
        return SELLER_HUB_STATUS_WORDS.get(" ".join(status_word.lower().split()))
    if shipped:
        return "shipped"
    if paid:
        return "paid"
    return "pending"

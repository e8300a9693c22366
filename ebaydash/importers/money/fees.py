"""eBay's fee types, and how the Transaction report's fee columns map onto them.

We name fees by eBay's own codes, the Finances API's ``FeeTypeEnum`` (``marketplaceFees[].feeType``
and a NON_SALE_CHARGE's ``feeType``). Codes we have not listed are kept verbatim (a new eBay fee
is still a fee) and grouped as ``other``.

Where the codes come from: the Finances API reference (``Transaction.feeType``, ``Fee``,
``feeJurisdiction`` naming ``INCOME_TAX_WITHHOLDING``, ``TAX_DEDUCTION_AT_SOURCE`` and
``VAT_WITHHOLDING``), and the codes public parsers of real ``getTransactions`` answers handle
(``FINAL_VALUE_FEE``, ``FINAL_VALUE_FEE_FIXED_PER_ORDER``, ``INTERNATIONAL_FEE``,
``REGULATORY_OPERATING_FEE``, ``AD_FEE``, ``PREMIUM_AD_FEES`` …). ``UNITEMISED`` is ours: a
transaction whose ``totalFeeAmount`` eBay did not break down by line.

Transaction report column → fee type (the report shows each fee of an "Order" or "Refund" row in
its own column, negative when charged, positive when credited back):

====================================== ===================================
Report column (US wording)             ``FeeTypeEnum`` code
====================================== ===================================
Final Value Fee - fixed                ``FINAL_VALUE_FEE_FIXED_PER_ORDER``
Final Value Fee - variable             ``FINAL_VALUE_FEE``
Regulatory operating fee               ``REGULATORY_OPERATING_FEE``
Very high "item not as described" fee  ``HIGH_ITEM_NOT_AS_DESCRIBED_FEE``
Below standard performance fee         ``BELOW_STANDARD_FEE``
International fee                      ``INTERNATIONAL_FEE``
Deposit processing fee                 ``DEPOSIT_PROCESSING_FEE`` (assumed code)
Charity donation                       ``CHARITY_DONATION`` (API: ``orderLineItems[].donations``)
====================================== ===================================

"Other fee" rows carry no fee column: the row's whole amount is one fee, whose type we read from
its "Description" (:func:`fee_type_of_description`), the way ``getTransactions`` gives a
NON_SALE_CHARGE one ``feeType`` (public parsers saw "Promoted Listings - Priority fee" with
``PREMIUM_AD_FEES``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

FEE_COLUMNS: dict[str, str] = {
    "fvf_fixed": "FINAL_VALUE_FEE_FIXED_PER_ORDER",
    "fvf_variable": "FINAL_VALUE_FEE",
    "regulatory_fee": "REGULATORY_OPERATING_FEE",
    "inad_fee": "HIGH_ITEM_NOT_AS_DESCRIBED_FEE",
    "below_standard_fee": "BELOW_STANDARD_FEE",
    "international_fee": "INTERNATIONAL_FEE",
    "deposit_fee": "DEPOSIT_PROCESSING_FEE",
    "charity_donation": "CHARITY_DONATION",
}
"""Canonical report column (see :mod:`~ebaydash.importers.money.wordings`) → fee type code."""

CHARITY_DONATION = "CHARITY_DONATION"
UNITEMISED = "UNITEMISED"
OTHER_FEES = "OTHER_FEES"


@dataclass(frozen=True, slots=True)
class FeeType:
    label: str
    group: str  # final_value | advertising | international | regulatory | performance | listing |
    #             payout | dispute | tax_withholding | donation | other


FEE_TYPES: dict[str, FeeType] = {
    "FINAL_VALUE_FEE": FeeType("Final value fee (variable)", "final_value"),
    "FINAL_VALUE_FEE_FIXED_PER_ORDER": FeeType("Final value fee (fixed, per order)", "final_value"),
    "FINAL_VALUE_SHIPPING_FEE": FeeType("Final value fee on shipping", "final_value"),
    "INTERNATIONAL_FEE": FeeType("International fee", "international"),
    "REGULATORY_OPERATING_FEE": FeeType("Regulatory operating fee", "regulatory"),
    "HIGH_ITEM_NOT_AS_DESCRIBED_FEE": FeeType('Very high "item not as described" fee', "performance"),
    "BELOW_STANDARD_FEE": FeeType("Below standard performance fee", "performance"),
    "AD_FEE": FeeType("Promoted Listings fee (general)", "advertising"),
    "PREMIUM_AD_FEES": FeeType("Promoted Listings fee (priority)", "advertising"),
    "INSERTION_FEE": FeeType("Insertion fee", "listing"),
    "SUBTITLE_FEE": FeeType("Subtitle fee", "listing"),
    "BOLD_FEE": FeeType("Bold fee", "listing"),
    "GALLERY_PLUS_FEE": FeeType("Gallery Plus fee", "listing"),
    "INTERNATIONAL_LISTING_FEE": FeeType("International listing fee", "listing"),
    "PAYMENT_DISPUTE_FEE": FeeType("Payment dispute fee", "dispute"),
    "EXPRESS_PAYOUT_FEE": FeeType("Express payout fee", "payout"),
    "DEPOSIT_PROCESSING_FEE": FeeType("Deposit processing fee", "other"),
    "INCOME_TAX_WITHHOLDING": FeeType("Income tax withholding", "tax_withholding"),
    "TAX_DEDUCTION_AT_SOURCE": FeeType("Tax deducted at source", "tax_withholding"),
    "VAT_WITHHOLDING": FeeType("VAT withholding", "tax_withholding"),
    CHARITY_DONATION: FeeType("Charity donation", "donation"),
    OTHER_FEES: FeeType("Other fees", "other"),
    UNITEMISED: FeeType("Fees eBay did not itemise", "other"),
}

FEE_GROUPS: dict[str, str] = {code: fee.group for code, fee in FEE_TYPES.items()}
"""Fee type code → group; codes not listed belong to ``other``."""

_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def is_fee_code(value: str) -> bool:
    """True for a well-formed code (UPPER_SNAKE, at most 64 characters), known or not."""
    return _CODE.fullmatch(value) is not None


def group_of(code: str) -> str:
    return FEE_GROUPS.get(code, "other")


# "Other fee" descriptions → fee type, first match wins (compared without case and accents).
_DESCRIPTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"promoted listings?.*(priority|advanced|premium)|priority.*promoted"), "PREMIUM_AD_FEES"),
    (
        re.compile(r"promoted|promotion|anzeigen|annonces sponsorisees|inserzioni sponsorizzate|anuncios"),
        "AD_FEE",
    ),
    (
        re.compile(
            r"insertion fee|angebotsgebuhr|frais d.insertion|tariffa d.inserzione|tarifa de insercion"
        ),
        "INSERTION_FEE",
    ),
    (re.compile(r"express payout"), "EXPRESS_PAYOUT_FEE"),
)


def fee_type_of_description(description: str | None) -> str | None:
    """The fee type an "Other fee" row's description names, or ``None`` when we cannot tell."""
    if not description:
        return None
    text = "".join(
        c for c in unicodedata.normalize("NFKD", description.casefold()) if not unicodedata.combining(c)
    )
    return next((code for pattern, code in _DESCRIPTIONS if pattern.search(text)), None)
